/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_session.c - one SMTP connection: the privilege split, the greeting, and the command loop
 * that reads command lines under timeouts, hands them to the command table's dispatcher
 * (common/session_cmd.h), and hangs up after too many errors.
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/plaintext_policy.h"
#include "common/session_tls.h"
#include "privsep/member.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_session.h"
#include "smtpd/smtpd.h"

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_REPLY_TEXT_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)(sizeof(line) - 3); /* a reply line is bounded (RFC 5321 4.5.3.1.5) */
	memcpy(line + n, "\r\n", 2);
	(void)lio_write(s->lio, line, (size_t)n + 2); /* a failed write shows up at the next flush or read */
}

void smtp_reset_transaction(struct smtp_session *s)
{
	if (s->state & SMTP_S_RCPT)
		session_report(s->ctx, SESSION_TXN_END, smtp_log_user(s)); /* the master may push it out again */
	memset(&s->from, 0, sizeof(s->from));
	memset(&s->params, 0, sizeof(s->params));
	s->nrcpts = 0;
	s->rcpts_bytes = 0;
	s->verdicts = 0;
	if (s->state & (SMTP_S_MAIL | SMTP_S_RCPT))
		s->state = SMTP_S_READY;
	smtp_policy_end_transaction(&s->policy);
}

int smtp_start_tls(struct smtp_session *s)
{
	return session_tls_handshake(s->ctx, s->lio, s->deadline, s->command_timeout);
}

bool smtp_stressed(const struct smtp_session *s)
{
	return s->ctx->stress != NULL && __atomic_load_n(s->ctx->stress, __ATOMIC_ACQUIRE) != 0;
}

bool smtp_tls_active(const struct smtp_session *s)
{
	return lio_tls(s->lio) != NULL;
}

bool smtp_auth_offered(const struct smtp_session *s)
{
	/* TLS the client ended at a load balancer (PROXY v2 PP2_CLIENT_SSL) counts as TLS here. */
	return plaintext_allowed(s->cfg, "smtp", &s->ctx->client, smtp_tls_active(s) || s->ctx->proxied_tls);
}

const char *smtp_log_user(const struct smtp_session *s)
{
	return s->auth_user[0] != '\0' ? s->auth_user : NULL;
}

/* dispatch - check one command line against the table (smtp_commands.c) and run it. */
static enum smtp_outcome dispatch(struct smtp_session *s, char *line, size_t len)
{
	return (enum smtp_outcome)session_cmd_dispatch(&smtp_command_table, s, s->state, line, len);
}

/*
 * read_line_paced - a command line within smtp.command_timeout per wait; under stress, the whole
 * line within smtp.stress_timeout (Postfix's per-record deadline), so that a client trickling a
 * byte now and then cannot hold its slot while others are turned away.
 */
static enum lio_status read_line_paced(struct smtp_session *s, char *line, size_t cap, size_t *len,
				       bool hurry)
{
	enum lio_status st;

	if (!hurry)
		return lio_read_line(s->lio, line, cap, len, NULL);
	time_t end = lio_now() + s->stress_timeout;
	lio_set_timeout(s->lio, s->stress_timeout < s->command_timeout ? s->stress_timeout : s->command_timeout);
	lio_set_deadline(s->lio, end < s->deadline ? end : s->deadline);
	st = lio_read_line(s->lio, line, cap, len, NULL);
	lio_set_deadline(s->lio, s->deadline);
	lio_set_timeout(s->lio, s->command_timeout);
	return st;
}

/* read_command - the next line, flushing replies first unless more pipelined input waits (RFC 2920). */
static enum smtp_outcome read_command(struct smtp_session *s, char *line, size_t cap, size_t *len)
{
	enum lio_status st;
	bool hurry;

	if (lio_buffered(s->lio) == 0 && lio_flush(s->lio) < 0)
		return SMTP_CLOSE;
	hurry = smtp_stressed(s);
	st = read_line_paced(s, line, cap, len, hurry);
	switch (st) {
	case LIO_OK:
		return SMTP_DONE;
	case LIO_TOOLONG:
		smtp_reply(s, "500 5.5.2 Line too long");
		return SMTP_FAILED;
	case LIO_TIMEOUT:
		log_session(LOG_INFO, s->proto, s->ctx->client_ip, smtp_log_user(s), "timeout", "state=%u%s", s->state,
			    hurry ? " under stress" : "");
		smtp_reply(s, "421 4.4.2 %s Timeout, closing connection", s->ctx->hostname);
		return SMTP_CLOSE;
	case LIO_EOF:
	case LIO_ERROR:
		break;
	}
	return SMTP_CLOSE;
}

/* serve - greet, then read and dispatch commands until QUIT, a timeout, EOF or too many errors. */
static void serve(struct smtp_session *s)
{
	char line[SMTP_READ_MAX];

	smtp_reply(s, "220 %s ESMTP popgate", s->ctx->hostname);
	for (;;) {
		size_t len = 0;
		enum smtp_outcome o = read_command(s, line, sizeof(line), &len);

		if (o == SMTP_DONE)
			o = dispatch(s, line, len);
		explicit_bzero(line, len < sizeof(line) ? len : sizeof(line)); /* AUTH lines carry secrets */
		if (o == SMTP_CLOSE)
			break;
		if (o == SMTP_FAILED && ++s->errors >= s->max_errors) {
			log_session(LOG_NOTICE, s->proto, s->ctx->client_ip, smtp_log_user(s), "too many errors",
				    "errors=%u", s->errors);
			smtp_reply(s, "421 4.7.0 %s Too many errors, closing connection", s->ctx->hostname);
			break;
		}
	}
	(void)lio_flush(s->lio);
}

