/* check_session_cmd.c - unit tests of the one command dispatcher (common/session_cmd.c) and of the POP3 and SMTP tables on it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/session_cmd.h"
#include "pop3d/pop3_int.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_session.h"
#include "check_run.h"

/* A toy protocol: two states, handlers that record what they were given. */
#define S1 0x1
#define S2 0x2

struct toy {
	const char *ran;          /* the handler that ran, or NULL */
	int argc;
	char argv[SESSION_ARGS_MAX][64];
	enum session_cmd_error refused;
	const struct session_cmd *refused_cmd;
	int refusals;
};

/* record - what every toy handler does: note its name and arguments. */
static int record(struct toy *t, const char *name, const struct session_args *a)
{
	t->ran = name;
	t->argc = a->argc;
	for (int i = 0; i < a->argc; i++)
		snprintf(t->argv[i], sizeof(t->argv[i]), "%s", a->argv[i]);
	return 100;
}

static int h_noop(void *s, struct session_args *a)
{
	return record(s, "noop", a);
}

static int h_user(void *s, struct session_args *a)
{
	return record(s, "user", a);
}

static int h_pass(void *s, struct session_args *a)
{
	return record(s, "pass", a);
}

static int h_top(void *s, struct session_args *a)
{
	return record(s, "top", a);
}

static int h_mail(void *s, struct session_args *a)
{
	return record(s, "mail", a);
}

static int h_quit1(void *s, struct session_args *a)
{
	return record(s, "quit1", a);
}

static int h_quit2(void *s, struct session_args *a)
{
	return record(s, "quit2", a);
}

static int toy_refuse(void *session, enum session_cmd_error e, const struct session_cmd *cmd)
{
	struct toy *t = session;

	t->refused = e;
	t->refused_cmd = cmd;
	t->refusals++;
	return 200 + (int)e;
}

static const struct session_cmd toy_cmds[] = {
	{ .verb = "NOOP", .states = S1 | S2, .max_args = 1, .fn = h_noop },
	{ .verb = "USER", .states = S1, .min_args = 1, .max_args = 1, .arg_max = { 13 }, .fn = h_user },
	{ .verb = "PASS", .states = S1, .split = SESSION_SPLIT_VERBATIM, .min_args = 1, .max_args = 1,
	  .arg_max = { 100 }, .fn = h_pass },
	{ .verb = "TOP", .states = S2, .min_args = 2, .max_args = 2, .fn = h_top },
	{ .verb = "MAIL", .states = S2, .split = SESSION_SPLIT_TEXT, .min_args = 1, .max_args = 1, .arg_max = { 100 }, .line_max = 25,
	  .usage = "MAIL FROM:<address>", .misplaced = "Need HELO", .fn = h_mail },
	{ .verb = "QUIT", .states = S1, .fn = h_quit1 },
	{ .verb = "QUIT", .states = S2, .fn = h_quit2 },
	{ .verb = "STARTTLS", .states = S1, .fn = h_noop },
};

static const struct session_cmd_table toy = {
	.cmds = toy_cmds,
	.ncmds = sizeof(toy_cmds) / sizeof(toy_cmds[0]),
	.verb_max = 8,
	.arg_max = 10,
	.refuse = toy_refuse,
};

#define LONG41 "12345678901234567890123456789012345678901"

