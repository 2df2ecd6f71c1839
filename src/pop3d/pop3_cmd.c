/* pop3_cmd.c - the POP3 command table (common/session_cmd.h), the command loop, replies and bad-command counting. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "pop3d/pop3_int.h"

#define A POP3_AUTHORIZATION
#define T POP3_TRANSACTION
#define NAME POP3_NAME_ARG_MAX
#define WHOLE POP3_LINE_MAX
#define VERBATIM SESSION_SPLIT_VERBATIM

/*
 * Every command in every state; checking (state, argument count and length: RFC 2449's 40
 * octets, but for user names and AUTH's initial response) is the dispatcher's job, handlers only
 * act. QUIT appears twice: it means different things per state.
 */
static const struct session_cmd commands[] = {
	{ .verb = "CAPA", .states = A | T, .fn = pop3_cmd_capa },
	{ .verb = "USER", .states = A, .min_args = 1, .max_args = 1, .arg_max = { NAME }, .fn = pop3_cmd_user },
	{ .verb = "PASS", .states = A, .split = VERBATIM, .min_args = 1, .max_args = 1, .arg_max = { WHOLE },
	  .fn = pop3_cmd_pass },
	{ .verb = "APOP", .states = A, .min_args = 2, .max_args = 2, .arg_max = { NAME }, .fn = pop3_cmd_apop },
	{ .verb = "AUTH", .states = A, .max_args = 2, .arg_max = { 0, WHOLE }, .fn = pop3_cmd_auth },
	{ .verb = "STLS", .states = A, .fn = pop3_cmd_stls },
	{ .verb = "QUIT", .states = A, .fn = pop3_cmd_quit_auth },
	{ .verb = "STAT", .states = T, .fn = pop3_cmd_stat },
	{ .verb = "LIST", .states = T, .max_args = 1, .fn = pop3_cmd_list },
	{ .verb = "RETR", .states = T, .min_args = 1, .max_args = 1, .fn = pop3_cmd_retr },
	{ .verb = "DELE", .states = T, .min_args = 1, .max_args = 1, .fn = pop3_cmd_dele },
	{ .verb = "NOOP", .states = T, .fn = pop3_cmd_noop },
	{ .verb = "RSET", .states = T, .fn = pop3_cmd_rset },
	{ .verb = "TOP", .states = T, .min_args = 2, .max_args = 2, .fn = pop3_cmd_top },
	{ .verb = "UIDL", .states = T, .max_args = 1, .fn = pop3_cmd_uidl },
	{ .verb = "QUIT", .states = T, .fn = pop3_cmd_quit_trans },
};

#undef A
#undef T
#undef NAME
#undef WHOLE
#undef VERBATIM

/* refuse - what a refused line is told (RFC 1939: -ERR and a text), counted as a bad command. */
static int refuse(void *session, enum session_cmd_error e, const struct session_cmd *cmd)
{
	static const char *const why[] = {
		[SESSION_CMD_NUL] = "NUL byte in command",
		[SESSION_CMD_VERB_SYNTAX] = "Unknown command",
		[SESSION_CMD_VERB_LONG] = "Unknown command",
		[SESSION_CMD_UNKNOWN] = "Unknown command",
		[SESSION_CMD_LINE_LONG] = "Line too long",
		[SESSION_CMD_STATE] = "Command not valid in this state",
		[SESSION_CMD_ARGS] = "Wrong number of arguments",
		[SESSION_CMD_ARG_LONG] = "Argument too long",
	};

	return pop3_bad(session, (size_t)e < sizeof(why) / sizeof(why[0]) && why[e] != NULL ? why[e] : "Unknown command");
}

const struct session_cmd_table pop3_command_table = {
	.cmds = commands,
	.ncmds = sizeof(commands) / sizeof(commands[0]),
	.verb_max = POP3_VERB_MAX,
	.arg_max = POP3_ARG_MAX,
	.refuse = refuse,
};

enum pop3_outcome pop3_dispatch_line(struct pop3 *p, size_t len)
{
	return (enum pop3_outcome)session_cmd_dispatch(&pop3_command_table, p, p->state, p->line, len);
}

/* log_user - who the session is about, for log lines. */
static const char *log_user(const struct pop3 *p)
{
	if (p->username != NULL)
		return p->username;
	return p->have_user ? p->user : NULL;
}

/* read_failed - log why reading a command stopped the session. */
static void read_failed(struct pop3 *p, enum lio_status st)
{
	const char *ip = p->ctx->client_ip;

	if (st == LIO_EOF)
		log_session(LOG_INFO, p->proto, ip, log_user(p), "disconnected", "without QUIT");
	else if (st == LIO_TIMEOUT && p->deadline > 0 && lio_now() >= p->deadline)
		log_session(LOG_NOTICE, p->proto, ip, log_user(p), "session timeout", NULL);
	else if (st == LIO_TIMEOUT)
		log_session(LOG_NOTICE, p->proto, ip, log_user(p), "idle timeout", NULL);
	else
		log_session(LOG_INFO, p->proto, ip, log_user(p), "connection error", NULL);
}

enum pop3_outcome pop3_command_loop(struct pop3 *p)
{
	for (;;) {
		size_t len = 0;
		enum pop3_outcome o;
		enum lio_status st = lio_read_line(p->lio, p->line, sizeof(p->line), &len, NULL);

		if (st == LIO_OK)
			o = pop3_dispatch_line(p, len);
		else if (st == LIO_TOOLONG)
			o = pop3_bad(p, "Line too long");
		else {
			/* RFC 1939 autologout: close without a reply and without touching the maildrop. */
			read_failed(p, st);
			return POP3_CLOSE;
		}
		explicit_bzero(p->line, sizeof(p->line)); /* it may have held a password */
		if (o != POP3_CONTINUE) {
			(void)lio_flush(p->lio);
			return o;
		}
		/* Pipelining (RFC 2449): answer a batch of commands with one write. */
		if (lio_buffered(p->lio) == 0 && lio_flush(p->lio) < 0) {
			log_session(LOG_INFO, p->proto, p->ctx->client_ip, log_user(p), "connection error",
				    "writing: %s", strerror(errno));
			return POP3_CLOSE;
		}
	}
}

enum pop3_outcome pop3_reply(struct pop3 *p, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return POP3_CLOSE;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)(sizeof(buf) - 3); /* replies are short; a cut one is still a valid line */
	buf[n] = '\r';
	buf[n + 1] = '\n';
	return lio_write(p->lio, buf, (size_t)n + 2) == 0 ? POP3_CONTINUE : POP3_CLOSE;
}

enum pop3_outcome pop3_bad(struct pop3 *p, const char *why)
{
	long long max = conf(p->ctx->cfg)->pop3.max_bad_commands;

	p->bad++;
	if ((long long)p->bad >= max) {
		log_session(LOG_NOTICE, p->proto, p->ctx->client_ip, log_user(p), "too many bad commands",
			    "count=%u last=\"%s\"", p->bad, why);
		(void)pop3_reply(p, "-ERR Too many bad commands, closing connection");
		return POP3_CLOSE;
	}
	log_session(LOG_DEBUG, p->proto, p->ctx->client_ip, log_user(p), "bad command", "count=%u: %s", p->bad, why);
	return pop3_reply(p, "-ERR %s", why);
}

int pop3_parse_number(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (~0UL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
