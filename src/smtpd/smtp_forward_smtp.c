/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_forward_smtp.c - the smarthost hand-off: a small SMTP client. EHLO, STARTTLS when offered
 * (or required), AUTH PLAIN with smtp.forward_auth_file, then MAIL, RCPT and DATA with the message
 * dot-stuffed. When the smarthost offers XFORWARD (Postfix does to its
 * smtpd_authorized_xforward_hosts), the client's address, port, protocol and HELO name go first,
 * so that it logs and checks the real client rather than us. All or nothing per message: any refused recipient fails the whole message, 5xx as
 * permanent and anything else as temporary.
 */

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/sasl.h"
#include "common/tls.h"
#include "smtpd/smtp_client.h"
#include "smtpd/smtp_forward.h"

/* One conversation with the smarthost. */
struct hop {
	const struct smtp_forward_cfg *fc;
	const struct smtp_envelope *env;
	struct lio *lio;
	struct smtp_client_reply r;
	unsigned caps;
	bool tls, loopback;
	bool tls_failed;            /* the handshake failed: with forward_tls = may, try again in plain */
	struct smtp_forward_result *res;
};

/* fail - record why the hand-off stopped, with the next hop's words; returns STATUS. */
static enum smtp_forward_status fail(struct hop *h, enum smtp_forward_status status, const char *stage)
{
	snprintf(h->res->detail, sizeof(h->res->detail), "%.100s:%s %.280s: %s", h->fc->host, h->fc->port, stage,
		 h->r.text[0] != '\0' ? h->r.text : "no reply");
	if (h->r.code >= 400)
		snprintf(h->res->said, sizeof(h->res->said), "%s", h->r.text);
	return status;
}

/* verdict - the outcome of a reply code: 5xx is the next hop's final word, anything odd is temporary. */
static enum smtp_forward_status verdict(int code)
{
	return code >= 500 && code <= 599 ? SMTP_FWD_PERMFAIL : SMTP_FWD_TEMPFAIL;
}

/* hello - EHLO, falling back to HELO (no extensions) when the server refuses EHLO. */
static int hello(struct hop *h)
{
	if (smtp_client_command(h->lio, &h->r, "EHLO %s", h->fc->helo) < 0)
		return -1;
	if (h->r.code == 250) {
		h->caps = h->r.caps;
		return 0;
	}
	if (h->r.code < 500 || smtp_client_command(h->lio, &h->r, "HELO %s", h->fc->helo) < 0)
		return -1;
	h->caps = 0;
	return h->r.code == 250 ? 0 : -1;
}

/* start_tls - STARTTLS and the handshake, then EHLO again (RFC 3207 4.2). */
static enum smtp_forward_status start_tls(struct hop *h)
{
	char err[256];
	SSL_CTX *ctx;
	int rc;

	if (smtp_client_command(h->lio, &h->r, "STARTTLS") < 0 || h->r.code != 220)
		return fail(h, SMTP_FWD_TEMPFAIL, "STARTTLS");
	ctx = tls_client_ctx(h->fc->tls_verify, err, sizeof(err));
	if (ctx == NULL) {
		snprintf(h->res->detail, sizeof(h->res->detail), "TLS client context: %s", err);
		return SMTP_FWD_TEMPFAIL;
	}
	rc = lio_start_tls_client(h->lio, ctx, h->fc->host);
	SSL_CTX_free(ctx); /* the connection holds its own reference */
	if (rc < 0) {
		h->tls_failed = true;
		snprintf(h->res->detail, sizeof(h->res->detail), "%s:%s TLS handshake failed%s", h->fc->host,
			 h->fc->port, h->fc->tls_verify ? " (certificate verification is on)" : "");
		return SMTP_FWD_TEMPFAIL;
	}
	h->tls = true;
	if (hello(h) < 0)
		return fail(h, SMTP_FWD_TEMPFAIL, "EHLO after STARTTLS");
	return SMTP_FWD_OK;
}

/* authenticate - AUTH PLAIN with our credentials, never over plaintext to a remote host. */
static enum smtp_forward_status authenticate(struct hop *h)
{
	char raw[AUTH_NAME_MAX + AUTH_PASS_MAX + 2], b64[(sizeof(raw) + 2) / 3 * 4 + 1];
	size_t ul = strlen(h->fc->auth_user), pl = strlen(h->fc->auth_pass);
	long n;
	int rc;