/* Lines and what the dispatcher makes of them; "" in a0/a1 when the argument is absent. */
static const struct {
	const char *line;
	size_t len;                 /* 0: strlen(line) */
	unsigned state;
	enum session_cmd_error e;
	const char *ran, *row;      /* the handler that runs, or the verb of the row refuse gets (NULL: none) */
	int argc;
	const char *a0, *a1;
} cases[] = {
	/* unknown verbs, and what is no verb at all */
	{ "FOO", 0, S1, SESSION_CMD_UNKNOWN, NULL, NULL, 0, "", "" },
	{ "XYZZY bar baz", 0, S1, SESSION_CMD_UNKNOWN, NULL, NULL, 0, "", "" },
	{ "", 0, S1, SESSION_CMD_VERB_SYNTAX, NULL, NULL, 0, "", "" },
	{ " NOOP", 0, S1, SESSION_CMD_VERB_SYNTAX, NULL, NULL, 0, "", "" },
	{ "NO0P", 0, S1, SESSION_CMD_VERB_SYNTAX, NULL, NULL, 0, "", "" },
	{ "USER\tbob", 0, S1, SESSION_CMD_VERB_SYNTAX, NULL, NULL, 0, "", "" },
	{ "N\xc3\x96OP", 0, S1, SESSION_CMD_VERB_SYNTAX, NULL, NULL, 0, "", "" },
	{ "USER\0bob", 8, S1, SESSION_CMD_NUL, NULL, NULL, 0, "", "" },
	{ "NOOP\0", 5, S1, SESSION_CMD_NUL, NULL, NULL, 0, "", "" },
	/* over-long verbs: up to verb_max an unknown verb, beyond it none */
	{ "STARTTLS", 0, S1, SESSION_CMD_OK, "noop", NULL, 0, "", "" },
	{ "STARTTLX", 0, S1, SESSION_CMD_UNKNOWN, NULL, NULL, 0, "", "" },
	{ "STARTTLSX", 0, S1, SESSION_CMD_VERB_LONG, NULL, NULL, 0, "", "" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 0, S1, SESSION_CMD_VERB_LONG, NULL, NULL, 0, "", "" },
	/* case does not matter, in the verb */
	{ "user bob", 0, S1, SESSION_CMD_OK, "user", NULL, 1, "bob", "" },
	{ "uSeR Bob", 0, S1, SESSION_CMD_OK, "user", NULL, 1, "Bob", "" },
	{ "StartTls", 0, S1, SESSION_CMD_OK, "noop", NULL, 0, "", "" },
	/* the wrong state, with the row for its texts */
	{ "TOP 1 2", 0, S1, SESSION_CMD_STATE, NULL, "TOP", 0, "", "" },
	{ "user bob", 0, S2, SESSION_CMD_STATE, NULL, "USER", 0, "", "" },
	{ "MAIL FROM:<>", 0, S1, SESSION_CMD_STATE, NULL, "MAIL", 0, "", "" },
	/* one verb, two states, two handlers */
	{ "QUIT", 0, S1, SESSION_CMD_OK, "quit1", NULL, 0, "", "" },
	{ "quit", 0, S2, SESSION_CMD_OK, "quit2", NULL, 0, "", "" },
	/* missing and extra arguments */
	{ "USER", 0, S1, SESSION_CMD_ARGS, NULL, "USER", 0, "", "" },
	{ "USER ", 0, S1, SESSION_CMD_ARGS, NULL, "USER", 0, "", "" },
	{ "USER   ", 0, S1, SESSION_CMD_ARGS, NULL, "USER", 0, "", "" },
	{ "USER bob smith", 0, S1, SESSION_CMD_ARGS, NULL, "USER", 0, "", "" },
	{ "TOP 1", 0, S2, SESSION_CMD_ARGS, NULL, "TOP", 0, "", "" },
	{ "TOP 1 2 3", 0, S2, SESSION_CMD_ARGS, NULL, "TOP", 0, "", "" },
	{ "QUIT now", 0, S1, SESSION_CMD_ARGS, NULL, "QUIT", 0, "", "" },
	{ "NOOP a b", 0, S1, SESSION_CMD_ARGS, NULL, "NOOP", 0, "", "" },
	{ "MAIL", 0, S2, SESSION_CMD_ARGS, NULL, "MAIL", 0, "", "" },
	{ "MAIL    ", 0, S2, SESSION_CMD_ARGS, NULL, "MAIL", 0, "", "" },
	{ "PASS", 0, S1, SESSION_CMD_ARGS, NULL, "PASS", 0, "", "" },
	{ "PASS ", 0, S1, SESSION_CMD_ARGS, NULL, "PASS", 0, "", "" },
	/* words: any run of spaces separates, trailing spaces separate nothing */
	{ "TOP 1 10", 0, S2, SESSION_CMD_OK, "top", NULL, 2, "1", "10" },
	{ "top  1   10  ", 0, S2, SESSION_CMD_OK, "top", NULL, 2, "1", "10" },
	{ "NOOP", 0, S2, SESSION_CMD_OK, "noop", NULL, 0, "", "" },
	{ "NOOP ", 0, S2, SESSION_CMD_OK, "noop", NULL, 0, "", "" },
	/* verbatim: all after the one space, spaces kept (a password may begin or end with one) */
	{ "PASS my secret  pass ", 0, S1, SESSION_CMD_OK, "pass", NULL, 1, "my secret  pass ", "" },
	{ "PASS  lead", 0, S1, SESSION_CMD_OK, "pass", NULL, 1, " lead", "" },
	/* text: all after the spaces that follow the verb */
	{ "MAIL FROM:<a@b> SIZE=1", 0, S2, SESSION_CMD_OK, "mail", NULL, 1, "FROM:<a@b> SIZE=1", "" },
	{ "mail   FROM:<>", 0, S2, SESSION_CMD_OK, "mail", NULL, 1, "FROM:<>", "" },
	/* the verb's longest line (CRLF included), checked before the state */
	{ "MAIL FROM:<a@example.o>", 0, S2, SESSION_CMD_OK, "mail", NULL, 1, "FROM:<a@example.o>", "" },
	{ "MAIL FROM:<a@example.or>", 0, S2, SESSION_CMD_LINE_LONG, NULL, "MAIL", 0, "", "" },
	{ "MAIL FROM:<a@example.or>", 0, S1, SESSION_CMD_LINE_LONG, NULL, "MAIL", 0, "", "" },
	/* argument bounds: the table's default, a row's own */
	{ "TOP 1234567890 1", 0, S2, SESSION_CMD_OK, "top", NULL, 2, "1234567890", "1" },
	{ "TOP 12345678901 1", 0, S2, SESSION_CMD_ARG_LONG, NULL, "TOP", 0, "", "" },
	{ "TOP 1 12345678901", 0, S2, SESSION_CMD_ARG_LONG, NULL, "TOP", 0, "", "" },
	{ "USER bob@example.o", 0, S1, SESSION_CMD_OK, "user", NULL, 1, "bob@example.o", "" },
	{ "USER bob@example.or", 0, S1, SESSION_CMD_ARG_LONG, NULL, "USER", 0, "", "" },
	{ "PASS " LONG41, 0, S1, SESSION_CMD_OK, "pass", NULL, 1, LONG41, "" },
};

