/* check_sasl.c - the SASL kit POP3 and SMTP share: strict base64 both ways, PLAIN and LOGIN answers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sasl.h"
#include "check_run.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* dec - the decoded length of TEXT, or -1, in the shape the SMTP tests were written in. */
static long dec(const char *text, unsigned char *out, size_t cap)
{
	size_t len;

	return sasl_b64_decode(text, strlen(text), out, cap, &len) < 0 ? -1 : (long)len;
}

static const struct {
	const char *in;
	int rc;
	const char *out;
	size_t outlen;
} b64[] = {
	{ "", 0, "", 0 },
	{ "Zg==", 0, "f", 1 },
	{ "Zm8=", 0, "fo", 2 },
	{ "Zm9v", 0, "foo", 3 },
	{ "Zm9vYmFy", 0, "foobar", 6 },
	{ "AGFsaWNlAHNlY3JldA==", 0, "\0alice\0secret", 13 },
	{ "+/+/", 0, "\xfb\xff\xbf", 3 },
	{ "Zg", -1, NULL, 0 },        /* not a multiple of 4 */
	{ "Zg=", -1, NULL, 0 },
	{ "Z===", -1, NULL, 0 },      /* padding in the first two digits */
	{ "====", -1, NULL, 0 },
	{ "Zg==Zm9v", -1, NULL, 0 },  /* padding before the end */
	{ "Zm=v", -1, NULL, 0 },      /* a digit after padding */
	{ "Zm9v\r\n", -1, NULL, 0 },
	{ "Zm 9", -1, NULL, 0 },
	{ "Zm9-", -1, NULL, 0 },      /* base64url is not base64 */
	{ "Zm9_", -1, NULL, 0 },
	{ "*", -1, NULL, 0 },
	{ "Zh==", -1, NULL, 0 },      /* non-zero pad bits: another spelling of "Zg==" */
	{ "Zm9=", -1, NULL, 0 },
	{ "Zm9vYmE=", 0, "fooba", 5 },
	{ " Zm9v", -1, NULL, 0 },     /* OpenSSL would skip leading white space */
	{ "Zm9v\n", -1, NULL, 0 },
	{ "Zm9v=", -1, NULL, 0 },
};

START_TEST(test_base64)
{
	unsigned char out[64];
	size_t len = 99;
	int rc = sasl_b64_decode(b64[_i].in, strlen(b64[_i].in), out, sizeof(out), &len);

	ck_assert_msg(rc == b64[_i].rc, "\"%s\": rc %d", b64[_i].in, rc);
	if (rc == 0) {
		ck_assert_uint_eq(len, b64[_i].outlen);
		ck_assert(memcmp(out, b64[_i].out, len) == 0);
	}
}
END_TEST

