/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_smtp_policy.c - the RCPT relay decision against a real relay database in a scratch
 * directory, read by a real relay lookup worker (a session never opens the database itself), with
 * a fake clock: every reason, deny winning, tricks never relaying, expiry, a transaction asking
 * once, a temporary failure when the database cannot be read or no worker answers.
 */

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/lookup.h"
#include "relaydb/relaydb.h"
#include "smtpd/smtp_policy.h"
#include "check_run.h"
#include "testlib.h"

static char dir[TL_PATH_MAX];
static pid_t worker = -1;

static void setup(void)
{
	tl_scratch(dir, sizeof(dir), "check_smtp_policy");
	ck_assert_int_eq(mkdir(tl_path(dir, RELAY_LOOKUP_DIR), 0750), 0); /* the master's, in popgated */
}

static void teardown(void)
{
	if (worker > 0) {
		kill(worker, SIGKILL);
		waitpid(worker, NULL, 0);
		worker = -1;
	}
	tl_rm_rf(dir);
}

/* start_worker - the relay lookup worker for CFG in a child, and wait (up to 60 s) for its socket. */
static void start_worker(const struct config *cfg)
{
	static volatile sig_atomic_t never;
	char path[TL_PATH_MAX];
	struct stat st;

	ck_assert_int_eq(relay_lookup_path(cfg, path, sizeof(path)), 0);
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0)
		_exit(relaydb_lookupd_run(cfg, -1, -1, &never));
	for (int i = 0; i < 6000 && stat(path, &st) < 0; i++)
		(void)poll(NULL, 0, 10);
	ck_assert_msg(stat(path, &st) == 0, "the lookup worker never listened on %s", path);
}

/* config - relay lists and domains for a test; the database lives in the scratch directory. */
static struct config *config(const char *allow, const char *deny)
{
	return tl_configf("[server]\nstate_dir = %s\n[relay]\ndb_dir = %s/relay\ntimeout = 30m\nallow = %s\ndeny = %s\n"
			  "[smtp]\nrelay_domains = example.org, .backup.example\n",
			  dir, dir, allow, deny);
}

static struct smtp_addr addr(const char *path)
{
	struct smtp_addr a;
	const char *p = path;

	ck_assert_int_eq(smtp_addr_parse(&p, &a), SMTP_ADDR_OK);
	return a;
}

/* authorize - a POP login from IP at NOW, as the POP3 server's hook would record it. */
static void authorize(struct config *cfg, const char *ip, time_t now)
{
	struct relaydb *db = NULL;
	char err[256];

	ck_assert_msg(relaydb_open(cfg, &db, err, sizeof(err)) == 0, "relaydb_open: %s", err);
	ck_assert_int_eq(relaydb_authorize(db, ip, "alice", "pop3", 30 * 60, now), 0);
	relaydb_close(&db);
}