START_TEST(test_dispatch)
{
	char line[128];
	size_t len = cases[_i].len != 0 ? cases[_i].len : strlen(cases[_i].line);
	struct toy t;
	int rc;

	memset(&t, 0, sizeof(t));
	memset(line, 0, sizeof(line));
	memcpy(line, cases[_i].line, len);
	rc = session_cmd_dispatch(&toy, &t, cases[_i].state, line, len);
	if (cases[_i].e == SESSION_CMD_OK) {
		ck_assert_msg(t.refusals == 0, "\"%s\": refused with %d", cases[_i].line, (int)t.refused);
		ck_assert_int_eq(rc, 100);
		ck_assert_ptr_nonnull(t.ran);
		ck_assert_str_eq(t.ran, cases[_i].ran);
		ck_assert_int_eq(t.argc, cases[_i].argc);
		if (t.argc >= 1)
			ck_assert_str_eq(t.argv[0], cases[_i].a0);
		if (t.argc >= 2)
			ck_assert_str_eq(t.argv[1], cases[_i].a1);
		return;
	}
	ck_assert_msg(t.ran == NULL, "\"%s\": %s ran", cases[_i].line, t.ran);
	ck_assert_int_eq(t.refusals, 1);
	ck_assert_msg(t.refused == cases[_i].e, "\"%s\": error %d, not %d", cases[_i].line, (int)t.refused,
		      (int)cases[_i].e);
	ck_assert_int_eq(rc, 200 + (int)cases[_i].e);
	if (cases[_i].row == NULL) {
		ck_assert_ptr_null(t.refused_cmd);
	} else {
		ck_assert_ptr_nonnull(t.refused_cmd);
		ck_assert_str_eq(t.refused_cmd->verb, cases[_i].row);
	}
}
END_TEST

