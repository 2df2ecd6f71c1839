/* check_sha512_crypt.c - unit tests of sha512_crypt.c: the form it takes, and the same hashes as libxcrypt. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/sha512_crypt.h"
#include "authtest.h"
#include "check_run.h"

static const char b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* ours - sha512_crypt.c's whole hash of PASS under SETTING ("$6$...$" + 86) into OUT. */
static const char *ours(const char *pass, const char *setting, char *out, size_t cap)
{
	struct sha512_crypt_setting set;
	char h[SHA512_CRYPT_HASH_LEN + 1];

	ck_assert_msg(sha512_crypt_parse(setting, &set), "%s not taken", setting);
	ck_assert_int_eq(sha512_crypt_hash(pass, &set, h), 0);
	ck_assert_uint_lt(set.setting_len + SHA512_CRYPT_HASH_LEN, cap);
	snprintf(out, cap, "%.*s%s", (int)set.setting_len, setting, h);
	return out;
}

/* The usual forms are taken; every other is left to libxcrypt. */
START_TEST(test_parse)
{
	static const char *const taken[] = {
		"$6$salt$", "$6$s$", "$6$0123456789abcdef$", "$6$./AZaz09$", "$6$rounds=1000$s$",
		"$6$rounds=5000$s$", "$6$rounds=999999999$s$",
	};
	static const char *const left[] = {
		"$6$$", "$6$salt", "$6$", "$5$salt$", "$y$j9T$salt$", "6$salt$", "$6$sa:lt$", "$6$sa lt$",
		"$6$0123456789abcdefg$", "$6$rounds=999$s$", "$6$rounds=01000$s$", "$6$rounds=1000000000$s$",
		"$6$rounds=$s$", "$6$rounds=5000s$", "$6$rounds=-5000$s$", "$6$rounds=18446744073709551617$s$",
		"$6$salt$short", "$6$salt$$",
	};
	struct sha512_crypt_setting set;
	char h[200];

	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		ck_assert_msg(sha512_crypt_parse(taken[i], &set), "%s not taken", taken[i]);
		ck_assert(!set.has_hash);
		ck_assert_uint_eq(set.setting_len, strlen(taken[i]));
	}
	ck_assert(sha512_crypt_parse("$6$rounds=7777$abc$", &set));
	ck_assert_uint_eq(set.rounds, 7777);
	ck_assert_uint_eq(set.salt_len, 3);
	ck_assert(sha512_crypt_parse("$6$abc$", &set));
	ck_assert_uint_eq(set.rounds, 5000);
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
		ck_assert_msg(!sha512_crypt_parse(left[i], &set), "%s taken", left[i]);

	/* The hash part: none, or exactly 86 characters of the alphabet. */
	snprintf(h, sizeof(h), "$6$salt$%.86s", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij");
	ck_assert(sha512_crypt_parse(h, &set));
	ck_assert(set.has_hash);
	h[strlen(h) - 1] = '!';
	ck_assert(!sha512_crypt_parse(h, &set));
	h[strlen(h) - 1] = '\0';
	ck_assert(!sha512_crypt_parse(h, &set)); /* 85 */
	snprintf(h, sizeof(h), "$6$salt$%.86sx", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij");
	ck_assert(!sha512_crypt_parse(h, &set)); /* 87 */
}
END_TEST

/* next - a small deterministic generator, so a failure names inputs that can be made again. */
static unsigned long next(unsigned long *state)
{
	*state = *state * 6364136223846793005UL + 1442695040888963407UL;
	return *state >> 33;
}

/*
 * The same hashes as libxcrypt, for passwords of every length up to 300 bytes (any byte but NUL),
 * salts of 1-16 characters and rounds around the edges of the loop's 2, 3 and 7 cycles.
 */
START_TEST(test_same_as_libxcrypt)
{
	static const char *const rounds[] = { "", "rounds=1000$", "rounds=1001$", "rounds=1005$", "rounds=5000$" };
	unsigned long state = 0x5eed0000UL + (unsigned long)_i;
	char pass[301], setting[64], salt[17], want[256], got[256];

	for (int n = 0; n < 120; n++) {
		size_t plen = n < 40 ? (size_t)n : next(&state) % 301, slen = 1 + next(&state) % 16;

		for (size_t i = 0; i < plen; i++)
			pass[i] = (char)(1 + next(&state) % 255);
		pass[plen] = '\0';
		for (size_t i = 0; i < slen; i++)
			salt[i] = b64[next(&state) % 64];
		salt[slen] = '\0';
		snprintf(setting, sizeof(setting), "$6$%s%s$", rounds[n % 5], salt);
		ck_assert_ptr_nonnull(authtest_crypt(pass, setting, want, sizeof(want)));
		ck_assert_msg(strcmp(ours(pass, setting, got, sizeof(got)), want) == 0,
			      "password of %zu bytes, setting %s: %s, libxcrypt %s", plen, setting, got, want);
	}
}
END_TEST

/* Default rounds (5000), the case every login takes, for a few ordinary passwords. */
START_TEST(test_default_rounds)
{
	static const char *const passes[] = { "", "x", "Bench-pass 1", "correct horse battery staple",
					      "\xc3\xa9t\xc3\xa9 \xe2\x82\xac" };
	char want[256], got[256];

	for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++) {
		authtest_crypt(passes[i], "$6$abcdefgh$", want, sizeof(want));
		ck_assert_str_eq(ours(passes[i], "$6$abcdefgh$", got, sizeof(got)), want);
		/* auth_verify_hash takes this path: right and wrong passwords, and the hash with one character changed. */
		ck_assert(auth_verify_hash(passes[i], want));
		ck_assert(!auth_verify_hash("wrong", want));
		want[strlen(want) - 2] = want[strlen(want) - 2] == 'a' ? 'b' : 'a';
		ck_assert(!auth_verify_hash(passes[i], want));
	}
}
END_TEST

/* A passphrase of 512 bytes or more is refused here, as libxcrypt refuses it. */
START_TEST(test_too_long)
{
	struct sha512_crypt_setting set;
	char *pass = malloc(SHA512_CRYPT_PASS_MAX + 1), h[SHA512_CRYPT_HASH_LEN + 1];

	ck_assert_ptr_nonnull(pass);
	memset(pass, 'p', SHA512_CRYPT_PASS_MAX);
	pass[SHA512_CRYPT_PASS_MAX] = '\0';
	ck_assert(sha512_crypt_parse("$6$salt$", &set));
	ck_assert_int_eq(sha512_crypt_hash(pass, &set, h), -1);
	pass[SHA512_CRYPT_PASS_MAX - 1] = '\0';
	ck_assert_int_eq(sha512_crypt_hash(pass, &set, h), 0);
	free(pass);
}
END_TEST

static Suite *sha512_crypt_suite(void)
{
	Suite *s = suite_create("sha512_crypt");
	TCase *tc = tcase_create("sha512_crypt");

	tcase_add_test(tc, test_parse);
	tcase_add_loop_test(tc, test_same_as_libxcrypt, 0, 4);
	tcase_add_test(tc, test_default_rounds);
	tcase_add_test(tc, test_too_long);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(sha512_crypt_suite());
}
