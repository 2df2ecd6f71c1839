/* check_report_budget.c - unit tests of the reports a session's protocol child may pass on. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>

#include "common/report_budget.h"
#include "check_run.h"

enum { B = SESSION_TXN_BEGIN, H = SESSION_TXN_HANDOFF, R = SESSION_MSG_RELAYED, E = SESSION_TXN_END,
       K = SESSION_CLIENT_KNOWN, D = SESSION_MSG_DENIED, OK = SESSION_AUTH_OK, F = SESSION_AUTH_FAIL,
       HD = SESSION_HOP_DEFERRED, HF = SESSION_HOP_FAILED, TF = SESSION_TLS_FAILED, TT = SESSION_TLS_TIMEOUT };

/* Each case: a sequence of events and which of them pass ('+') or are dropped ('-'). */
static const struct {
	const char *what;
	int ev[12];
	const char *pass;
} seqs[] = {
	{ "a relayed message", { K, B, H, R, E }, "+++++" },
	{ "a deferred message, then a second that is relayed", { B, H, E, B, H, R, E }, "+++++++" },
	{ "reset before DATA", { B, E, B, E }, "++++" },
	{ "relayed without a hand-off", { B, R, E }, "+-+" },
	{ "relayed outside a transaction", { R, H, E }, "---" },
	{ "twice in one transaction", { B, B, H, H, R, R, E, E }, "+-+-+-+-" },
	{ "the client vouched for once a session", { K, B, K, E, K }, "++-+-" },
	{ "logins are the monitor's to report", { OK, F, 0, 99 }, "----" },
	{ "denials up to smtp.max_errors (3 here)", { D, B, D, D, E, D, D }, "+++++--" },
	{ "a hand-off's one outcome, whichever", { B, H, HD, R, HF, E, B, H, HF, HD, E }, "+++--++++-+" },
	{ "a deferral needs a hand-off", { HD, B, HF, E }, "-+-+" },
	{ "one failed TLS handshake a session", { TF, TT, TF }, "+--" },
	{ "a handshake that timed out", { TT, TF }, "+-" },
};

START_TEST(transaction_order)
{
	struct report_budget b;
	const char *want = seqs[_i].pass;
	unsigned long drops = 0;

	report_budget_init(&b, 3);
	for (size_t i = 0; want[i] != '\0'; i++) {
		bool pass = report_budget_take(&b, (enum session_event)seqs[_i].ev[i]);
		ck_assert_msg(pass == (want[i] == '+'), "%s: event %zu (%d) %s", seqs[_i].what, i,
			      seqs[_i].ev[i], pass ? "passed" : "was dropped");
		drops += !pass;
	}
	ck_assert_uint_eq(b.dropped, drops);
}
END_TEST

START_TEST(transactions_capped_per_session)
{
	struct report_budget b;
	unsigned passed = 0;

	report_budget_init(&b, 10);
	for (unsigned t = 0; t < REPORT_BUDGET_TXNS + 50; t++) {
		static const enum session_event txn[] = { SESSION_TXN_BEGIN, SESSION_TXN_HANDOFF,
							  SESSION_MSG_RELAYED, SESSION_TXN_END };
		for (size_t i = 0; i < 4; i++)
			passed += report_budget_take(&b, txn[i]);
	}
	ck_assert_uint_eq(passed, 4 * REPORT_BUDGET_TXNS);
	ck_assert_uint_eq(b.dropped, 4 * 50);
	/* A flood of one event passes at most once between transactions. */
	report_budget_init(&b, 10);
	passed = 0;
	for (int i = 0; i < 100000; i++)
		passed += report_budget_take(&b, SESSION_MSG_RELAYED) + report_budget_take(&b, SESSION_MSG_DENIED) +
			  report_budget_take(&b, SESSION_CLIENT_KNOWN);
	ck_assert_uint_eq(passed, 10 + 1);
}
END_TEST

START_TEST(relaydb_errors_capped_per_session)
{
	struct report_budget b;
	unsigned passed = 0;

	report_budget_init(&b, 3);
	for (int i = 0; i < 10000; i++)
		passed += report_budget_take(&b, SESSION_RELAYDB_ERROR);
	ck_assert_uint_eq(passed, REPORT_BUDGET_DB_ERRORS);
	ck_assert_uint_eq(b.dropped, 10000 - REPORT_BUDGET_DB_ERRORS);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("report_budget");
	TCase *tc = tcase_create("budget");

	tcase_add_loop_test(tc, transaction_order, 0, sizeof(seqs) / sizeof(seqs[0]));
	tcase_add_test(tc, transactions_capped_per_session);
	tcase_add_test(tc, relaydb_errors_capped_per_session);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
