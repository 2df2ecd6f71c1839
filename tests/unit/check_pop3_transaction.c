/* check_pop3_transaction.c - the TRANSACTION and UPDATE states through the real pop3_session_main. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The TRANSACTION and UPDATE states through the real pop3_session_main
 * on an mbox and a Maildir: every command, message numbers, dot-stuffing, pipelining, deletions
 * applied only at QUIT, the [IN-USE] lock, timeouts and a broken mailbox.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pop3test.h"
#include "check_run.h"

/* The two users whose mailboxes hold pop3test_msgs: alice (mbox) and bob (Maildir). */
static const struct {
	const char *name, *pass;
} users[] = { { "alice", PT_ALICE_PASS }, { "bob", PT_BOB_PASS } };

static struct pop3test_session sess;
static char body[1 << 16], want[4096];

/* open_session - connect and log in as USER I under [pop3] KEYS. */
static struct config *open_session(int i, const char *keys)
{
	struct config *cfg = pop3test_config(keys);

	pop3test_start(&sess, cfg, "127.0.0.1");
	pop3test_login(&sess, users[i].name, users[i].pass);
	return cfg;
}

/* quit - QUIT, expect REPLY, and the close. */
static void quit(struct config **cfg, const char *reply)
{
	pop3test_send(&sess, "QUIT\r\n");
	pop3test_expect(&sess, reply);
	pop3test_eof(&sess);
	ck_assert_int_eq(pop3test_finish(&sess), 0);
	config_free(cfg);
}

/* expect_msg - RETR N and compare with pop3test_msgs[M]. */
static void expect_msg(unsigned n, int m)
{
	char line[64], head[64];

	snprintf(line, sizeof(line), "RETR %u\r\n", n);
	snprintf(head, sizeof(head), "+OK %zu octets", strlen(pop3test_msgs[m]));
	pop3test_send(&sess, line);
	ck_assert_str_eq(pop3test_expect(&sess, "+OK "), head);
	pop3test_body(&sess, body, sizeof(body));
	ck_assert_str_eq(body, pop3test_msgs[m]);
}