START_TEST(test_relay_domains)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr a;

	start_worker(cfg);
	smtp_policy_init(&pol, cfg, "192.0.2.7");
	a = addr("<bob@example.org>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_RELAY_DOMAIN);
	a = addr("<bob@mail.EXAMPLE.org>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_RELAY_DOMAIN);
	a = addr("<bob@mx.backup.example>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_RELAY_DOMAIN);
	a = addr("<postmaster>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_POSTMASTER);
	a = addr("<bob@notexample.org>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_UNKNOWN);
	a = addr("<bob@example.org.evil.com>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_UNKNOWN);
	a = addr("<bob@[192.0.2.1]>");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, NULL, 1000, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

START_TEST(test_tricks_never_relay)
{
	static const char *const tricks[] = {
		"<bob%evil.com@example.org>", "<evil.com!bob@example.org>", "<@example.org:bob@evil.com>",
		"<\"bob@evil.com\"@example.org>", "<bob@example.org.>",
	};
	struct config *cfg = config("192.0.2.0/24", "");
	struct smtp_policy pol;

	smtp_policy_init(&pol, cfg, "192.0.2.7");
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		struct smtp_addr a = addr(tricks[i]);

		/* Not for our domains, not for the allow list, not for an authenticated user. */
		ck_assert_int_eq(smtp_policy_rcpt(&pol, &a, "alice", 1000, NULL), SMTP_VERDICT_TRICK);
		ck_assert(!smtp_verdict_accepts(SMTP_VERDICT_TRICK));
	}
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

START_TEST(test_lists_and_auth)
{
	struct config *cfg = config("192.0.2.0/24", "192.0.2.66, 2001:db8::/32");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>"), local = addr("<bob@example.org>");

	start_worker(cfg);
	smtp_policy_init(&pol, cfg, "192.0.2.7");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, 1000, NULL), SMTP_VERDICT_ALLOW_LIST);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, "alice", 1000, NULL), SMTP_VERDICT_SMTP_AUTH);
	smtp_policy_close(&pol);
	/* relay.deny wins over the allow list, authentication and even our own domains. */
	smtp_policy_init(&pol, cfg, "192.0.2.66");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, 1000, NULL), SMTP_VERDICT_DENY_LIST);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, "alice", 1000, NULL), SMTP_VERDICT_DENY_LIST);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &local, NULL, 1000, NULL), SMTP_VERDICT_DENY_LIST);
	smtp_policy_close(&pol);
	smtp_policy_init(&pol, cfg, "2001:db8::5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, "alice", 1000, NULL), SMTP_VERDICT_DENY_LIST);
	smtp_policy_close(&pol);
	/* Someone unknown: authentication relays, nothing else does. */
	smtp_policy_init(&pol, cfg, "198.51.100.9");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, "alice", 1000, NULL), SMTP_VERDICT_SMTP_AUTH);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, 1000, NULL), SMTP_VERDICT_UNKNOWN);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, "", 1000, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

START_TEST(test_pop_before_smtp_expiry)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>");
	struct relay_entry e;
	const time_t t0 = 1700000000;

	start_worker(cfg);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0, NULL), SMTP_VERDICT_UNKNOWN);
	authorize(cfg, "203.0.113.5", t0);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, &e), SMTP_VERDICT_AUTHORIZED);
	ck_assert_str_eq(e.user, "alice");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 30 * 60 - 1, NULL), SMTP_VERDICT_AUTHORIZED);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 30 * 60, NULL), SMTP_VERDICT_EXPIRED);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 86400, NULL), SMTP_VERDICT_EXPIRED);
	/* Another address is not covered by 203.0.113.5's login. */
	smtp_policy_close(&pol);
	smtp_policy_init(&pol, cfg, "203.0.113.6");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

/* revoke_entry - popgatectl del's effect: IP's entry removed from the database behind the worker's back. */
static void revoke_entry(struct config *cfg, const char *ip)
{
	struct relaydb *db = NULL;
	char err[256];

	ck_assert_msg(relaydb_open(cfg, &db, err, sizeof(err)) == 0, "relaydb_open: %s", err);
	ck_assert_int_eq(relaydb_del(db, ip), 1);
	relaydb_close(&db);
}

/*
 * A transaction asks the worker once: its later RCPTs take that answer while the entry is
 * unexpired (a stopped worker, which would make an asking RCPT wait 3 s and fail, is not asked),
 * a revocation reaches the next transaction, and the entry's expiry ends the answer even within one.
 */
START_TEST(test_transaction_asks_once)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>");
	struct relay_entry e;
	const time_t t0 = 1700000000;

	start_worker(cfg);
	authorize(cfg, "203.0.113.5", t0);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, NULL), SMTP_VERDICT_AUTHORIZED);
	ck_assert_int_eq(kill(worker, SIGSTOP), 0);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 2, &e), SMTP_VERDICT_AUTHORIZED);
	ck_assert_str_eq(e.user, "alice");
	ck_assert_int_eq(kill(worker, SIGCONT), 0);
	revoke_entry(cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 3, NULL), SMTP_VERDICT_AUTHORIZED);
	/* The next transaction asks again, and hears of the revocation. */
	smtp_policy_end_transaction(&pol);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 4, NULL), SMTP_VERDICT_UNKNOWN);
	/* Within one transaction, the entry's own expiry ends its answer. */
	smtp_policy_end_transaction(&pol);
	authorize(cfg, "203.0.113.5", t0 + 5);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 6, NULL), SMTP_VERDICT_AUTHORIZED);
	revoke_entry(cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 5 + 30 * 60 - 1, NULL), SMTP_VERDICT_AUTHORIZED);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 5 + 30 * 60, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

