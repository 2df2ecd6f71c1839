/* check_auth_burn.c - unit tests of the check a failed login spends: the kind of hash most users have. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "authtest.h"
#include "check_run.h"
#include "common/config.h"

/* The schemes a passwd file may hold whose check costs enough to time; DES costs microseconds. */
static const char *const schemes[] = { "$y$", "$6$", "$2b$", "$1$" };

/*
 * The setting kept for a kind is all crypt(3) needs to hash the same way: with the user's own
 * password it gives back the user's own hash, so scheme, cost and salt are all there.
 */
START_TEST(test_setting_hashes_the_same_way)
{
	static const char *const all[] = { "$y$", "$6$", "$2b$", "$1$", "" };
	struct auth_burn_tally t;
	char hash[CRYPT_OUTPUT_SIZE], again[CRYPT_OUTPUT_SIZE];
	const char *setting;
	size_t n;

	auth_burn_tally_reset(&t);
	authtest_hash(all[_i], "pass word", hash, sizeof(hash));
	auth_burn_tally_add(&t, hash);
	setting = auth_burn_tally_pick(&t, &n);
	ck_assert_ptr_nonnull(setting);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strlen(setting) < strlen(hash), "%s is the whole hash %s", setting, hash);
	ck_assert_str_eq(authtest_crypt("pass word", setting, again, sizeof(again)), hash);
}
END_TEST

/* Kinds are told apart by scheme and cost, not salt; the kind most hashes are wins. */
START_TEST(test_most_hashes_win)
{
	struct auth_burn_tally t;
	char h[CRYPT_OUTPUT_SIZE], locked[CRYPT_OUTPUT_SIZE + 1];
	const char *setting;
	size_t n;

	auth_burn_tally_reset(&t);
	ck_assert_ptr_null(auth_burn_tally_pick(&t, &n));
	ck_assert_uint_eq(n, 0);
	for (int i = 0; i < 2; i++) {
		authtest_hash("$6$", "x", h, sizeof(h));
		auth_burn_tally_add(&t, h);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(h, sizeof(h), "$6$rounds=6000$salt%d$%086d", i, 0);
		auth_burn_tally_add(&t, h);
	}
	authtest_hash("$y$", "x", h, sizeof(h));
	auth_burn_tally_add(&t, h);
	/* Locked and empty hashes cost nothing to refuse: they are not counted at all. */
	snprintf(locked, sizeof(locked), "!%s", h);
	auth_burn_tally_add(&t, locked);
	auth_burn_tally_add(&t, "*");
	auth_burn_tally_add(&t, "");
	setting = auth_burn_tally_pick(&t, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(t.total, 6);
	ck_assert_str_eq(setting, "$6$rounds=6000$salt0$");
}
END_TEST

/* A ninth kind is not kept, and does not disturb the eight that are. */
START_TEST(test_kinds_are_bounded)
{
	struct auth_burn_tally t;
	char h[128];
	size_t n;

	auth_burn_tally_reset(&t);
	for (int i = 0; i < AUTH_BURN_KINDS + 4; i++) {
		snprintf(h, sizeof(h), "$6$rounds=%d$salt$%086d", 1000 + i, 0);
		for (int j = 0; j <= (i == 2); j++)
			auth_burn_tally_add(&t, h);
	}
	ck_assert_uint_eq(t.kinds, AUTH_BURN_KINDS);
	ck_assert_str_eq(auth_burn_tally_pick(&t, &n), "$6$rounds=1002$salt$");
	ck_assert_uint_eq(n, 2);
}
END_TEST

/* ---- what a failed login costs ---- */

/* file_cfg - the file backend reading PASSWD, server.user nobody. */
static struct config *file_cfg(const char *passwd)
{
	return tl_configf("[server]\nuser = nobody\n[auth]\nbackend = file\npasswd_file = %s\n", passwd);
}

/*
 * median_ms - median CPU time of 5 auth_password calls. CPU time, not wall time: the checks are
 * the process's own work, and a machine busy with other programs stretches wall time by any factor
 * (a loaded 2-core machine gave 67 ms against 207 for the same work).
 */
static double median_ms(const struct config *cfg, const char *user, const char *pass)
{
	double t[5];

	for (int i = 0; i < 5; i++) {
		struct timespec a, b;
		struct auth_user u;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		ck_assert_int_eq(auth_password(cfg, user, pass, &u), AUTH_FAIL);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	}
	for (int i = 1; i < 5; i++)
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double x = t[j];

			t[j] = t[j - 1], t[j - 1] = x;
		}
	return t[2];
}