	if (!h->tls && !h->loopback) {
		snprintf(h->res->detail, sizeof(h->res->detail),
			 "%s:%s: not sending AUTH credentials without TLS", h->fc->host, h->fc->port);
		return SMTP_FWD_TEMPFAIL;
	}
	if (!(h->caps & SMTP_CAP_AUTH_PLAIN)) {
		snprintf(h->res->detail, sizeof(h->res->detail), "%s:%s does not offer AUTH PLAIN",
			 h->fc->host, h->fc->port);
		return SMTP_FWD_TEMPFAIL;
	}
	raw[0] = '\0';
	memcpy(raw + 1, h->fc->auth_user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, h->fc->auth_pass, pl);
	n = sasl_b64_encode(raw, ul + pl + 2, b64, sizeof(b64));
	rc = n < 0 ? -1 : smtp_client_command(h->lio, &h->r, "AUTH PLAIN %s", b64);
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	/* Refused credentials are our configuration's fault: the client keeps the message. */
	if (rc < 0 || h->r.code != 235)
		return fail(h, SMTP_FWD_TEMPFAIL, "AUTH PLAIN");
	return SMTP_FWD_OK;
}

/* open_session - connect, greeting, EHLO, STARTTLS and AUTH as configured. */
static enum smtp_forward_status open_session(struct hop *h, bool try_tls)
{
	enum smtp_forward_status st;
	char err[256];
	int fd = smtp_client_connect(h->fc->host, h->fc->port, h->fc->step_timeout, &h->loopback, err, sizeof(err));

	if (fd < 0) {
		snprintf(h->res->detail, sizeof(h->res->detail), "cannot connect to %s:%s: %s", h->fc->host,
			 h->fc->port, err);
		return SMTP_FWD_TEMPFAIL;
	}
	h->lio = lio_new(fd);
	if (h->lio == NULL) {
		snprintf(h->res->detail, sizeof(h->res->detail), "out of memory");
		return SMTP_FWD_TEMPFAIL;
	}
	lio_set_timeout(h->lio, h->fc->step_timeout);
	lio_set_deadline(h->lio, lio_now() + h->fc->total_timeout);
	/* A refused greeting or EHLO says nothing about the message: temporary. */
	if (smtp_client_read_reply(h->lio, &h->r) < 0 || h->r.code != 220)
		return fail(h, SMTP_FWD_TEMPFAIL, "greeting");
	if (hello(h) < 0)
		return fail(h, SMTP_FWD_TEMPFAIL, "EHLO");
	if (try_tls && h->fc->tls != SMTP_HOP_TLS_NO && (h->caps & SMTP_CAP_STARTTLS)) {
		if ((st = start_tls(h)) != SMTP_FWD_OK)
			return st;
	} else if (h->fc->tls == SMTP_HOP_TLS_REQUIRE) {
		snprintf(h->res->detail, sizeof(h->res->detail), "%s:%s does not offer STARTTLS (smtp.forward_tls = require)",
			 h->fc->host, h->fc->port);
		return SMTP_FWD_TEMPFAIL;
	}
	if (h->fc->have_auth)
		return authenticate(h);
	return SMTP_FWD_OK;
}

/*
 * xforward - the client's facts in XFORWARD lines, before MAIL (Postfix's XFORWARD_README). A
 * refusal defers the message, as Postfix's own smtp client does: relaying it as coming from us
 * would let the next hop judge the wrong client.
 */
static enum smtp_forward_status xforward(struct hop *h)
{
	char cmds[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1];
	size_t n;

	if (!(h->caps & SMTP_CAP_XFORWARD) || h->env->client == NULL)
		return SMTP_FWD_OK;
	n = smtp_xforward_commands(h->env->client, cmds);
	for (size_t i = 0; i < n; i++) {
		if (smtp_client_command(h->lio, &h->r, "%s", cmds[i]) < 0 || h->r.code != 250)
			return fail(h, SMTP_FWD_TEMPFAIL, "XFORWARD");
	}
	return SMTP_FWD_OK;
}

/* envelope - MAIL FROM and every RCPT TO; the first refusal decides for the whole message. */
static enum smtp_forward_status envelope(struct hop *h)
{
	const struct smtp_envelope *env = h->env;
	char params[64] = "";
	const char *from = (env->from->flags & SMTP_ADDR_NULL) ? "" : env->from->text;

