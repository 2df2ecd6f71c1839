/* check_smtp_clientinfo.c - XFORWARD lines (xtext, the 512-octet limit) and sendmail's -oM arguments. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "smtpd/smtp_clientinfo.h"

START_TEST(xtext)
{
	char out[64];

	ck_assert_int_eq(smtp_xtext("client.example", out, sizeof(out)), 14);
	ck_assert_str_eq(out, "client.example");
	ck_assert_int_eq(smtp_xtext("a+b=c d\r\n\x7f\xe9", out, sizeof(out)), 25);
	ck_assert_str_eq(out, "a+2Bb+3Dc+20d+0D+0A+7F+E9");
	ck_assert_int_eq(smtp_xtext("", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(smtp_xtext("abcd", out, 4), -1);
	ck_assert_int_eq(smtp_xtext("abc", out, 4), 3);
	ck_assert_int_eq(smtp_xtext("ab ", out, 5), -1);    /* "ab+20" needs 6 */
}
END_TEST

START_TEST(one_line_with_everything)
{
	char cmds[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1];
	struct smtp_client_info ci = { .ip = "2001:db8::7", .port = 61000, .helo = "[192.0.2.7]", .esmtp = false,
				       .ident = "1a2b3c" };

	ck_assert_uint_eq(smtp_xforward_commands(&ci, cmds), 1);
	ck_assert_str_eq(cmds[0], "XFORWARD NAME=[UNAVAILABLE] ADDR=2001:db8::7 PORT=61000 PROTO=SMTP "
			 "HELO=[192.0.2.7] IDENT=1a2b3c");
}
END_TEST

START_TEST(unknown_is_unavailable)
{
	char cmds[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1];
	struct smtp_client_info ci = { 0 };

	ck_assert_uint_eq(smtp_xforward_commands(&ci, cmds), 1);
	ck_assert_str_eq(cmds[0], "XFORWARD NAME=[UNAVAILABLE] ADDR=[UNAVAILABLE] PORT=[UNAVAILABLE] "
			 "PROTO=[UNAVAILABLE] HELO=[UNAVAILABLE] IDENT=[UNAVAILABLE]");
}
END_TEST

/* A HELO of 255 octets needing encoding: the attributes are spread over lines, none over 510. */
START_TEST(long_values_are_split)
{
	char cmds[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1], helo[256], joined[4096] = "";
	struct smtp_client_info ci = { .ip = "192.0.2.7", .port = 25, .helo = helo, .esmtp = true, .ident = "X" };
	size_t n;

	memset(helo, 'h', 255);
	helo[255] = '\0';
	n = smtp_xforward_commands(&ci, cmds);
	ck_assert_uint_eq(n, 1);                         /* 255 plain octets still fit one line */
	for (int i = 0; i < 255; i += 2)
		helo[i] = '=';                           /* now 128 of them become +3D: 511 octets */
	n = smtp_xforward_commands(&ci, cmds);
	/* Too long for any line alone: the HELO goes as [UNAVAILABLE], the rest as it is. */
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(cmds[0], "XFORWARD NAME=[UNAVAILABLE] ADDR=192.0.2.7 PORT=25 PROTO=ESMTP "
			 "HELO=[UNAVAILABLE] IDENT=X");
	/* 160 octets each encoding to 3: 480, which fits a line only alone. */
	memset(helo, ' ', 160);
	helo[160] = '\0';
	n = smtp_xforward_commands(&ci, cmds);
	ck_assert_uint_ge(n, 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_le(strlen(cmds[i]), SMTP_XFORWARD_LINE_MAX);
		ck_assert(strncmp(cmds[i], "XFORWARD ", 9) == 0);
		strcat(joined, cmds[i] + 8);
	}
	ck_assert_ptr_nonnull(strstr(joined, " ADDR=192.0.2.7 PORT=25 PROTO=ESMTP"));
	ck_assert_ptr_nonnull(strstr(joined, " HELO=+20+20+20"));
	ck_assert_ptr_nonnull(strstr(joined, " IDENT=X"));
}
END_TEST

START_TEST(sendmail_args)
{
	struct smtp_sendmail_client_args a;
	struct smtp_client_info ci = { .ip = "2001:DB8::7", .helo = "mail.example", .esmtp = true };
	static const char *const hostile[] = { "-oQ/tmp", "a b", "x;rm", "a\tb", "a$b", "a/b", "<x>", "" };

	smtp_sendmail_client_args(&ci, &a);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_str_eq(a.v[0], "-oM{client_addr}2001:db8::7");
	ck_assert_str_eq(a.v[1], "-oMrESMTP");
	ck_assert_str_eq(a.v[2], "-oMsmail.example");
	ci.helo = "[192.0.2.7]";
	smtp_sendmail_client_args(&ci, &a);
	ck_assert_str_eq(a.v[2], "-oMs[192.0.2.7]");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		ci.helo = hostile[i];
		smtp_sendmail_client_args(&ci, &a);
		for (size_t j = 0; j < a.n; j++)
			ck_assert_msg(strncmp(a.v[j], "-oMs", 4) != 0, "HELO '%s' passed as %s", hostile[i], a.v[j]);
	}
	ci.ip = "not-an-address -oQ";
	ci.helo = NULL;
	smtp_sendmail_client_args(&ci, &a);
	ck_assert_uint_eq(a.n, 0);
}
END_TEST

static Suite *clientinfo_suite(void)
{
	Suite *s = suite_create("smtp_clientinfo");
	TCase *tc = tcase_create("clientinfo");

	tcase_add_test(tc, xtext);
	tcase_add_test(tc, one_line_with_everything);
	tcase_add_test(tc, unknown_is_unavailable);
	tcase_add_test(tc, long_values_are_split);
	tcase_add_test(tc, sendmail_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(clientinfo_suite());
}