/* session_cmd_parse alone: the same verdicts, and nothing run. */
START_TEST(test_parse_row)
{
	char line[] = "mail FROM:<x@y>";
	const struct session_cmd *cmd = NULL;
	struct session_args a;

	ck_assert_int_eq(session_cmd_parse(&toy, S2, line, strlen(line), &cmd, &a), SESSION_CMD_OK);
	ck_assert_ptr_eq(cmd, &toy_cmds[4]);
	ck_assert_int_eq(a.argc, 1);
	ck_assert_str_eq(a.argv[0], "FROM:<x@y>");
	ck_assert_int_eq(session_cmd_parse(&toy, S1, line, strlen(line), &cmd, &a), SESSION_CMD_STATE);
	ck_assert_str_eq(cmd->misplaced, "Need HELO");
	ck_assert_int_eq(a.argc, 0); /* no arguments handed out with an error */
}
END_TEST

/* A table no longer than the verb: an over-long verb is refused before the table is searched. */
START_TEST(test_short_table)
{
	static const struct session_cmd rows[] = { { .verb = "AB", .states = S1, .fn = h_noop } };
	const struct session_cmd_table t = { rows, 1, 2, 0, toy_refuse };
	struct toy s;
	char l1[] = "ab", l2[] = "abc", l3[] = "ab x";

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(session_cmd_dispatch(&t, &s, S1, l1, 2), 100);
	ck_assert_int_eq(session_cmd_dispatch(&t, &s, S1, l2, 3), 200 + SESSION_CMD_VERB_LONG);
	ck_assert_int_eq(session_cmd_dispatch(&t, &s, S1, l3, 4), 200 + SESSION_CMD_ARGS);
}
END_TEST

/* table_sane - what every row of a real table must be: a verb the dispatcher can match, states, bounds. */
static void table_sane(const struct session_cmd_table *t, const char *name)
{
	ck_assert_msg(t->ncmds > 0 && t->refuse != NULL, "%s: empty", name);
	for (size_t i = 0; i < t->ncmds; i++) {
		const struct session_cmd *c = &t->cmds[i];
		size_t n = strlen(c->verb);

		ck_assert_msg(n > 0 && n <= t->verb_max, "%s: %s longer than verb_max", name, c->verb);
		for (size_t j = 0; j < n; j++)
			ck_assert_msg(isupper((unsigned char)c->verb[j]), "%s: %s not upper case", name, c->verb);
		ck_assert_msg(c->states != 0 && c->fn != NULL, "%s: %s has no state or handler", name, c->verb);
		ck_assert_msg(c->min_args >= 0 && c->min_args <= c->max_args && c->max_args <= SESSION_ARGS_MAX,
			      "%s: %s argument counts", name, c->verb);
		ck_assert_msg(c->split == SESSION_SPLIT_WORDS || c->max_args <= 1, "%s: %s has one text", name, c->verb);
		/* no two rows for one verb in one state: the second would never run */
		for (size_t k = i + 1; k < t->ncmds; k++)
			ck_assert_msg(strcmp(c->verb, t->cmds[k].verb) != 0 || (c->states & t->cmds[k].states) == 0,
				      "%s: %s twice in one state", name, c->verb);
	}
}

START_TEST(test_tables_sane)
{
	table_sane(&pop3_command_table, "pop3");
	table_sane(&smtp_command_table, "smtp");
}
END_TEST

/* parse_real - session_cmd_parse of TEXT in STATE against T, with the row found in *CMD. */
static enum session_cmd_error parse_real(const struct session_cmd_table *t, unsigned state, const char *text,
					 const struct session_cmd **cmd)
{
	char line[SMTP_AUTH_LINE_MAX];
	struct session_args a;

	snprintf(line, sizeof(line), "%s", text);
	return session_cmd_parse(t, state, line, strlen(line), cmd, &a);
}

