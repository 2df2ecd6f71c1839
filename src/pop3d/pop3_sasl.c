/* pop3_sasl.c - AUTH (RFC 5034) with SASL PLAIN and LOGIN. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * AUTH (RFC 5034) with the PLAIN (RFC 4616) and LOGIN mechanisms: the "+ challenge" exchanges
 * and "*" cancellation; the base64 and the response formats are common/sasl.c, as for SMTP AUTH.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/sasl.h"
#include "pop3d/pop3_int.h"

/* A SASL response line and its decoded form; wiped after every exchange. */
struct sasl_buf {
	char line[POP3_SASL_LINE_MAX + 1];
	unsigned char dec[POP3_SASL_DECODED_MAX + 1];
	size_t declen;
};

/*
 * response - decode the client's answer: the initial response IR if not NULL, else the line read
 * after sending "+ CHALLENGE". POP3_CONTINUE with *GOT set when SB->dec holds the answer; otherwise
 * the reply (cancel, error) has been queued.
 */
static enum pop3_outcome response(struct pop3 *p, const char *ir, const char *challenge, struct sasl_buf *sb,
				  bool *got)
{
	const char *text = ir;
	size_t len;

	*got = false;
	if (text == NULL) {
		if (pop3_reply(p, "+ %s", challenge) != POP3_CONTINUE || lio_flush(p->lio) < 0)
			return POP3_CLOSE;
		enum lio_status st = lio_read_line(p->lio, sb->line, sizeof(sb->line), &len, NULL);
		if (st == LIO_TOOLONG)
			return pop3_bad(p, "SASL response too long");
		if (st != LIO_OK)
			return POP3_CLOSE;
		if (strcmp(sb->line, "*") == 0)
			return pop3_reply(p, "-ERR Authentication cancelled");
		text = sb->line;
	} else if (strcmp(text, "=") == 0) {
		text = ""; /* RFC 5034 section 4: "=" is an empty initial response */
	}
	if (sasl_b64_decode(text, strlen(text), sb->dec, sizeof(sb->dec), &sb->declen) < 0)
		return pop3_bad(p, "Invalid base64 data");
	*got = true;
	return POP3_CONTINUE;
}

/* auth_plain - PLAIN: one response "authzid NUL authcid NUL password". */
static enum pop3_outcome auth_plain(struct pop3 *p, const char *ir, struct sasl_buf *sb)
{
	char user[AUTH_NAME_MAX], pass[AUTH_PASS_MAX];
	const char *why;
	bool got;
	enum pop3_outcome o = response(p, ir, "", sb, &got);
	int rc;

	if (!got)
		return o;
	rc = sasl_plain_parse(sb->dec, sb->declen, user, sizeof(user), pass, sizeof(pass), &why);
	if (rc == -2)
		return pop3_reply(p, "-ERR [AUTH] Authentication failed: %s", why);
	if (rc < 0)
		return pop3_bad(p, why);
	o = pop3_try_login(p, PRIVSEP_PASSWORD, user, pass);
	explicit_bzero(pass, sizeof(pass));
	return o;
}

/* auth_login - LOGIN: "Username:" then "Password:", each answered in base64. */
static enum pop3_outcome auth_login(struct pop3 *p, const char *ir, struct sasl_buf *sb)
{
	char user[AUTH_NAME_MAX], pass[AUTH_PASS_MAX];
	bool got;
	enum pop3_outcome o = response(p, ir, "VXNlcm5hbWU6", sb, &got);

	if (!got)
		return o;
	if (sasl_login_field(sb->dec, sb->declen, user, sizeof(user), false) < 0)
		return pop3_bad(p, "Invalid user name");
	explicit_bzero(sb, sizeof(*sb));
	o = response(p, NULL, "UGFzc3dvcmQ6", sb, &got);
	if (!got)
		return o;
	if (sasl_login_field(sb->dec, sb->declen, pass, sizeof(pass), true) < 0)
		return pop3_reply(p, "-ERR [AUTH] Authentication failed");
	o = pop3_try_login(p, PRIVSEP_PASSWORD, user, pass);
	explicit_bzero(pass, sizeof(pass));
	return o;
}

int pop3_cmd_auth(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	bool plain_ok = pop3_plaintext_allowed(p->ctx->cfg, &p->ctx->client, p->tls || p->ctx->proxied_tls);
	struct sasl_buf sb;
	enum pop3_outcome o;

	if (a->argc == 0) {
		/* Not in RFC 5034, but clients (Outlook) probe with a bare AUTH: list the mechanisms. */
		if (pop3_reply(p, "+OK") != POP3_CONTINUE)
			return POP3_CLOSE;
		if (plain_ok && (pop3_reply(p, "PLAIN") != POP3_CONTINUE || pop3_reply(p, "LOGIN") != POP3_CONTINUE))
			return POP3_CLOSE;
		return pop3_reply(p, ".");
	}
	bool plain = strcasecmp(a->argv[0], "PLAIN") == 0, login = strcasecmp(a->argv[0], "LOGIN") == 0;
	if (!plain && !login)
		return pop3_reply(p, "-ERR Unsupported authentication mechanism");
	if (!plain_ok)
		return pop3_reply(p, "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections");
	memset(&sb, 0, sizeof(sb));
	const char *ir = a->argc > 1 ? a->argv[1] : NULL;
	o = plain ? auth_plain(p, ir, &sb) : auth_login(p, ir, &sb);
	explicit_bzero(&sb, sizeof(sb));
	if (a->argc > 1)
		explicit_bzero(a->argv[1], strlen(a->argv[1]));
	return o;
}