/* session_init - limits from [smtp] and the per-session resources. 0 or -1. */
static int session_init(struct smtp_session *s, struct session_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;

	s->ctx = ctx;
	s->cfg = cfg;
	s->proto = ctx->implicit_tls ? "smtps" : "smtp";
	s->state = SMTP_S_GREET;
	s->max_size = conf(cfg)->smtp.max_message_size;
	s->max_rcpts = (size_t)conf(cfg)->smtp.max_recipients;
	s->command_timeout = (int)conf(cfg)->smtp.command_timeout;
	s->data_timeout = (int)conf(cfg)->smtp.data_timeout;
	s->stress_timeout = (int)conf(cfg)->smtp.stress_timeout;
	s->max_errors = (unsigned)conf(cfg)->smtp.max_errors;
	smtp_policy_init(&s->policy, cfg, ctx->client_ip);
	s->spool = smtp_spool_new(SMTP_SPOOL_MEM_MAX, getenv("TMPDIR"));
	s->lio = lio_new(ctx->fd);
	if (s->spool == NULL || s->lio == NULL) {
		log_err("smtp: %s: out of memory setting up the session", ctx->client_ip);
		return -1;
	}
	ctx->fd = -1; /* the lio owns it now */
	s->deadline = lio_now() + conf(cfg)->smtp.session_timeout;
	lio_set_timeout(s->lio, s->command_timeout);
	lio_set_deadline(s->lio, s->deadline);
	return 0;
}

static void session_free(struct smtp_session *s)
{
	smtp_policy_close(&s->policy);
	smtp_spool_free(&s->spool);
	free(s->rcpts);
	s->rcpts = NULL;
	lio_free(&s->lio);
	if (s->ctx->fd >= 0)
		close(s->ctx->fd);
	s->ctx->fd = -1;
}

/* child_main - the unprivileged protocol child. */
static int child_main(struct session_ctx *ctx, struct privsep *ps, const struct smtp_forward_cfg *fwd)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	int rc = 1;

	if (s == NULL)
		return 1;
	s->ps = ps;
	s->fwd = fwd;
	if (session_init(s, ctx) == 0) {
		log_session(LOG_INFO, s->proto, ctx->client_ip, NULL, "connect", "port=%d tls=%s",
			    ctx->client_port, ctx->implicit_tls ? "implicit" : "no");
		if (ctx->implicit_tls && (ctx->tls == NULL || smtp_start_tls(s) < 0)) {
			log_session(LOG_INFO, s->proto, ctx->client_ip, NULL, "tls handshake failed", NULL);
		} else {
			serve(s);
			rc = 0;
		}
		log_session(LOG_INFO, s->proto, ctx->client_ip, smtp_log_user(s), "disconnect", "errors=%u",
			    s->errors);
	}
	session_free(s);
	free(s);
	return rc;
}

/* monitor_main - the privileged side: answer credential checks until the child is done. */
static int monitor_main(struct session_ctx *ctx, struct privsep *ps)
{
	pid_t child = privsep_child_pid(ps);
	int served;

	close(ctx->fd); /* the monitor never touches the network */
	ctx->fd = -1;
	served = privsep_serve(ps, false, NULL);
	privsep_free(&ps);
	return session_reap(child, served < 0 ? SIGTERM : 0);
}

int smtp_session_main(struct session_ctx *ctx)
{
	struct smtp_forward_cfg *fwd = calloc(1, sizeof(*fwd));
	struct privsep *ps = NULL;
	int rc;

	if (fwd == NULL)
		return 1;
	/* Before the split: the smarthost credentials may be readable by root only. */
	smtp_forward_cfg_load(ctx->cfg, ctx->hostname, fwd);
	rc = privsep_fork(ctx, &ps);
	if (rc < 0) {
		session_fork_failed(ctx, "protocol child");
		rc = 1;
	} else if (rc == 1) {
		smtp_forward_cfg_wipe(fwd);
		rc = monitor_main(ctx, ps);
	} else {
		rc = child_main(ctx, ps, fwd);
		smtp_forward_cfg_wipe(fwd);
		privsep_free(&ps);
	}
	free(fwd);
	return rc;
}

/* A reused pair's parts (server.process_reuse): the smarthost's secrets are read once, before the split. */
static struct smtp_forward_cfg reused_fwd;

static void reused_prepare(struct session_ctx *ctx)
{
	smtp_forward_cfg_load(ctx->cfg, ctx->hostname, &reused_fwd);
}

static void reused_monitor_forget(void)
{
	smtp_forward_cfg_wipe(&reused_fwd);
}

static enum member_next reused_child_serve(struct session_ctx *ctx, struct privsep *ps)
{
	/* Every piece of client state lives in the session child_main allocates and frees. */
	(void)child_main(ctx, ps, &reused_fwd);
	return MEMBER_AGAIN;
}

static enum member_next reused_monitor_serve(struct session_ctx *ctx, struct privsep *ps)
{
	(void)ctx;
	return privsep_serve(ps, false, NULL) < 0 ? MEMBER_BROKEN : MEMBER_AGAIN;
}

const struct member_service smtp_member_service = {
	.prepare = reused_prepare,
	.monitor_forget = reused_monitor_forget,
	.child_serve = reused_child_serve,
	.monitor_serve = reused_monitor_serve,
};
