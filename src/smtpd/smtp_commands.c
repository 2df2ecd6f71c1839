/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_commands.c - the command table (common/session_cmd.h) and the handlers of the envelope and
 * session commands. The table checks verb, state and argument count; each handler checks what its
 * arguments say (smtp_parse.c) before it acts, and answers every outcome
 * with one reply carrying an enhanced status code (RFC 3463).
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_session.h"

/* hello - HELO and EHLO: a new start, which ends any transaction (RFC 5321 4.1.4). */
static enum smtp_outcome hello(struct smtp_session *s, const char *args, bool esmtp)
{
	if (!smtp_helo_valid(args)) {
		smtp_reply(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return SMTP_FAILED;
	}
	smtp_reset_transaction(s);
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->esmtp = esmtp;
	s->state = SMTP_S_READY;
	if (!esmtp) {
		smtp_reply(s, "250 %s", s->ctx->hostname);
		return SMTP_DONE;
	}
	smtp_reply(s, "250-%s Hello %s [%s]", s->ctx->hostname, s->helo, s->ctx->client_ip);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %llu", (unsigned long long)s->max_size);
	smtp_reply(s, "250-8BITMIME");
	if (s->ctx->tls != NULL && !smtp_tls_active(s))
		smtp_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s) && s->auth_user[0] == '\0')
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_reply(s, "250 ENHANCEDSTATUSCODES");
	return SMTP_DONE;
}

static int cmd_helo(void *session, struct session_args *a)
{
	return hello(session, a->argv[0], false);
}

static int cmd_ehlo(void *session, struct session_args *a)
{
	return hello(session, a->argv[0], true);
}

/* address_reply - the reply for a path that did not parse. */
static void address_reply(struct smtp_session *s, enum smtp_addr_error e, bool sender)
{
	const char *esc = sender ? "5.1.7" : "5.1.3";

	if (e == SMTP_ADDR_E8BIT)
		esc = "5.6.7"; /* RFC 6531 3.7.4: non-ASCII address without SMTPUTF8 */
	smtp_reply(s, "%s %s Bad %s address: %s", e == SMTP_ADDR_ENODOMAIN ? "553" : "501", esc,
		   sender ? "sender" : "recipient", smtp_addr_error_text(e));
}

static int cmd_mail(void *session, struct session_args *a)
{
	struct smtp_session *s = session;
	enum smtp_addr_error ae = SMTP_ADDR_OK;
	enum smtp_arg_error e = smtp_parse_mail(a->argv[0], s->esmtp, &s->from, &s->params, &ae);

	switch (e) {
	case SMTP_ARG_OK:
		break;
	case SMTP_ARG_SYNTAX:
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return SMTP_FAILED;
	case SMTP_ARG_ADDRESS:
		address_reply(s, ae, true);
		return SMTP_FAILED;
	case SMTP_ARG_PARAM:
	case SMTP_ARG_NO_PARAMS:
		smtp_reply(s, "555 5.5.4 Unsupported MAIL parameter");
		return SMTP_FAILED;
	}
	if (s->from.flags & SMTP_ADDR_SOURCE_ROUTE) {
		smtp_reply(s, "553 5.1.7 Source routes are not accepted");
		return SMTP_FAILED;
	}
	if (s->params.size_given && s->params.size > s->max_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit of %llu bytes",
			   (unsigned long long)s->max_size);
		return SMTP_FAILED;
	}
	s->nrcpts = 0;
	s->rcpts_bytes = 0;
	s->verdicts = 0;
	s->state = SMTP_S_MAIL;
	/* Asked before the reply goes out, so that the worker answers while the client reads it. */
	smtp_policy_mail(&s->policy, smtp_log_user(s));
	smtp_reply(s, "250 2.1.0 Ok");
	return SMTP_DONE;
}

/*
 * room_for_rcpt - whether TO fits the transaction: smtp.max_recipients, and for the sendmail
 * hand-off what one command line can carry (execve fails beyond ARG_MAX, and a message that can
 * never be handed on must not be accepted). Grows the list as needed.
 */
static bool room_for_rcpt(struct smtp_session *s, const struct smtp_addr *to)
{
	size_t len = strlen(to->text) + 1;

	if (s->nrcpts >= s->max_rcpts)
		return false;
	if (s->fwd->kind == SMTP_HOP_SENDMAIL && s->rcpts_bytes + len > SMTP_SENDMAIL_ARGV_MAX)
		return false;
	if (s->nrcpts == s->rcpts_cap) {
		size_t cap = s->rcpts_cap != 0 ? s->rcpts_cap * 2 : 8;
		struct smtp_addr *v;

		if (cap > s->max_rcpts)
			cap = s->max_rcpts;
		v = realloc(s->rcpts, cap * sizeof(*v));
		if (v == NULL)
			return false; /* 452: the client tries the rest later */
		s->rcpts = v;
		s->rcpts_cap = cap;
	}
	return true;
}

