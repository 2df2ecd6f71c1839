/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_auth.c - AUTH PLAIN and AUTH LOGIN (RFC 4954, RFC 4616): decode the client's SASL
 * exchange here, in the unprivileged child, and let the monitor check the credentials.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/sasl.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_session.h"

/* Decoded SASL data: at most the base64 of an AUTH line. */
#define SASL_MAX (SMTP_AUTH_LINE_MAX / 4 * 3 + 1)

/* The credentials gathered by either mechanism. */
struct creds {
	char user[AUTH_NAME_MAX];
	char pass[AUTH_PASS_MAX];
};

/* Why a SASL exchange stopped short of a credential check. */
enum sasl_stop { SASL_GOT, SASL_CANCEL, SASL_BAD, SASL_CLOSE };

/* challenge - send "334 TEXT", read one response line and decode it into OUT. */
static enum sasl_stop challenge(struct smtp_session *s, const char *text, unsigned char *out, size_t cap,
				size_t *len)
{
	char line[SMTP_READ_MAX];
	size_t n = 0;
	enum lio_status st;
	enum sasl_stop stop = SASL_GOT;

	smtp_reply(s, "334 %s", text);
	if (lio_flush(s->lio) < 0)
		return SASL_CLOSE;
	st = lio_read_line(s->lio, line, sizeof(line), &n, NULL);
	if (st == LIO_TOOLONG)
		return SASL_BAD;
	if (st == LIO_TIMEOUT)
		smtp_reply(s, "421 4.4.2 %s Timeout, closing connection", s->ctx->hostname);
	if (st != LIO_OK)
		return SASL_CLOSE;
	if (strcmp(line, "*") == 0)
		stop = SASL_CANCEL;
	else if (strlen(line) != n || sasl_b64_decode(line, n, out, cap, len) < 0)
		stop = SASL_BAD;
	explicit_bzero(line, n);
	return stop;
}

/* initial - decode an initial response ("=" means empty, RFC 4954 4). */
static enum sasl_stop initial(const char *ir, unsigned char *out, size_t cap, size_t *len)
{
	if (strcmp(ir, "=") == 0)
		ir = "";
	return sasl_b64_decode(ir, strlen(ir), out, cap, len) < 0 ? SASL_BAD : SASL_GOT;
}

/* plain - RFC 4616 through the parser POP3 uses; a different authzid is not supported. */
static enum sasl_stop plain(struct smtp_session *s, const char *ir, struct creds *c)
{
	unsigned char buf[SASL_MAX];
	size_t len = 0;
	const char *why;
	enum sasl_stop st = ir[0] != '\0' ? initial(ir, buf, sizeof(buf), &len) : challenge(s, "", buf, sizeof(buf), &len);

	if (st == SASL_GOT && sasl_plain_parse(buf, len, c->user, sizeof(c->user), c->pass, sizeof(c->pass), &why) != 0)
		st = SASL_BAD;
	explicit_bzero(buf, sizeof(buf));
	return st;
}

/* login - the LOGIN mechanism: user name and password in two challenges (or the name up front). */
static enum sasl_stop login(struct smtp_session *s, const char *ir, struct creds *c)
{
	unsigned char buf[SASL_MAX];
	size_t len = 0;
	enum sasl_stop st;

	st = ir[0] != '\0' ? initial(ir, buf, sizeof(buf), &len)
			   : challenge(s, "VXNlcm5hbWU6", buf, sizeof(buf), &len); /* "Username:" */
	if (st == SASL_GOT && sasl_login_field(buf, len, c->user, sizeof(c->user), false) < 0)
		st = SASL_BAD;
	if (st == SASL_GOT)
		st = challenge(s, "UGFzc3dvcmQ6", buf, sizeof(buf), &len); /* "Password:" */
	if (st == SASL_GOT && sasl_login_field(buf, len, c->pass, sizeof(c->pass), true) < 0)
		st = SASL_BAD;
	explicit_bzero(buf, sizeof(buf));
	return st;
}

/* check - ask the monitor; it logs, reports and serves the failure delay. */
static enum smtp_outcome check(struct smtp_session *s, const struct creds *c, const char *mech)
{
	struct privsep_request req;
	struct auth_user user;
	enum auth_result r;

	memset(&req, 0, sizeof(req));
	req.mech = PRIVSEP_PASSWORD;
	snprintf(req.user, sizeof(req.user), "%s", c->user);
	snprintf(req.secret, sizeof(req.secret), "%s", c->pass);
	snprintf(req.proto, sizeof(req.proto), "%s", s->proto);
	req.tls = smtp_tls_active(s);
	r = privsep_check(s->ps, &req, &user);
	explicit_bzero(&req, sizeof(req));
	switch (r) {
	case AUTH_OK:
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", user.name);
		log_session(LOG_DEBUG, s->proto, s->ctx->client_ip, s->auth_user, "smtp auth ok", "mech=%s tls=%s",
			    mech, smtp_tls_active(s) ? "yes" : "no");
		smtp_reply(s, "235 2.7.0 Authentication successful");
		return SMTP_DONE;
	case AUTH_FAIL:
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
		return SMTP_FAILED;
	case AUTH_LOCKED:
		smtp_reply(s, "454 4.7.0 Too many failed logins from your address; try again later");
		return SMTP_FAILED;
	case AUTH_REFUSED:
		smtp_reply(s, "535 5.7.1 Account blocked by the administrator");
		return SMTP_FAILED;
	case AUTH_TEMPFAIL:
		break;
	}
	smtp_reply(s, "454 4.7.0 Temporary authentication failure");
	return SMTP_DONE;
}

int smtp_cmd_auth(void *session, struct session_args *a)
{
	struct smtp_session *s = session;
	const char *args = a->argc > 0 ? a->argv[0] : "";
	struct creds c;
	const char *ir;
	size_t ml = strcspn(args, " ");
	enum sasl_stop st;
	enum smtp_outcome o;

	if (!s->esmtp || s->auth_user[0] != '\0') {
		smtp_reply(s, "503 5.5.1 %s", s->esmtp ? "Already authenticated" : "Send EHLO first");
		return SMTP_FAILED;
	}
	if (!smtp_auth_offered(s)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return SMTP_FAILED;
	}
	ir = args + ml + strspn(args + ml, " ");
	memset(&c, 0, sizeof(c));
	if (ml == 5 && strncasecmp(args, "PLAIN", 5) == 0) {
		st = plain(s, ir, &c);
	} else if (ml == 5 && strncasecmp(args, "LOGIN", 5) == 0) {
		st = login(s, ir, &c);
	} else {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		return SMTP_FAILED;
	}
	switch (st) {
	case SASL_GOT:
		o = check(s, &c, ml == 5 && strncasecmp(args, "PLAIN", 5) == 0 ? "PLAIN" : "LOGIN");
		break;
	case SASL_CANCEL:
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		o = SMTP_FAILED;
		break;
	case SASL_BAD:
		smtp_reply(s, "501 5.5.2 Cannot decode the response");
		o = SMTP_FAILED;
		break;
	default:
		o = SMTP_CLOSE;
		break;
	}
	explicit_bzero(&c, sizeof(c));
	return o;
}