/* alike - assert that COST is within 3x of WRONG either way; NAME says which. */
static void alike(const char *scheme, const char *name, double cost, double wrong)
{
	printf("check_auth_burn: %s users: wrong password %.3f ms, %s %.3f ms\n", scheme, wrong, name, cost);
	ck_assert_msg(cost > wrong / 3 && cost < wrong * 3, "%s users: %s %.3f ms, wrong password %.3f ms",
		      scheme, name, cost, wrong);
}

/*
 * Unknown user, wrong password and bad name: one answer and one cost, whatever scheme the users'
 * hashes are. Before, an unknown name always cost a yescrypt check: 60 ms where a sha512-crypt
 * user's wrong password cost 1, which told anyone which names exist (and multiplied the CPU a
 * name-guessing client could spend) - so the bound is tight both ways.
 */
START_TEST(test_unknown_same_as_wrong)
{
	char h[CRYPT_OUTPUT_SIZE], pw[128], text[1024];
	struct config *cfg;
	double wrong;

	authtest_hash(schemes[_i], "right", h, sizeof(h));
	snprintf(text, sizeof(text), "ann:%s:mbox:/m/ann:5000:5000\n", h);
	tl_write_text(tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd"), text);
	cfg = file_cfg(pw);
	tl_capture();
	/* The file was just written, so each of these lookups reads it again: the kind is logged once. */
	wrong = median_ms(cfg, "ann", "wrong");
	ck_assert_msg(tl_count(tl_captured(), "a failed login costs one check like a") == 1, "log: %s", tl_captured());
	tl_capture_end();
	alike(schemes[_i], "unknown user", median_ms(cfg, "nosuchuser", "wrong"), wrong);
	alike(schemes[_i], "bad name", median_ms(cfg, "../x", "wrong"), wrong);
	config_free(&cfg);
}
END_TEST

/* Users of several schemes: an unknown name costs what most of them cost, here sha512-crypt. */
START_TEST(test_mixed_file_costs_most_users_kind)
{
	char h[CRYPT_OUTPUT_SIZE], pw[128], text[2048];
	size_t len = 0;
	struct config *cfg;

	for (int i = 0; i < 3; i++) {
		authtest_hash("$6$", "right", h, sizeof(h));
		len += (size_t)snprintf(text + len, sizeof(text) - len, "six%d:%s:mbox:/m/six%d:5000:5000\n", i, h, i);
	}
	authtest_hash("$y$", "right", h, sizeof(h));
	len += (size_t)snprintf(text + len, sizeof(text) - len, "why:%s:mbox:/m/why:5000:5000\n", h);
	ck_assert_uint_lt(len, sizeof(text));
	tl_write_text(tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd"), text);
	cfg = file_cfg(pw);
	alike("mixed", "unknown user", median_ms(cfg, "nosuchuser", "wrong"), median_ms(cfg, "six1", "wrong"));
	config_free(&cfg);
}
END_TEST

static Suite *burn_suite(void)
{
	Suite *s = suite_create("auth_burn");
	TCase *tc = tcase_create("tally");

	tcase_add_loop_test(tc, test_setting_hashes_the_same_way, 0, 5);
	tcase_add_test(tc, test_most_hashes_win);
	tcase_add_test(tc, test_kinds_are_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("cost");
	tcase_add_unchecked_fixture(tc, authtest_dir_setup, authtest_dir_teardown);
	tcase_add_loop_test(tc, test_unknown_same_as_wrong, 0, sizeof(schemes) / sizeof(schemes[0]));
	tcase_add_test(tc, test_mixed_file_costs_most_users_kind);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(burn_suite());
}