/*
 * MAIL asks the worker ahead: the first RCPT takes an answer that authorizes and asks again on any
 * other (a login recorded between MAIL and RCPT counts); an answer asked for a transaction that
 * ended unasked (RSET, or only local recipients) is never taken by the next one.
 */
START_TEST(test_mail_asks_ahead)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>");
	const time_t t0 = 1700000000;

	start_worker(cfg);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	smtp_policy_mail(&pol, NULL);
	authorize(cfg, "203.0.113.5", t0);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, NULL), SMTP_VERDICT_AUTHORIZED);
	smtp_policy_end_transaction(&pol);
	smtp_policy_mail(&pol, NULL);
	smtp_policy_end_transaction(&pol);
	revoke_entry(cfg, "203.0.113.5");
	smtp_policy_mail(&pol, NULL);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 2, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_end_transaction(&pol);
	/*
	 * Transactions that never need their answer leave none behind that a later one takes: a
	 * thousand asked while authorized, then a revocation; the next transaction hears of it.
	 */
	authorize(cfg, "203.0.113.5", t0 + 3);
	for (int i = 0; i < 1000; i++) {
		smtp_policy_mail(&pol, NULL);
		smtp_policy_end_transaction(&pol);
	}
	revoke_entry(cfg, "203.0.113.5");
	smtp_policy_mail(&pol, NULL);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 4, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_end_transaction(&pol);
	authorize(cfg, "203.0.113.5", t0 + 5);
	smtp_policy_mail(&pol, NULL);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 6, NULL), SMTP_VERDICT_AUTHORIZED);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

/* wait_logged - wait (up to 60 s) until the captured log holds NEEDLE N times. */
static void wait_logged(const char *needle, int n)
{
	for (int i = 0; i < 6000 && tl_count(tl_captured(), needle) < n; i++)
		(void)poll(NULL, 0, 10);
	ck_assert_int_eq(tl_count(tl_captured(), needle), n);
}

/*
 * An answer that arrived for a transaction that ended is never taken, even when it authorizes:
 * asked while authorized, answered (the worker's log line says so), the transaction ended, the
 * entry revoked; the next check hears of the revocation. Taking it would say AUTHORIZED.
 */
START_TEST(test_an_ended_transactions_answer_is_not_taken)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>");
	const time_t t0 = 1700000000;

	tl_capture();
	log_set_level(LOG_DEBUG);
	start_worker(cfg);
	authorize(cfg, "203.0.113.5", t0);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	smtp_policy_mail(&pol, NULL);
	wait_logged("relaydb: looked up 203.0.113.5: entry", 1);
	smtp_policy_end_transaction(&pol);
	revoke_entry(cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, NULL), SMTP_VERDICT_UNKNOWN);
	smtp_policy_close(&pol);
	config_free(&cfg);
	tl_capture_end();
}
END_TEST

/* A worker that did not answer fails the rest of its transaction at once, and is asked again by the next. */
START_TEST(test_failed_worker_is_asked_by_the_next_transaction)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>");
	const time_t t0 = 1700000000;

	start_worker(cfg);
	authorize(cfg, "203.0.113.5", t0);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	ck_assert_int_eq(kill(worker, SIGSTOP), 0);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, NULL), SMTP_VERDICT_TEMPFAIL);
	ck_assert_int_eq(kill(worker, SIGCONT), 0);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 1, NULL), SMTP_VERDICT_TEMPFAIL);
	smtp_policy_end_transaction(&pol);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, t0 + 2, NULL), SMTP_VERDICT_AUTHORIZED);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

