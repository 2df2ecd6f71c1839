/* check_auth_blocks.c - blocked accounts (auth/blocks.c): set, replace, lift, expiry, the login verdict, bad lines. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "auth/blocks.h"
#include "authtest.h"
#include "check_run.h"

static struct config *cfg;

static void setup(void)
{
	cfg = tl_configf("[server]\nstate_dir = %s\n", authtest_dir);
}

static void teardown(void)
{
	char path[128];

	config_free(&cfg);
	remove(tl_pathbuf(path, sizeof(path), authtest_dir, AUTH_BLOCKS_FILE));
}

static struct auth_block block(const char *user, int64_t since, int64_t until, bool pop, const char *note)
{
	struct auth_block b = { .since = since, .until = until, .pop = pop };

	snprintf(b.user, sizeof(b.user), "%s", user);
	snprintf(b.by, sizeof(b.by), "helen");
	snprintf(b.note, sizeof(b.note), "%s", note);
	return b;
}

START_TEST(test_set_find_replace_lift)
{
	struct auth_block a = block("alice", 1000, 0, false, "spam run"), got;
	struct auth_block b = block("bob", 1000, 5000, true, "");
	char err[256];

	ck_assert_int_eq(auth_block_find(cfg, "alice", 1000, NULL), 0);   /* no file yet: nobody */
	ck_assert_int_eq(auth_block_set(cfg, &a, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(auth_block_set(cfg, &b, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(auth_block_find(cfg, "alice", 99999999, &got), 1);
	ck_assert_str_eq(got.note, "spam run");
	ck_assert_str_eq(got.by, "helen");
	ck_assert_int_eq(got.until, 0);
	/* bob's block ends at 5000. */
	ck_assert_int_eq(auth_block_find(cfg, "bob", 4999, &got), 1);
	ck_assert(got.pop);
	ck_assert_int_eq(auth_block_find(cfg, "bob", 5000, NULL), 0);
	/* A second block of alice replaces the first. */
	a = block("alice", 2000, 3000, true, "again");
	ck_assert_int_eq(auth_block_set(cfg, &a, 2000, err, sizeof(err)), 0);
	struct auth_blocks all;
	ck_assert_int_eq(auth_blocks_load(cfg, &all, 2000), 0);
	ck_assert_uint_eq(all.n, 2);
	auth_blocks_free(&all);
	ck_assert_int_eq(auth_block_find(cfg, "alice", 2000, &got), 1);
	ck_assert_str_eq(got.note, "again");
	ck_assert_int_eq(auth_block_lift(cfg, "alice", 2000, err, sizeof(err)), 1);
	ck_assert_int_eq(auth_block_lift(cfg, "alice", 2000, err, sizeof(err)), 0);
	ck_assert_int_eq(auth_block_find(cfg, "alice", 2000, NULL), 0);
	ck_assert_int_eq(auth_block_find(cfg, "bob", 2000, NULL), 1);
}
END_TEST

START_TEST(test_login_verdict)
{
	struct auth_block a = block("alice", 1000, 0, false, ""), b = block("bob", 1000, 0, true, "");
	char err[256];
	bool relay;

	ck_assert_int_eq(auth_block_set(cfg, &a, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(auth_block_set(cfg, &b, 1000, err, sizeof(err)), 0);
	/* alice: POP works without relaying, SMTP AUTH is refused. */
	ck_assert_int_eq(auth_block_login(cfg, "alice", "pop3", 1000, &relay), AUTH_OK);
	ck_assert(!relay);
	ck_assert_int_eq(auth_block_login(cfg, "alice", "pop3s", 1000, &relay), AUTH_OK);
	ck_assert(!relay);
	ck_assert_int_eq(auth_block_login(cfg, "alice", "smtp", 1000, &relay), AUTH_REFUSED);
	/* bob: refused everywhere. */
	ck_assert_int_eq(auth_block_login(cfg, "bob", "pop3", 1000, &relay), AUTH_REFUSED);
	ck_assert_int_eq(auth_block_login(cfg, "bob", "smtp", 1000, &relay), AUTH_REFUSED);
	/* carol: not blocked. */
	ck_assert_int_eq(auth_block_login(cfg, "carol", "smtp", 1000, &relay), AUTH_OK);
	ck_assert(relay);
}
END_TEST

START_TEST(test_refuses_what_would_add_a_field)
{
	struct auth_block a = block("alice", 1000, 0, false, "tab\there");
	char err[256];

	ck_assert_int_eq(auth_block_set(cfg, &a, 1000, err, sizeof(err)), -1);
	a = block("alice", 1000, 0, false, "line\nbreak");
	ck_assert_int_eq(auth_block_set(cfg, &a, 1000, err, sizeof(err)), -1);
	a = block("../etc", 1000, 0, false, "");
	ck_assert_int_eq(auth_block_set(cfg, &a, 1000, err, sizeof(err)), -1);
	ck_assert_int_eq(auth_block_find(cfg, "alice", 1000, NULL), 0);
}
END_TEST

START_TEST(test_bad_lines_skipped_and_logged_once)
{
	char path[128];
	struct auth_blocks all;

	tl_write_text(tl_pathbuf(path, sizeof(path), authtest_dir, AUTH_BLOCKS_FILE),
		       "# comment\n"
		       "alice\t10\t0\t0\thelen\tok\n"
		       "bob\tten\t0\t0\thelen\tbad since\n"
		       "carol\t10\t0\t2\thelen\tbad pop\n"
		       "dave\t10\t0\t0\thelen\n"
		       "erin\t10\t0\t1\thelen\tnote\textra\n");
	tl_capture();
	ck_assert_int_eq(auth_blocks_load(cfg, &all, 20), 0);
	ck_assert_uint_eq(all.n, 1);
	ck_assert_str_eq(all.v[0].user, "alice");
	auth_blocks_free(&all);
	ck_assert_int_eq(auth_blocks_load(cfg, &all, 20), 0);
	auth_blocks_free(&all);
	ck_assert_int_eq(tl_count(tl_captured(), "entry skipped"), 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_blocks");
	TCase *tc = tcase_create("blocks");

	tcase_add_unchecked_fixture(tc, authtest_dir_setup, authtest_dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_set_find_replace_lift);
	tcase_add_test(tc, test_login_verdict);
	tcase_add_test(tc, test_refuses_what_would_add_a_field);
	tcase_add_test(tc, test_bad_lines_skipped_and_logged_once);
	suite_add_tcase(s, tc);
	return check_run(s);
}