/* refuse_rcpt - log and answer a relay refusal; only the database failure is temporary. */
static enum smtp_outcome refuse_rcpt(struct smtp_session *s, const struct smtp_addr *to, enum smtp_verdict v)
{
	const char *trick = v == SMTP_VERDICT_TRICK ? smtp_addr_trick_text(to->flags) : NULL;

	log_session(LOG_NOTICE, s->proto, s->ctx->client_ip, smtp_log_user(s), "relay denied",
		    "from=<%s> to=<%s> reason=%s%s%s", LOG_PATH(s->from.text), LOG_PATH(to->text), smtp_verdict_text(v),
		    trick != NULL ? ": " : "", trick != NULL ? trick : "");
	if (v == SMTP_VERDICT_TEMPFAIL) {
		smtp_reply(s, "451 4.3.0 Temporary failure checking relay permission, try again later");
		return SMTP_DONE;
	}
	session_report(s->ctx, SESSION_MSG_DENIED, smtp_log_user(s));
	smtp_reply(s, "550 5.7.1 Relaying denied");
	return SMTP_FAILED;
}

static int cmd_rcpt(void *session, struct session_args *a)
{
	struct smtp_session *s = session;
	struct smtp_addr to;
	enum smtp_addr_error ae = SMTP_ADDR_OK;
	enum smtp_verdict v;

	switch (smtp_parse_rcpt(a->argv[0], &to, &ae)) {
	case SMTP_ARG_OK:
		break;
	case SMTP_ARG_ADDRESS:
		address_reply(s, ae, false);
		return SMTP_FAILED;
	case SMTP_ARG_PARAM:
	case SMTP_ARG_NO_PARAMS:
		smtp_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		return SMTP_FAILED;
	case SMTP_ARG_SYNTAX:
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return SMTP_FAILED;
	}
	if (to.flags & SMTP_ADDR_NULL) {
		smtp_reply(s, "501 5.1.3 The null address is no recipient");
		return SMTP_FAILED;
	}
	v = smtp_policy_rcpt(&s->policy, &to, smtp_log_user(s), time(NULL), NULL);
	if (!smtp_verdict_accepts(v))
		return refuse_rcpt(s, &to, v);
	if (!room_for_rcpt(s, &to)) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return SMTP_DONE;
	}
	log_session(LOG_INFO, s->proto, s->ctx->client_ip, smtp_log_user(s), "relay ok",
		    "from=<%s> to=<%s> reason=%s", LOG_PATH(s->from.text), LOG_PATH(to.text), smtp_verdict_text(v));
	s->rcpts[s->nrcpts++] = to;
	s->rcpts_bytes += strlen(to.text) + 1;
	s->verdicts |= 1u << v;
	/* Before the 250 goes out: the master knows before the client can send DATA. */
	if (!s->known && smtp_verdict_vouches(v)) {
		session_report(s->ctx, SESSION_CLIENT_KNOWN, smtp_log_user(s));
		s->known = true;
	}
	if (!(s->state & SMTP_S_RCPT))
		session_report(s->ctx, SESSION_TXN_BEGIN, smtp_log_user(s));
	s->state = SMTP_S_RCPT;
	smtp_reply(s, "250 2.1.5 Ok");
	return SMTP_DONE;
}

static int cmd_rset(void *session, struct session_args *a)
{
	struct smtp_session *s = session;

	smtp_reset_transaction(s);
	smtp_reply(s, "250 2.0.0 Ok");
	return SMTP_DONE;
}

static int cmd_noop(void *session, struct session_args *a)
{
	smtp_reply(session, "250 2.0.0 Ok");
	return SMTP_DONE;
}

static int cmd_quit(void *session, struct session_args *a)
{
	struct smtp_session *s = session;

	smtp_reply(s, "221 2.0.0 %s Bye", s->ctx->hostname);
	return SMTP_CLOSE;
}

