/* check_pop3_parse.c - unit tests of the POP3 parsers: numbers, CAPA (command splitting: check_session_cmd; base64 and SASL PLAIN: check_sasl). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/plaintext_policy.h"
#include "pop3d/pop3_int.h"
#include "check_run.h"
#include "testlib.h"

static const struct {
	const char *in;
	int rc;
	unsigned long v;
} numbers[] = {
	{ "1", 0, 1 }, { "0", 0, 0 }, { "42", 0, 42 }, { "007", 0, 7 },
	{ "18446744073709551615", 0, 18446744073709551615UL },
	{ "18446744073709551616", -1, 0 }, { "99999999999999999999999", -1, 0 },
	{ "", -1, 0 }, { "-1", -1, 0 }, { "+1", -1, 0 }, { " 1", -1, 0 }, { "1 ", -1, 0 },
	{ "1a", -1, 0 }, { "a1", -1, 0 }, { "0x10", -1, 0 }, { "1.0", -1, 0 },
};

START_TEST(test_number)
{
	unsigned long v = 12345;
	int rc = pop3_parse_number(numbers[_i].in, &v);

	ck_assert_msg(rc == numbers[_i].rc, "\"%s\": rc %d", numbers[_i].in, rc);
	if (rc == 0)
		ck_assert_uint_eq(v, numbers[_i].v);
	else
		ck_assert_uint_eq(v, 12345); /* untouched on failure */
}
END_TEST

/* capa - the CAPA text for IN under config TEXT. */
static void capa(const char *text, const struct pop3_capa_in *in, char *out, size_t cap)
{
	struct config *cfg = tl_config(text);
	int n = pop3_capa_format(cfg, in, out, cap);

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(out), (size_t)n);
	config_free(&cfg);
}

START_TEST(test_capa_plaintext_ok)
{
	char buf[1024];
	struct pop3_capa_in in = { POP3_AUTHORIZATION, false, true, true };

	capa("", &in, buf, sizeof(buf));
	ck_assert_str_eq(buf, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\nPIPELINING\r\n"
			      "STLS\r\nSASL PLAIN LOGIN\r\nEXPIRE NEVER\r\nAUTH-RESP-CODE\r\n"
			      "IMPLEMENTATION popgate\r\n.\r\n");
}
END_TEST

START_TEST(test_capa_plaintext_refused)
{
	char buf[1024];
	struct pop3_capa_in in = { POP3_AUTHORIZATION, false, true, false };

	capa("[pop3]\nexpire = 30\nlogin_delay = 15m\n", &in, buf, sizeof(buf));
	ck_assert_str_eq(buf, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
			      "STLS\r\nEXPIRE 30\r\nLOGIN-DELAY 900\r\nAUTH-RESP-CODE\r\n"
			      "IMPLEMENTATION popgate\r\n.\r\n");
}
END_TEST

START_TEST(test_capa_tls_active)
{
	char buf[1024];
	struct pop3_capa_in in = { POP3_AUTHORIZATION, true, true, true };

	capa("[pop3]\nexpire =\n", &in, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "STLS"));
	ck_assert_ptr_null(strstr(buf, "EXPIRE"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nUSER\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\nSASL PLAIN LOGIN\r\n"));
}
END_TEST

START_TEST(test_capa_no_tls_configured)
{
	char buf[1024];
	struct pop3_capa_in in = { POP3_AUTHORIZATION, false, false, false };

	capa("", &in, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "STLS"));
	ck_assert_ptr_null(strstr(buf, "USER"));
	ck_assert_ptr_null(strstr(buf, "SASL"));
}
END_TEST

START_TEST(test_capa_transaction)
{
	char buf[1024];
	struct pop3_capa_in in = { POP3_TRANSACTION, false, true, true };

	capa("", &in, buf, sizeof(buf));
	ck_assert_str_eq(buf, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
			      "EXPIRE NEVER\r\nAUTH-RESP-CODE\r\nIMPLEMENTATION popgate\r\n.\r\n");
}
END_TEST

