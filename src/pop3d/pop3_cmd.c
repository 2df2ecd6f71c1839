/* pop3_cmd.c - the POP3 command table, the one dispatcher, replies and bad-command counting. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "pop3d/pop3_int.h"

#define A POP3_AUTHORIZATION
#define T POP3_TRANSACTION

/*
 * Every command in every state. Checking (state, argument count and length) is the
 * dispatcher's job; handlers only act. QUIT appears twice: it means different things per state.
 */
static const struct pop3_cmd commands[] = {
	{ "CAPA", A | T, 0, 0, 0, pop3_cmd_capa },
	{ "USER", A, 1, 1, POP3_F_NAME, pop3_cmd_user },
	{ "PASS", A, 1, 1, POP3_F_REST, pop3_cmd_pass },
	{ "APOP", A, 2, 2, POP3_F_NAME, pop3_cmd_apop },
	{ "AUTH", A, 0, 2, POP3_F_LONG, pop3_cmd_auth },
	{ "STLS", A, 0, 0, 0, pop3_cmd_stls },
	{ "QUIT", A, 0, 0, 0, pop3_cmd_quit_auth },
	{ "STAT", T, 0, 0, 0, pop3_cmd_stat },
	{ "LIST", T, 0, 1, 0, pop3_cmd_list },
	{ "RETR", T, 1, 1, 0, pop3_cmd_retr },
	{ "DELE", T, 1, 1, 0, pop3_cmd_dele },
	{ "NOOP", T, 0, 0, 0, pop3_cmd_noop },
	{ "RSET", T, 0, 0, 0, pop3_cmd_rset },
	{ "TOP", T, 2, 2, 0, pop3_cmd_top },
	{ "UIDL", T, 0, 1, 0, pop3_cmd_uidl },
	{ "QUIT", T, 0, 0, 0, pop3_cmd_quit_trans },
};

#undef A
#undef T

/* find - the row for NAME valid in STATE; *KNOWN tells whether NAME exists in any state. */
static const struct pop3_cmd *find(const char *name, enum pop3_state state, bool *known)
{
	*known = false;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcasecmp(commands[i].name, name) != 0)
			continue;
		*known = true;
		if (commands[i].states & state)
			return &commands[i];
	}
	return NULL;
}

int pop3_split(char *line, const struct pop3_cmd *cmd, char **name, char **argv)
{
	char *s = line;
	int argc = 0;
	unsigned flags = cmd != NULL ? cmd->flags : 0;

	*name = s;
	s += strcspn(s, " ");
	if (*s == '\0')
		return 0;
	*s++ = '\0';
	if (flags & POP3_F_REST) {
		/* RFC 1939 PASS: spaces may be part of the password, so take the rest verbatim. */
		if (*s == '\0')
			return 0;
		argv[0] = s;
		return 1;
	}
	for (;;) {
		s += strspn(s, " "); /* lenient: several spaces, or trailing ones, separate nothing */
		if (*s == '\0')
			return argc;
		if (argc == POP3_ARGS_MAX)
			return -1;
		argv[argc++] = s;
		s += strcspn(s, " ");
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* arg_limit - the longest argument I of CMD may be (RFC 2449: 40, with the exemptions in pop3_limits.h). */
static size_t arg_limit(const struct pop3_cmd *cmd, int i, int argc)
{
	if (cmd->flags & POP3_F_REST)
		return POP3_LINE_MAX;
	if (i == 0 && (cmd->flags & POP3_F_NAME))
		return POP3_NAME_ARG_MAX;
	if (i > 0 && i == argc - 1 && (cmd->flags & POP3_F_LONG))
		return POP3_LINE_MAX;
	return POP3_ARG_MAX;
}

enum pop3_outcome pop3_dispatch_line(struct pop3 *p, size_t len)
{
	char *name, *argv[POP3_ARGS_MAX] = { NULL };
	const struct pop3_cmd *cmd;
	size_t namelen = strcspn(p->line, " ");
	bool known;
	int argc;

	if (strlen(p->line) != len)
		return pop3_bad(p, "NUL byte in command");
	if (namelen == 0 || namelen > 4)
		return pop3_bad(p, "Unknown command");
	char word[5];
	memcpy(word, p->line, namelen);
	word[namelen] = '\0';
	cmd = find(word, p->state, &known);
	if (cmd == NULL)
		return pop3_bad(p, known ? "Command not valid in this state" : "Unknown command");
	argc = pop3_split(p->line, cmd, &name, argv);
	if (argc < cmd->min_args || argc > cmd->max_args)
		return pop3_bad(p, "Wrong number of arguments");
	for (int i = 0; i < argc; i++)
		if (strlen(argv[i]) > arg_limit(cmd, i, argc))
			return pop3_bad(p, "Argument too long");
	return cmd->handler(p, argc, argv);
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