START_TEST(test_commands)
{
	size_t sz[3], total = 0;
	char uidl[3][80], line[160];
	struct config *cfg;

	for (int m = 0; m < 3; m++)
		total += sz[m] = strlen(pop3test_msgs[m]);
	cfg = open_session(_i, NULL);
	snprintf(line, sizeof(line), "+OK %zu %zu", (size_t)3, total);
	pop3test_send(&sess, "STAT\r\n");
	ck_assert_str_eq(pop3test_expect(&sess, "+OK"), line);
	pop3test_send(&sess, "LIST\r\n");
	pop3test_expect(&sess, "+OK 3 messages (");
	pop3test_body(&sess, body, sizeof(body));
	snprintf(want, sizeof(want), "1 %zu\r\n2 %zu\r\n3 %zu\r\n", sz[0], sz[1], sz[2]);
	ck_assert_str_eq(body, want);
	snprintf(line, sizeof(line), "+OK 2 %zu", sz[1]);
	pop3test_send(&sess, "LIST 2\r\n");
	ck_assert_str_eq(pop3test_expect(&sess, "+OK"), line);
	pop3test_send(&sess, "LIST 4\r\nLIST 0\r\nLIST -1\r\nLIST 1x\r\nLIST 1 2\r\nRETR\r\nRETR 00\r\n");
	pop3test_expect(&sess, "-ERR no such message");
	pop3test_expect(&sess, "-ERR no such message");
	pop3test_expect(&sess, "-ERR Invalid message number");
	pop3test_expect(&sess, "-ERR Invalid message number");
	pop3test_expect(&sess, "-ERR Wrong number of arguments");
	pop3test_expect(&sess, "-ERR Wrong number of arguments");
	pop3test_expect(&sess, "-ERR no such message");
	for (int m = 0; m < 3; m++)
		expect_msg((unsigned)m + 1, m);
	/* TOP: the headers, the blank line and N body lines. */
	pop3test_send(&sess, "TOP 3 2\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_body(&sess, body, sizeof(body));
	ck_assert_str_eq(body, "From: <c@example.org>\r\nSubject: three\r\nX-Long: yes\r\n\r\n1\r\n2\r\n");
	pop3test_send(&sess, "TOP 1 0\r\nTOP 1 x\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_body(&sess, body, sizeof(body));
	ck_assert_str_eq(body, "From: <a@example.org>\r\nSubject: one\r\n\r\n");
	pop3test_expect(&sess, "-ERR Invalid line count");
	pop3test_send(&sess, "UIDL\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_body(&sess, body, sizeof(body));
	ck_assert_int_eq(sscanf(body, "1 %79s\r\n2 %79s\r\n3 %79s", uidl[0], uidl[1], uidl[2]), 3);
	for (int m = 0; m < 3; m++) {
		ck_assert(strlen(uidl[m]) >= 1 && strlen(uidl[m]) <= 70);
		for (const char *c = uidl[m]; *c != '\0'; c++)
			ck_assert(*c >= 0x21 && *c <= 0x7e);
	}
	ck_assert_str_ne(uidl[0], uidl[1]);
	snprintf(line, sizeof(line), "+OK 2 %s", uidl[1]);
	pop3test_send(&sess, "UIDL 2\r\n");
	ck_assert_str_eq(pop3test_expect(&sess, "+OK"), line);
	/* DELE hides a message until RSET; nothing is removed before QUIT. */
	pop3test_send(&sess, "DELE 1\r\nDELE 1\r\nRETR 1\r\nTOP 1 1\r\nUIDL 1\r\nLIST 1\r\n");
	pop3test_expect(&sess, "+OK message 1 deleted");
	for (int k = 0; k < 5; k++)
		pop3test_expect(&sess, "-ERR no such message");
	snprintf(line, sizeof(line), "+OK 2 %zu", sz[1] + sz[2]);
	pop3test_send(&sess, "STAT\r\n");
	ck_assert_str_eq(pop3test_expect(&sess, "+OK"), line);
	pop3test_send(&sess, "LIST\r\n");
	pop3test_expect(&sess, "+OK 2 messages (");
	pop3test_body(&sess, body, sizeof(body));
	snprintf(want, sizeof(want), "2 %zu\r\n3 %zu\r\n", sz[1], sz[2]);
	ck_assert_str_eq(body, want);
	pop3test_send(&sess, "RSET\r\n");
	pop3test_expect(&sess, "+OK maildrop has 3 messages");
	pop3test_send(&sess, "NOOP\r\nUSER alice\r\nSTLS\r\nCAPA\r\nDELE 2\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_expect(&sess, "-ERR Command not valid in this state");
	pop3test_expect(&sess, "-ERR Command not valid in this state");
	pop3test_expect(&sess, "+OK Capability list follows");
	pop3test_body(&sess, body, sizeof(body));
	ck_assert_ptr_null(strstr(body, "USER"));
	ck_assert_ptr_null(strstr(body, "SASL"));
	ck_assert_ptr_nonnull(strstr(body, "PIPELINING"));
	pop3test_expect(&sess, "+OK message 2 deleted");
	quit(&cfg, "+OK popgate signing off (2 messages left)");

	/* The next session sees the deletion, and unique ids did not change. */
	cfg = open_session(_i, NULL);
	pop3test_send(&sess, "UIDL\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_body(&sess, body, sizeof(body));
	snprintf(want, sizeof(want), "1 %s\r\n2 %s\r\n", uidl[0], uidl[2]);
	ck_assert_str_eq(body, want);
	expect_msg(1, 0);
	expect_msg(2, 2);
	quit(&cfg, "+OK popgate signing off (2 messages left)");
}
END_TEST

/* Pipelined commands are answered in order, and a batch comes back whole. */
START_TEST(test_pipelining)
{
	struct config *cfg = open_session(_i, NULL);

	pop3test_send(&sess, "STAT\r\nLIST\r\nUIDL\r\nRETR 2\r\nTOP 1 0\r\nDELE 3\r\nNOOP\r\nLIST 3\r\nRSET\r\nQUIT\r\n");
	pop3test_expect(&sess, "+OK 3 ");
	pop3test_expect(&sess, "+OK 3 messages");
	pop3test_body(&sess, body, sizeof(body));
	pop3test_expect(&sess, "+OK");
	pop3test_body(&sess, body, sizeof(body));
	pop3test_expect(&sess, "+OK ");
	pop3test_body(&sess, body, sizeof(body));
	ck_assert_str_eq(body, pop3test_msgs[1]);
	pop3test_expect(&sess, "+OK");
	pop3test_body(&sess, body, sizeof(body));
	pop3test_expect(&sess, "+OK message 3 deleted");
	pop3test_expect(&sess, "+OK");
	pop3test_expect(&sess, "-ERR no such message");
	pop3test_expect(&sess, "+OK maildrop has 3 messages");
	pop3test_expect(&sess, "+OK popgate signing off (3 messages left)");
	pop3test_eof(&sess);
	ck_assert_int_eq(pop3test_finish(&sess), 0);
	config_free(&cfg);
}
END_TEST

/* expect_count - a fresh session of user I sees N messages. */
static void expect_count(int i, unsigned n)
{
	char line[64];
	struct config *cfg = open_session(i, NULL);

	snprintf(line, sizeof(line), "+OK %u ", n);
	pop3test_send(&sess, "STAT\r\n");
	pop3test_expect(&sess, line);
	quit(&cfg, "+OK");
}

START_TEST(test_disconnect_keeps_messages)
{
	struct config *cfg = open_session(_i, NULL);

	pop3test_send(&sess, "DELE 1\r\nDELE 2\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_expect(&sess, "+OK");
	ck_assert_int_eq(pop3test_finish(&sess), 0); /* gone without QUIT */
	config_free(&cfg);
	expect_count(_i, 3);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct config *cfg = open_session(_i, "idle_timeout = 1s\n");
	time_t t0 = time(NULL);

	pop3test_send(&sess, "DELE 1\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_eof(&sess); /* autologout: no reply, and no UPDATE state */
	ck_assert(time(NULL) - t0 <= 5);
	ck_assert_int_eq(pop3test_finish(&sess), 0);
	config_free(&cfg);
	expect_count(_i, 3);
}
END_TEST

START_TEST(test_session_deadline)
{
	/* The session's clock starts inside open_session, which a loaded machine may make last a
	 * second or more: the lower bound counts from before it, the upper one from after it. */
	time_t t0 = time(NULL);
	struct config *cfg = open_session(_i, "session_timeout = 2s\n");
	time_t t1 = time(NULL);
	char line[256];

	/* A busy client is still cut off at the deadline, and not before it. */
	for (;;) {
		if (send(sess.fd, "NOOP\r\n", 6, MSG_NOSIGNAL) != 6 || pop3test_line(&sess, line, sizeof(line)) == NULL)
			break;
		ck_assert_str_eq(line, "+OK");
		ck_assert(time(NULL) - t1 <= 6);
		usleep(200 * 1000);
	}
	ck_assert(time(NULL) - t0 >= 1);
	ck_assert_int_eq(pop3test_finish(&sess), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_in_use)
{
	static struct pop3test_session second;
	struct config *cfg = open_session(_i, NULL);

	pop3test_start(&second, cfg, "127.0.0.1");
	pop3test_expect(&second, "+OK popgate ready");
	snprintf(want, sizeof(want), "USER %s\r\nPASS %s\r\n", users[_i].name, users[_i].pass);
	pop3test_send(&second, want);
	pop3test_expect(&second, "+OK");
	pop3test_expect(&second, "-ERR [IN-USE] ");
	pop3test_eof(&second);
	ck_assert_int_eq(pop3test_finish(&second), 0);
	pop3test_send(&sess, "STAT\r\n");
	pop3test_expect(&sess, "+OK 3 ");
	quit(&cfg, "+OK");
	expect_count(_i, 3); /* the lock went with the first session */
}
END_TEST

START_TEST(test_broken_mailbox)
{
	struct config *cfg = pop3test_config(NULL);

	pop3test_start(&sess, cfg, "127.0.0.1");
	pop3test_expect(&sess, "+OK popgate ready");
	pop3test_send(&sess, "USER carol\r\nPASS " PT_ALICE_PASS "\r\n");
	pop3test_expect(&sess, "+OK");
	pop3test_expect(&sess, "-ERR [SYS/");
	pop3test_eof(&sess);
	ck_assert_int_ne(pop3test_finish(&sess), 0);
	config_free(&cfg);
}
END_TEST

static Suite *pop3_transaction_suite(void)
{
	Suite *s = suite_create("pop3_transaction");
	TCase *tc = tcase_create("transaction");
	int n = (int)(sizeof(users) / sizeof(users[0]));

	tcase_add_checked_fixture(tc, pop3test_setup, pop3test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_commands, 0, n);
	tcase_add_loop_test(tc, test_pipelining, 0, n);
	tcase_add_loop_test(tc, test_disconnect_keeps_messages, 0, n);
	tcase_add_loop_test(tc, test_idle_timeout, 0, n);
	tcase_add_loop_test(tc, test_session_deadline, 0, n);
	tcase_add_loop_test(tc, test_in_use, 0, n);
	tcase_add_test(tc, test_broken_mailbox);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(pop3_transaction_suite());
}