START_TEST(test_capa_too_small)
{
	char buf[40];
	struct config *cfg = tl_config("");
	struct pop3_capa_in in = { POP3_AUTHORIZATION, false, true, true };

	ck_assert_int_eq(pop3_capa_format(cfg, &in, buf, sizeof(buf)), -1);
	config_free(&cfg);
}
END_TEST

static const struct {
	const char *service;
	const char *conf, *ip;
	bool tls, allowed;
} policies[] = {
	{ "pop3", "", "127.0.0.1", false, true },
	{ "pop3", "", "::1", false, true },
	{ "pop3", "", "192.0.2.7", false, false },
	{ "pop3", "", "192.0.2.7", true, true },
	{ "pop3", "[pop3]\nplaintext_auth = always\n", "192.0.2.7", false, true },
	{ "pop3", "[pop3]\ntrusted_networks = 10.0.0.0/8\n", "127.0.0.1", false, false },
	{ "pop3", "[pop3]\ntrusted_networks = 10.0.0.0/8\n", "10.1.2.3", false, true },
	{ "pop3", "[pop3]\ntrusted_networks =\n", "127.0.0.1", false, false },
	{ "pop3", "[pop3]\ntrusted_networks =\n", "127.0.0.1", true, true },
	/* SMTP AUTH follows pop3.trusted_networks until smtp.trusted_networks is set. */
	{ "smtp", "", "127.0.0.1", false, true },
	{ "smtp", "", "192.0.2.7", false, false },
	{ "smtp", "", "192.0.2.7", true, true },
	{ "smtp", "[pop3]\ntrusted_networks = 10.0.0.0/8\n", "10.1.2.3", false, true },
	{ "smtp", "[pop3]\nplaintext_auth = always\n", "192.0.2.7", false, false },
	{ "smtp", "[smtp]\nplaintext_auth = always\n", "192.0.2.7", false, true },
	{ "smtp", "[pop3]\ntrusted_networks = 10.0.0.0/8\n[smtp]\ntrusted_networks =\n", "10.1.2.3", false, false },
	{ "pop3", "[pop3]\ntrusted_networks = 10.0.0.0/8\n[smtp]\ntrusted_networks =\n", "10.1.2.3", false, true },
	{ "smtp", "[smtp]\ntrusted_networks = 192.0.2.0/24\n", "192.0.2.7", false, true },
	{ "smtp", "[smtp]\ntrusted_networks = 192.0.2.0/24\n", "127.0.0.1", false, false },
};

START_TEST(test_plaintext_policy)
{
	struct config *cfg = tl_config(policies[_i].conf);
	struct ip_addr ip;

	ck_assert_int_eq(ip_parse(policies[_i].ip, &ip), 0);
	ck_assert_msg(plaintext_allowed(cfg, policies[_i].service, &ip, policies[_i].tls) == policies[_i].allowed,
		      "case %d", _i);
	config_free(&cfg);
}
END_TEST

START_TEST(test_mailbox_errors)
{
	ck_assert_ptr_nonnull(strstr(pop3_mailbox_error(MAILBOX_IN_USE), "-ERR [IN-USE] "));
	ck_assert_ptr_nonnull(strstr(pop3_mailbox_error(MAILBOX_TEMP), "-ERR [SYS/TEMP] "));
	ck_assert_ptr_nonnull(strstr(pop3_mailbox_error(MAILBOX_PERM), "-ERR [SYS/PERM] "));
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *pop3_parse_suite(void)
{
	Suite *s = suite_create("pop3_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_number, 0, N(numbers));
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_test(tc, test_capa_plaintext_ok);
	tcase_add_test(tc, test_capa_plaintext_refused);
	tcase_add_test(tc, test_capa_tls_active);
	tcase_add_test(tc, test_capa_no_tls_configured);
	tcase_add_test(tc, test_capa_transaction);
	tcase_add_test(tc, test_capa_too_small);
	tcase_add_loop_test(tc, test_plaintext_policy, 0, N(policies));
	tcase_add_test(tc, test_mailbox_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(pop3_parse_suite());
}