/* cmd_vrfy - RFC 5321 3.5.3: 252 tells nothing about our users and is not an error. */
static int cmd_vrfy(void *session, struct session_args *a)
{
	smtp_reply(session, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
	return SMTP_DONE;
}

static int cmd_expn(void *session, struct session_args *a)
{
	smtp_reply(session, "502 5.5.1 EXPN not available");
	return SMTP_FAILED;
}

static int cmd_help(void *session, struct session_args *a)
{
	struct smtp_session *s = session;

	smtp_reply(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP%s%s",
		   s->ctx->tls != NULL && !smtp_tls_active(s) ? " STARTTLS" : "",
		   smtp_auth_offered(s) ? " AUTH" : "");
	smtp_reply(s, "214 2.0.0 See RFC 5321");
	return SMTP_DONE;
}

/* cmd_starttls - RFC 3207: after the handshake everything learnt before it is forgotten. */
static int cmd_starttls(void *session, struct session_args *a)
{
	struct smtp_session *s = session;

	if (s->ctx->tls == NULL || smtp_tls_active(s)) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return SMTP_FAILED;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	/* lio_start_tls_server flushes the 220 and drops any plaintext pipelined after STARTTLS. */
	if (smtp_start_tls(s) < 0) {
		log_session(LOG_INFO, s->proto, s->ctx->client_ip, NULL, "tls handshake failed", "starttls");
		return SMTP_CLOSE;
	}
	smtp_reset_transaction(s);
	s->state = SMTP_S_GREET;
	s->helo[0] = '\0';
	s->esmtp = false;
	s->auth_user[0] = '\0';
	return SMTP_DONE;
}

#define TEXT SESSION_SPLIT_TEXT
#define CMD SMTP_CMD_LINE_MAX
#define PATH SMTP_MAIL_LINE_MAX

/*
 * Every command: the states it may be used in, its arguments (one text that the handler's own
 * parser reads; none, required or allowed), its longest line, the 501 and 503 texts, the handler.
 * The dispatcher checks all of that, in RFC 5321's order of codes (500, 503, 501), before a handler acts.
 */
static const struct session_cmd commands[] = {
	{ "HELO", SMTP_S_ANY, TEXT, 1, 1, { 0 }, CMD, "HELO hostname", NULL, cmd_helo },
	{ "EHLO", SMTP_S_ANY, TEXT, 1, 1, { 0 }, CMD, "EHLO hostname", NULL, cmd_ehlo },
	{ "MAIL", SMTP_S_READY, TEXT, 1, 1, { 0 }, PATH, "MAIL FROM:<address>", "Nested MAIL command", cmd_mail },
	{ "RCPT", SMTP_S_MAIL | SMTP_S_RCPT, TEXT, 1, 1, { 0 }, PATH, "RCPT TO:<address>", "Need MAIL before RCPT",
	  cmd_rcpt },
	{ "DATA", SMTP_S_MAIL | SMTP_S_RCPT, TEXT, 0, 0, { 0 }, CMD, "DATA", "Need MAIL and RCPT before DATA",
	  smtp_cmd_data },
	{ "RSET", SMTP_S_ANY, TEXT, 0, 0, { 0 }, CMD, "RSET", NULL, cmd_rset },
	{ "NOOP", SMTP_S_ANY, TEXT, 0, 1, { 0 }, CMD, NULL, NULL, cmd_noop },
	{ "QUIT", SMTP_S_ANY, TEXT, 0, 1, { 0 }, CMD, NULL, NULL, cmd_quit },
	{ "VRFY", SMTP_S_ANY, TEXT, 1, 1, { 0 }, CMD, "VRFY address", NULL, cmd_vrfy },
	{ "EXPN", SMTP_S_ANY, TEXT, 0, 1, { 0 }, CMD, NULL, NULL, cmd_expn },
	{ "HELP", SMTP_S_ANY, TEXT, 0, 1, { 0 }, CMD, NULL, NULL, cmd_help },
	{ "STARTTLS", SMTP_S_GREET | SMTP_S_READY, TEXT, 0, 0, { 0 }, CMD, "STARTTLS", "STARTTLS inside a transaction",
	  cmd_starttls },
	/* AUTH's argument is checked by its handler: "Send EHLO first" comes before a missing mechanism. */
	{ "AUTH", SMTP_S_READY, TEXT, 0, 1, { 0 }, SMTP_AUTH_LINE_MAX, NULL, "AUTH inside a transaction", smtp_cmd_auth },
};

#undef TEXT
#undef CMD
#undef PATH

/* refuse - the reply to a line the table refused; every one counts towards smtp.max_errors. */
static int refuse(void *session, enum session_cmd_error e, const struct session_cmd *cmd)
{
	struct smtp_session *s = session;

	switch (e) {
	case SESSION_CMD_UNKNOWN:
		smtp_reply(s, "500 5.5.1 Command unrecognized");
		break;
	case SESSION_CMD_LINE_LONG:
		smtp_reply(s, "500 5.5.2 Line too long");
		break;
	case SESSION_CMD_STATE:
		if (s->state == SMTP_S_GREET)
			smtp_reply(s, "503 5.5.1 Send HELO or EHLO first");
		else
			smtp_reply(s, "503 5.5.1 %s", cmd->misplaced != NULL ? cmd->misplaced : "Bad sequence of commands");
		break;
	case SESSION_CMD_ARGS:
	case SESSION_CMD_ARG_LONG:
		smtp_reply(s, "501 5.5.4 Syntax: %s", cmd->usage != NULL ? cmd->usage : cmd->verb);
		break;
	default: /* a NUL byte, no verb, or one that no command could be */
		smtp_reply(s, "500 5.5.2 Syntax error");
		break;
	}
	return SMTP_FAILED;
}

const struct session_cmd_table smtp_command_table = {
	.cmds = commands,
	.ncmds = sizeof(commands) / sizeof(commands[0]),
	.verb_max = SMTP_VERB_MAX,
	.arg_max = 0, /* the handlers' parsers bound what they read; line_max bounds the rest */
	.refuse = refuse,
};