	if (h->caps & SMTP_CAP_SIZE)
		snprintf(params, sizeof(params), " SIZE=%llu", (unsigned long long)env->size);
	if (env->body_8bit && (h->caps & SMTP_CAP_8BITMIME))
		snprintf(params + strlen(params), sizeof(params) - strlen(params), " BODY=8BITMIME");
	if (smtp_client_command(h->lio, &h->r, "MAIL FROM:<%s>%s", from, params) < 0)
		return fail(h, SMTP_FWD_TEMPFAIL, "MAIL FROM");
	if (h->r.code != 250)
		return fail(h, verdict(h->r.code), "MAIL FROM");
	for (size_t i = 0; i < env->nrcpts; i++) {
		char stage[SMTP_PATH_MAX + 16];

		snprintf(stage, sizeof(stage), "RCPT TO:<%s>", env->rcpts[i].text);
		if (smtp_client_command(h->lio, &h->r, "RCPT TO:<%s>", env->rcpts[i].text) < 0)
			return fail(h, SMTP_FWD_TEMPFAIL, stage);
		if (h->r.code != 250 && h->r.code != 251)
			return fail(h, verdict(h->r.code), stage);
	}
	return SMTP_FWD_OK;
}

/* send_body - the message, dot-stuffed (RFC 5321 4.5.2), then the terminating dot. */
static int send_body(struct hop *h, struct smtp_spool *msg)
{
	const char *piece;
	size_t len;
	bool eol, line_start = true;
	int rc;

	while ((rc = smtp_spool_next(msg, &piece, &len, &eol)) > 0) {
		if (line_start && piece[0] == '.' && lio_write(h->lio, ".", 1) < 0)
			return -1;
		if (lio_write(h->lio, piece, len) < 0)
			return -1;
		line_start = eol;
	}
	if (rc < 0 || !line_start)
		return -1; /* the spool always ends with CRLF: anything else is a broken invariant */
	return lio_write(h->lio, ".\r\n", 3) < 0 || lio_flush(h->lio) < 0 ? -1 : 0;
}

/* transfer - envelope, DATA, body, and the reply that decides. */
static enum smtp_forward_status transfer(struct hop *h, struct smtp_spool *msg)
{
	enum smtp_forward_status st = xforward(h);

	if (st == SMTP_FWD_OK)
		st = envelope(h);
	if (st != SMTP_FWD_OK)
		return st;
	if (smtp_client_command(h->lio, &h->r, "DATA") < 0)
		return fail(h, SMTP_FWD_TEMPFAIL, "DATA");
	if (h->r.code != 354)
		return fail(h, verdict(h->r.code), "DATA");
	if (send_body(h, msg) < 0) {
		snprintf(h->r.text, sizeof(h->r.text), "error while sending the message");
		h->r.code = 0;
		return fail(h, SMTP_FWD_TEMPFAIL, "message");
	}
	/* No reply (timeout, lost connection) may mean a duplicate later, never a loss: temporary. */
	if (smtp_client_read_reply(h->lio, &h->r) < 0)
		return fail(h, SMTP_FWD_TEMPFAIL, "end of data");
	if (h->r.code != 250)
		return fail(h, verdict(h->r.code), "end of data");
	snprintf(h->res->detail, sizeof(h->res->detail), "%.100s:%s%s said: %s", h->fc->host, h->fc->port,
		 h->tls ? " (TLS)" : "", h->r.text);
	return SMTP_FWD_OK;
}

/* close_session - QUIT politely but briefly, then drop the connection. */
static void close_session(struct hop *h)
{
	struct smtp_client_reply bye;

	if (h->lio == NULL)
		return;
	lio_set_timeout(h->lio, 5);
	smtp_client_command(h->lio, &bye, "QUIT");
	lio_free(&h->lio);
}

/* attempt - one connection from connect to QUIT. */
static enum smtp_forward_status attempt(struct hop *h, struct smtp_spool *msg, bool try_tls)
{
	enum smtp_forward_status st = open_session(h, try_tls);

	if (st == SMTP_FWD_OK) {
		if (smtp_spool_rewind(msg) < 0) {
			snprintf(h->res->detail, sizeof(h->res->detail), "spool read error");
			st = SMTP_FWD_TEMPFAIL;
		} else {
			st = transfer(h, msg);
		}
	}
	close_session(h);
	return st;
}

enum smtp_forward_status smtp_forward_smtp(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
					   struct smtp_spool *msg, struct smtp_forward_result *res)
{
	struct hop h = { .fc = fc, .env = env, .res = res };
	enum smtp_forward_status st = attempt(&h, msg, true);

	if (st != SMTP_FWD_OK && h.tls_failed && fc->tls == SMTP_HOP_TLS_MAY) {
		/* Opportunistic TLS (RFC 7435): a failed handshake falls back to plaintext once. */
		log_info("smtp: %s; retrying %s:%s without TLS", res->detail, fc->host, fc->port);
		memset(&h, 0, sizeof(h));
		h = (struct hop){ .fc = fc, .env = env, .res = res };
		st = attempt(&h, msg, false);
	}
	return st;
}