START_TEST(test_base64_room)
{
	unsigned char out[5];
	size_t len;

	/* The decoded octets and a NUL after them. */
	ck_assert_int_eq(sasl_b64_decode("Zm9v", 4, out, 4, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_str_eq((char *)out, "foo");
	ck_assert_int_eq(sasl_b64_decode("Zm9v", 4, out, 3, &len), -1);
	ck_assert_int_eq(sasl_b64_decode("Zm9vYg==", 8, out, 5, &len), 0);
	ck_assert_int_eq(sasl_b64_decode("Zm9vYg==", 8, out, 4, &len), -1);
	/* A pad quartet's triplet is written whole by OpenSSL: it must not run past a short OUT. */
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(sasl_b64_decode("Zg==", 4, out, 2, &len), 0);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(out[2], 'x');
}
END_TEST

static const struct {
	const char *in;
	size_t len;
	int rc;
	const char *user, *pass;
} plains[] = {
	{ "\0alice\0secret", 13, 0, "alice", "secret" },
	{ "alice\0alice\0secret", 18, 0, "alice", "secret" },
	{ "\0alice\0", 7, 0, "alice", "" },
	{ "\0alice\0pass with spaces", 23, 0, "alice", "pass with spaces" },
	{ "bob\0alice\0secret", 16, -2, NULL, NULL },    /* acting as someone else */
	{ "alic\0alice\0secret", 17, -2, NULL, NULL },
	{ "\0\0secret", 8, -1, NULL, NULL },             /* empty authcid: refused by POP3 and SMTP alike */
	{ "\0\0", 2, -1, NULL, NULL },
	{ "alice\0secret", 12, -1, NULL, NULL },         /* one NUL only */
	{ "alicesecret", 11, -1, NULL, NULL },
	{ "\0alice\0sec\0ret", 14, -1, NULL, NULL },      /* NUL inside the password */
	{ "", 0, -1, NULL, NULL },
	{ "\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0x", 45, -1, NULL, NULL }, /* user too long for 16 */
};

START_TEST(test_plain)
{
	char user[16], pass[32];
	const char *why = NULL;
	int rc = sasl_plain_parse((const unsigned char *)plains[_i].in, plains[_i].len, user, sizeof(user),
				       pass, sizeof(pass), &why);

	ck_assert_msg(rc == plains[_i].rc, "case %d: rc %d", _i, rc);
	if (rc == 0) {
		ck_assert_str_eq(user, plains[_i].user);
		ck_assert_str_eq(pass, plains[_i].pass);
	} else {
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(test_encode)
{
	unsigned char out[64];
	char enc[64];

	ck_assert_int_eq(dec("AGFsaWNlAHNlY3JldA==", out, sizeof(out)), 13);
	ck_assert_int_eq(memcmp(out, "\0alice\0secret", 13), 0);
	ck_assert_int_eq(dec("", out, sizeof(out)), 0);
	ck_assert_int_eq(dec("Zm9v", out, sizeof(out)), 3);
	ck_assert_str_eq((char *)out, "foo");
	ck_assert_int_eq(dec("Zm9vYg==", out, sizeof(out)), 4);
	ck_assert_int_eq(dec("Zm9vYmE=", out, sizeof(out)), 5);
	ck_assert_int_eq(dec("Zm9vYh==", out, sizeof(out)), -1); /* non-zero pad bits */
	ck_assert_int_eq(dec("Zm9", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("Zm=v", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("Zg==Zg==", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("Zm9v YmFy", out, sizeof(out)), -1);
	ck_assert_int_eq(dec("Zm9vYmFy", out, 4), -1);
	ck_assert_int_eq(sasl_b64_encode("\0alice\0secret", 13, enc, sizeof(enc)), 20);
	ck_assert_str_eq(enc, "AGFsaWNlAHNlY3JldA==");
	ck_assert_int_eq(sasl_b64_encode("foobar", 6, enc, 8), -1);
}
END_TEST

START_TEST(test_login_field)
{
	char out[8];

	ck_assert_int_eq(sasl_login_field((const unsigned char *)"alice", 5, out, sizeof(out), false), 0);
	ck_assert_str_eq(out, "alice");
	ck_assert_int_eq(sasl_login_field((const unsigned char *)"", 0, out, sizeof(out), false), -1);
	ck_assert_int_eq(sasl_login_field((const unsigned char *)"", 0, out, sizeof(out), true), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(sasl_login_field((const unsigned char *)"al\0ce", 5, out, sizeof(out), false), -1);
	ck_assert_int_eq(sasl_login_field((const unsigned char *)"12345678", 8, out, sizeof(out), true), -1);
	ck_assert_int_eq(sasl_login_field((const unsigned char *)"1234567", 7, out, sizeof(out), true), 0);
}
END_TEST

/* Every 0..3-octet tail and a longer text survive a round trip, and encoding refuses a short OUT. */
START_TEST(test_round_trip)
{
	unsigned char in[64], out[64];
	char enc[100];
	size_t len;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n < sizeof(in); n++) {
		long e = sasl_b64_encode(in, n, enc, sizeof(enc));

		ck_assert_int_eq(e, (long)((n + 2) / 3 * 4));
		ck_assert_int_eq(sasl_b64_decode(enc, (size_t)e, out, sizeof(out), &len), 0);
		ck_assert_uint_eq(len, n);
		ck_assert(memcmp(in, out, n) == 0);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc = tcase_create("sasl");

	tcase_add_loop_test(tc, test_base64, 0, N(b64));
	tcase_add_test(tc, test_base64_room);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_plain, 0, N(plains));
	tcase_add_test(tc, test_login_field);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