START_TEST(test_db_failure_is_temporary)
{
	struct config *cfg;
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>"), local = addr("<bob@example.org>");
	const char *path = tl_path(dir, "not-a-dir");

	/* db_dir names a regular file: the worker cannot open the environment, and answers so. */
	tl_write_text(path, "");
	cfg = tl_configf("[server]\nstate_dir = %s\n[relay]\ndb_dir = %s/sub\nallow =\n[smtp]\nrelay_domains = example.org\n",
			 dir, path);
	start_worker(cfg);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, 1000, NULL), SMTP_VERDICT_TEMPFAIL);
	ck_assert(!smtp_verdict_accepts(SMTP_VERDICT_TEMPFAIL));
	/* Mail for our own domains does not need the database. */
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &local, NULL, 1000, NULL), SMTP_VERDICT_RELAY_DOMAIN);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

/* No worker answers (none listens): a temporary failure, even for an authorized address. */
START_TEST(test_no_worker_is_temporary)
{
	struct config *cfg = config("", "");
	struct smtp_policy pol;
	struct smtp_addr out = addr("<bob@elsewhere.net>");

	authorize(cfg, "203.0.113.5", 1000);
	smtp_policy_init(&pol, cfg, "203.0.113.5");
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, 1001, NULL), SMTP_VERDICT_TEMPFAIL);
	ck_assert_int_eq(smtp_policy_rcpt(&pol, &out, NULL, 1001, NULL), SMTP_VERDICT_TEMPFAIL);
	smtp_policy_close(&pol);
	config_free(&cfg);
}
END_TEST

START_TEST(test_verdict_text)
{
	ck_assert_str_eq(smtp_verdict_text(SMTP_VERDICT_RELAY_DOMAIN), "relay-domain");
	ck_assert_str_eq(smtp_verdict_text(SMTP_VERDICT_AUTHORIZED), "authorized");
	ck_assert_str_eq(smtp_verdict_text(SMTP_VERDICT_ALLOW_LIST), "allow-list");
	ck_assert_str_eq(smtp_verdict_text(SMTP_VERDICT_SMTP_AUTH), "smtp-auth");
	ck_assert_str_eq(smtp_verdict_text(SMTP_VERDICT_DENY_LIST), "deny-list");
	for (int v = 0; v < SMTP_VERDICT_COUNT; v++)
		ck_assert(smtp_verdict_accepts((enum smtp_verdict)v) == (v <= SMTP_VERDICT_AUTHORIZED));
}
END_TEST

/* Only verdicts about the client vouch for it (stress mode never pushes such a session out). */
START_TEST(test_verdict_vouches)
{
	for (int v = 0; v < SMTP_VERDICT_COUNT; v++) {
		bool client = v == SMTP_VERDICT_SMTP_AUTH || v == SMTP_VERDICT_ALLOW_LIST || v == SMTP_VERDICT_AUTHORIZED;
		ck_assert_msg(smtp_verdict_vouches((enum smtp_verdict)v) == client, "%s", smtp_verdict_text((enum smtp_verdict)v));
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("smtp_policy");
	TCase *tc = tcase_create("rcpt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_relay_domains);
	tcase_add_test(tc, test_tricks_never_relay);
	tcase_add_test(tc, test_lists_and_auth);
	tcase_add_test(tc, test_pop_before_smtp_expiry);
	tcase_add_test(tc, test_transaction_asks_once);
	tcase_add_test(tc, test_failed_worker_is_asked_by_the_next_transaction);
	tcase_add_test(tc, test_mail_asks_ahead);
	tcase_add_test(tc, test_an_ended_transactions_answer_is_not_taken);
	tcase_add_test(tc, test_db_failure_is_temporary);
	tcase_add_test(tc, test_no_worker_is_temporary);
	tcase_add_test(tc, test_verdict_text);
	tcase_add_test(tc, test_verdict_vouches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
