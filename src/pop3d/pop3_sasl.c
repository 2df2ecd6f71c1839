/* pop3_sasl.c - AUTH (RFC 5034) with SASL PLAIN and LOGIN. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * AUTH (RFC 5034) with the PLAIN (RFC 4616) and LOGIN mechanisms: strict base64,
 * the PLAIN response format, the "+ challenge" exchanges and "*" cancellation.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pop3d/pop3_int.h"
#include "pop3d/pop3_sasl.h"

/* b64_value - the 6-bit value of base64 digit C, or -1. */
static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int pop3_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		bool last = i + 4 == len;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(in[i + k]);
			if (v[k] >= 0 && pad == 0)
				continue;
			/* '=' only pads the end of the final quartet, never its first two digits. */
			if (in[i + k] != '=' || !last || k < 2)
				return -1;
			v[k] = 0;
			pad++;
		}
		unsigned long q = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
				  (unsigned long)v[2] << 6 | (unsigned long)v[3];
		size_t bytes = 3 - (size_t)pad;
		if (n + bytes > cap)
			return -1;
		for (size_t b = 0; b < bytes; b++)
			out[n++] = (unsigned char)(q >> (16 - 8 * b));
	}
	*outlen = n;
	return 0;
}

int pop3_sasl_plain_parse(const unsigned char *buf, size_t len, char *user, size_t ucap, char *pass,
			  size_t pcap, const char **why)
{
	const unsigned char *z1 = memchr(buf, '\0', len), *z2;
	size_t zlen, ulen, plen;

	*why = "malformed PLAIN response";
	if (z1 == NULL)
		return -1;
	zlen = (size_t)(z1 - buf);
	z2 = memchr(z1 + 1, '\0', len - zlen - 1);
	if (z2 == NULL)
		return -1;
	ulen = (size_t)(z2 - z1 - 1);
	plen = len - zlen - ulen - 2;
	if (ulen == 0 || memchr(z2 + 1, '\0', plen) != NULL)
		return -1;
	*why = "user name or password too long";
	if (ulen >= ucap || plen >= pcap)
		return -1;
	/* Acting for another user (an authorization identity) is not offered. */
	if (zlen > 0 && (zlen != ulen || memcmp(buf, z1 + 1, ulen) != 0)) {
		*why = "authorization identity differs from the user";
		return -2;
	}
	memcpy(user, z1 + 1, ulen);
	user[ulen] = '\0';
	memcpy(pass, z2 + 1, plen);
	pass[plen] = '\0';
	return 0;
}

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
	if (pop3_base64_decode(text, strlen(text), sb->dec, sizeof(sb->dec) - 1, &sb->declen) < 0)
		return pop3_bad(p, "Invalid base64 data");
	sb->dec[sb->declen] = '\0';
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
	rc = pop3_sasl_plain_parse(sb->dec, sb->declen, user, sizeof(user), pass, sizeof(pass), &why);
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
	char user[AUTH_NAME_MAX];
	bool got;
	enum pop3_outcome o = response(p, ir, "VXNlcm5hbWU6", sb, &got);

	if (!got)
		return o;
	if (sb->declen == 0 || sb->declen >= sizeof(user) || memchr(sb->dec, '\0', sb->declen) != NULL)
		return pop3_bad(p, "Invalid user name");
	memcpy(user, sb->dec, sb->declen + 1);
	explicit_bzero(sb, sizeof(*sb));
	o = response(p, NULL, "UGFzc3dvcmQ6", sb, &got);
	if (!got)
		return o;
	if (sb->declen >= AUTH_PASS_MAX || memchr(sb->dec, '\0', sb->declen) != NULL)
		return pop3_reply(p, "-ERR [AUTH] Authentication failed");
	return pop3_try_login(p, PRIVSEP_PASSWORD, user, (const char *)sb->dec);
}

enum pop3_outcome pop3_cmd_auth(struct pop3 *p, int argc, char **argv)
{
	bool plain_ok = pop3_plaintext_allowed(p->ctx->cfg, &p->ctx->client, p->tls || p->ctx->proxied_tls);
	struct sasl_buf sb;
	enum pop3_outcome o;

	if (argc == 0) {
		/* Not in RFC 5034, but clients (Outlook) probe with a bare AUTH: list the mechanisms. */
		if (pop3_reply(p, "+OK") != POP3_CONTINUE)
			return POP3_CLOSE;
		if (plain_ok && (pop3_reply(p, "PLAIN") != POP3_CONTINUE || pop3_reply(p, "LOGIN") != POP3_CONTINUE))
			return POP3_CLOSE;
		return pop3_reply(p, ".");
	}
	bool plain = strcasecmp(argv[0], "PLAIN") == 0, login = strcasecmp(argv[0], "LOGIN") == 0;
	if (!plain && !login)
		return pop3_reply(p, "-ERR Unsupported authentication mechanism");
	if (!plain_ok)
		return pop3_reply(p, "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections");
	memset(&sb, 0, sizeof(sb));
	o = plain ? auth_plain(p, argc > 1 ? argv[1] : NULL, &sb) : auth_login(p, argc > 1 ? argv[1] : NULL, &sb);
	explicit_bzero(&sb, sizeof(sb));
	if (argc > 1)
		explicit_bzero(argv[1], strlen(argv[1]));
	return o;
}