/* The POP3 table: RFC 1939 keywords, RFC 2449's 40-octet arguments with their exemptions. */
START_TEST(test_pop3_table)
{
	const struct session_cmd *c;
	char name[AUTH_NAME_MAX + 8];

	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, "stat", &c), SESSION_CMD_STATE);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "user bob", &c), SESSION_CMD_STATE);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "STATS", &c), SESSION_CMD_VERB_LONG);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "XTND", &c), SESSION_CMD_UNKNOWN);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "RETR", &c), SESSION_CMD_ARGS);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "RETR 1 2", &c), SESSION_CMD_ARGS);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "LIST 1", &c), SESSION_CMD_OK);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "RETR " LONG41, &c), SESSION_CMD_ARG_LONG);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, "AUTH " LONG41, &c),
			 SESSION_CMD_ARG_LONG);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, "AUTH PLAIN " LONG41 LONG41, &c),
			 SESSION_CMD_OK);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, "PASS a b  c ", &c), SESSION_CMD_OK);
	/* user names: up to what the auth layer holds, not 40 */
	memset(name, 'u', sizeof(name));
	memcpy(name, "USER ", 5);
	name[5 + POP3_NAME_ARG_MAX] = '\0';
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, name, &c), SESSION_CMD_OK);
	name[5 + POP3_NAME_ARG_MAX] = 'u';
	name[6 + POP3_NAME_ARG_MAX] = '\0';
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, name, &c), SESSION_CMD_ARG_LONG);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_AUTHORIZATION, "quit", &c), SESSION_CMD_OK);
	ck_assert_ptr_eq(c->fn, pop3_cmd_quit_auth);
	ck_assert_int_eq(parse_real(&pop3_command_table, POP3_TRANSACTION, "quit", &c), SESSION_CMD_OK);
	ck_assert_ptr_eq(c->fn, pop3_cmd_quit_trans);
}
END_TEST

/* The SMTP table: RFC 5321's 500/501/503 decisions, and the texts its replies carry. */
START_TEST(test_smtp_table)
{
	const struct session_cmd *c;
	char line[SMTP_MAIL_LINE_MAX + 16];

	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_GREET, "mail FROM:<>", &c), SESSION_CMD_STATE);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_MAIL, "MAIL FROM:<>", &c), SESSION_CMD_STATE);
	ck_assert_str_eq(c->misplaced, "Nested MAIL command");
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "DATA", &c), SESSION_CMD_STATE);
	ck_assert_str_eq(c->misplaced, "Need MAIL and RCPT before DATA");
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_RCPT, "DATA now", &c), SESSION_CMD_ARGS);
	ck_assert_str_eq(c->usage, "DATA");
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "RSET x", &c), SESSION_CMD_ARGS);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "VRFY", &c), SESSION_CMD_ARGS);
	ck_assert_str_eq(c->usage, "VRFY address");
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_GREET, "EHLO", &c), SESSION_CMD_ARGS);
	ck_assert_str_eq(c->usage, "EHLO hostname");
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "MAIL", &c), SESSION_CMD_ARGS);
	ck_assert_str_eq(c->usage, "MAIL FROM:<address>");
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_GREET, "STARTTLS please", &c), SESSION_CMD_ARGS);
	/* AUTH's handler says "Send EHLO first" before it looks for a mechanism */
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "AUTH", &c), SESSION_CMD_OK);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "QUIT now", &c), SESSION_CMD_OK);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "BDAT 10", &c), SESSION_CMD_UNKNOWN);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "ABCDEFGHIJKLMNOP", &c),
			 SESSION_CMD_VERB_LONG);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, "ABCDEFGHIJKLMNO", &c), SESSION_CMD_UNKNOWN);
	/* line lengths, CRLF included: 512 for most, 1100 for MAIL and RCPT */
	memset(line, 'a', sizeof(line));
	memcpy(line, "NOOP ", 5);
	line[SMTP_CMD_LINE_MAX - 2] = '\0';
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, line, &c), SESSION_CMD_OK);
	line[SMTP_CMD_LINE_MAX - 2] = 'a';
	line[SMTP_CMD_LINE_MAX - 1] = '\0';
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_READY, line, &c), SESSION_CMD_LINE_LONG);
	memcpy(line, "RCPT ", 5);
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_MAIL, line, &c), SESSION_CMD_OK);
	line[SMTP_CMD_LINE_MAX - 1] = 'a';
	line[SMTP_MAIL_LINE_MAX - 1] = '\0';
	ck_assert_int_eq(parse_real(&smtp_command_table, SMTP_S_GREET, line, &c), SESSION_CMD_LINE_LONG);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *session_cmd_suite(void)
{
	Suite *s = suite_create("session_cmd");
	TCase *tc = tcase_create("dispatch");

	tcase_add_loop_test(tc, test_dispatch, 0, N(cases));
	tcase_add_test(tc, test_parse_row);
	tcase_add_test(tc, test_short_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("tables");
	tcase_add_test(tc, test_tables_sane);
	tcase_add_test(tc, test_pop3_table);
	tcase_add_test(tc, test_smtp_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(session_cmd_suite());
}
