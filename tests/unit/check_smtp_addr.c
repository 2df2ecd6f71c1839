/* check_smtp_addr.c - the SMTP path parser, its relay-trick flags, HELO and parameter syntax (the verb: check_session_cmd). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_addr.h"
#include "smtpd/smtp_parse.h"
#include "check_run.h"

/* One path and what the parser must make of it. */
struct addr_case {
	const char *in;
	enum smtp_addr_error err;
	const char *text;   /* expected a.text when err == OK */
	unsigned flags;     /* flags that must be set */
	const char *rest;   /* what must follow the path */
};

static const struct addr_case addr_cases[] = {
	{ "<alice@example.org>", SMTP_ADDR_OK, "alice@example.org", 0, "" },
	{ "<alice@example.org> SIZE=10", SMTP_ADDR_OK, "alice@example.org", 0, " SIZE=10" },
	{ "<>", SMTP_ADDR_OK, "", SMTP_ADDR_NULL, "" },
	{ "<Postmaster>", SMTP_ADDR_OK, "Postmaster", SMTP_ADDR_POSTMASTER, "" },
	{ "<first.last+tag@sub.Example.ORG>", SMTP_ADDR_OK, "first.last+tag@sub.Example.ORG", 0, "" },
	{ "<\"john doe\"@example.org>", SMTP_ADDR_OK, "\"john doe\"@example.org", SMTP_ADDR_QUOTED, "" },
	{ "<\"a\\\"b\"@example.org>", SMTP_ADDR_OK, "\"a\\\"b\"@example.org", SMTP_ADDR_QUOTED, "" },
	{ "<user@[192.0.2.1]>", SMTP_ADDR_OK, "user@[192.0.2.1]", SMTP_ADDR_LITERAL, "" },
	{ "<user@[IPv6:2001:db8::1]>", SMTP_ADDR_OK, "user@[IPv6:2001:db8::1]", SMTP_ADDR_LITERAL, "" },
	/* The tricks: parsed, and flagged. */
	{ "<user%evil.com@example.org>", SMTP_ADDR_OK, "user%evil.com@example.org", SMTP_ADDR_PERCENT, "" },
	{ "<evil.com!user@example.org>", SMTP_ADDR_OK, "evil.com!user@example.org", SMTP_ADDR_BANG, "" },
	{ "<@relay.example.org:user@evil.com>", SMTP_ADDR_OK, "user@evil.com", SMTP_ADDR_SOURCE_ROUTE, "" },
	{ "<@a.example,@[192.0.2.1]:user@evil.com>", SMTP_ADDR_OK, "user@evil.com", SMTP_ADDR_SOURCE_ROUTE, "" },
	{ "<\"user@evil.com\"@example.org>", SMTP_ADDR_OK, "\"user@evil.com\"@example.org", SMTP_ADDR_QUOTED_AT, "" },
	{ "<\"user\\@evil.com\"@example.org>", SMTP_ADDR_OK, "\"user\\@evil.com\"@example.org", SMTP_ADDR_QUOTED_AT, "" },
	{ "<\"user%evil\"@example.org>", SMTP_ADDR_OK, "\"user%evil\"@example.org", SMTP_ADDR_PERCENT, "" },
	{ "<user@example.org.>", SMTP_ADDR_OK, "user@example.org", SMTP_ADDR_TRAILING_DOT, "" },
	/* Not paths at all. */
	{ "alice@example.org", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@example.org", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@bob@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<.alice@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice.@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<al..ice@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@example..org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@example.org..>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@-example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@example-.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@exa_mple.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice@>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<ali ce@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice(comment)@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<\"\"@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<\"open@example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<user@[300.0.0.1]>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<user@[192.0.2.1>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<user@[tag:whatever]>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<user@[IPv6:1.2.3.4]>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<@relay.example.org>", SMTP_ADDR_ESYNTAX, NULL, 0, NULL },
	{ "<alice>", SMTP_ADDR_ENODOMAIN, NULL, 0, NULL },
	{ "<\"postmaster\">", SMTP_ADDR_ENODOMAIN, NULL, 0, NULL },
	{ "<al\xc3\xa9@example.org>", SMTP_ADDR_E8BIT, NULL, 0, NULL },
};

START_TEST(test_addr_table)
{
	const struct addr_case *c = &addr_cases[_i];
	const char *p = c->in;
	struct smtp_addr a;
	enum smtp_addr_error e = smtp_addr_parse(&p, &a);

	ck_assert_msg(e == c->err, "%s: error %d, expected %d", c->in, e, c->err);
	if (c->err != SMTP_ADDR_OK)
		return;
	ck_assert_str_eq(a.text, c->text);
	ck_assert_msg((a.flags & c->flags) == c->flags, "%s: flags %#x lack %#x", c->in, a.flags, c->flags);
	ck_assert_msg(((a.flags & SMTP_ADDR_TRICKS) != 0) == ((c->flags & SMTP_ADDR_TRICKS) != 0),
		      "%s: trick flags %#x", c->in, a.flags);
	ck_assert_str_eq(p, c->rest);
}
END_TEST

START_TEST(test_addr_lengths)
{
	char in[600], local[80], dom[300];
	struct smtp_addr a;
	const char *p;

	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(in, sizeof(in), "<%s@example.org>", local);
	p = in;
	ck_assert_int_eq(smtp_addr_parse(&p, &a), SMTP_ADDR_OK);
	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(in, sizeof(in), "<%s@example.org>", local);
	p = in;
	ck_assert_int_eq(smtp_addr_parse(&p, &a), SMTP_ADDR_ETOOLONG);
	/* A label over 63 octets is no domain. */
	memset(dom, 'b', 64);
	dom[64] = '\0';
	snprintf(in, sizeof(in), "<x@%s.org>", dom);
	p = in;
	ck_assert_int_eq(smtp_addr_parse(&p, &a), SMTP_ADDR_ESYNTAX);
	/* Four labels of 63 make a 255-octet domain: fine alone, too long in a 256-octet path. */
	memset(dom, '.', 255);
	for (int i = 0; i < 4; i++)
		memset(dom + i * 64, 'c', 63);
	dom[255] = '\0';
	ck_assert_uint_eq(strlen(dom), 255);
	ck_assert(smtp_domain_valid(dom, strlen(dom)));
	snprintf(in, sizeof(in), "<xy@%s>", dom);
	p = in;
	ck_assert_int_eq(smtp_addr_parse(&p, &a), SMTP_ADDR_ETOOLONG);
}
END_TEST

START_TEST(test_trick_text)
{
	ck_assert_str_eq(smtp_addr_trick_text(SMTP_ADDR_PERCENT), "percent hack");
	ck_assert_str_eq(smtp_addr_trick_text(SMTP_ADDR_BANG), "bang path");
	ck_assert_str_eq(smtp_addr_trick_text(SMTP_ADDR_SOURCE_ROUTE | SMTP_ADDR_PERCENT), "source route");
	ck_assert_str_eq(smtp_addr_trick_text(SMTP_ADDR_TRAILING_DOT), "trailing dot");
	ck_assert_ptr_null(smtp_addr_trick_text(SMTP_ADDR_QUOTED | SMTP_ADDR_LITERAL));
}
END_TEST

START_TEST(test_domain_in)
{
	ck_assert(smtp_domain_in("example.org", "example.org"));
	ck_assert(smtp_domain_in("Mail.EXAMPLE.org", "example.ORG"));
	ck_assert(smtp_domain_in("a.b.example.org", ".example.org"));
	ck_assert(!smtp_domain_in("badexample.org", "example.org"));
	ck_assert(!smtp_domain_in("example.org.evil.com", "example.org"));
	ck_assert(!smtp_domain_in("org", "example.org"));
	ck_assert(!smtp_domain_in("example.org", ""));
}
END_TEST

START_TEST(test_helo)
{
	ck_assert(smtp_helo_valid("mail.example.org"));
	ck_assert(smtp_helo_valid("my_pc.local"));
	ck_assert(smtp_helo_valid("[192.0.2.1]"));
	ck_assert(smtp_helo_valid("[IPv6:2001:db8::1]"));
	ck_assert(!smtp_helo_valid(""));
	ck_assert(!smtp_helo_valid("two words"));
	ck_assert(!smtp_helo_valid("evil)(by"));
	ck_assert(!smtp_helo_valid("a..b"));
	ck_assert(!smtp_helo_valid("[1.2.3.4"));
	ck_assert(!smtp_helo_valid("host\r\nX-Injected: yes"));
}
END_TEST

START_TEST(test_mail_params)
{
	struct smtp_addr a;
	struct smtp_mail_params mp;
	enum smtp_addr_error ae;

	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> SIZE=1000 BODY=8BITMIME AUTH=<>", true, &a, &mp, &ae),
			 SMTP_ARG_OK);
	ck_assert(mp.size_given);
	ck_assert_uint_eq(mp.size, 1000);
	ck_assert(mp.body_8bit);
	ck_assert(mp.auth_given);
	ck_assert_int_eq(smtp_parse_mail("from: <a@example.org>", false, &a, &mp, &ae), SMTP_ARG_OK);
	ck_assert_int_eq(smtp_parse_mail("FROM:<> BODY=7BIT", true, &a, &mp, &ae), SMTP_ARG_OK);
	ck_assert(a.flags & SMTP_ADDR_NULL);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> AUTH=alice+40example.org", true, &a, &mp, &ae),
			 SMTP_ARG_OK);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> SIZE=10", false, &a, &mp, &ae), SMTP_ARG_NO_PARAMS);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> SIZE=x", true, &a, &mp, &ae), SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> SIZE=99999999999999999999999", true, &a, &mp, &ae),
			 SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> SIZE=1 SIZE=2", true, &a, &mp, &ae), SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> BODY=BINARYMIME", true, &a, &mp, &ae), SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> AUTH=bad+zz", true, &a, &mp, &ae), SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org> SMTPUTF8", true, &a, &mp, &ae), SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_mail("FROM:a@example.org", true, &a, &mp, &ae), SMTP_ARG_SYNTAX);
	ck_assert_int_eq(smtp_parse_mail("TO:<a@example.org>", true, &a, &mp, &ae), SMTP_ARG_SYNTAX);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@example.org>junk", true, &a, &mp, &ae), SMTP_ARG_SYNTAX);
	ck_assert_int_eq(smtp_parse_mail("FROM:<a@@example.org>", true, &a, &mp, &ae), SMTP_ARG_ADDRESS);
	ck_assert_int_eq(ae, SMTP_ADDR_ESYNTAX);
}
END_TEST

START_TEST(test_rcpt)
{
	struct smtp_addr a;
	enum smtp_addr_error ae;

	ck_assert_int_eq(smtp_parse_rcpt("TO:<bob@example.org>", &a, &ae), SMTP_ARG_OK);
	ck_assert_str_eq(a.text, "bob@example.org");
	ck_assert_int_eq(smtp_parse_rcpt("to: <bob@example.org> ", &a, &ae), SMTP_ARG_OK);
	ck_assert_int_eq(smtp_parse_rcpt("TO:<bob@example.org> NOTIFY=NEVER", &a, &ae), SMTP_ARG_PARAM);
	ck_assert_int_eq(smtp_parse_rcpt("TO:bob@example.org", &a, &ae), SMTP_ARG_SYNTAX);
	ck_assert_int_eq(smtp_parse_rcpt("TO:<bob>", &a, &ae), SMTP_ARG_ADDRESS);
	ck_assert_int_eq(ae, SMTP_ADDR_ENODOMAIN);
}
END_TEST


/*
 * Seeded mutations of good and bad paths and MAIL arguments: whatever the input, the parsers
 * return, stay inside it, and what they accept is printable ASCII within the RFC 5321 limits.
 */
START_TEST(test_mutations)
{
	static const char alphabet[] = "<>@.\"\\%!:,[]- =+aZ09\x80\xff\t";
	unsigned seed = 4242;
	char buf[600], cmd[700];

	for (int round = 0; round < 50000; round++) {
		const struct addr_case *c = &addr_cases[rand_r(&seed) % (sizeof(addr_cases) / sizeof(addr_cases[0]))];
		size_t n = strlen(c->in);
		int edits = 1 + (int)(rand_r(&seed) % 4);
		struct smtp_addr a;
		struct smtp_mail_params mp;
		enum smtp_addr_error ae;
		const char *p = buf;

		memcpy(buf, c->in, n + 1);
		for (int e = 0; e < edits; e++) {
			size_t at = n > 0 ? rand_r(&seed) % n : 0;
			char ch = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];

			switch (rand_r(&seed) % 4) {
			case 0: /* replace */
				if (n > 0)
					buf[at] = ch;
				break;
			case 1: /* insert */
				if (n + 2 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at + 1);
					buf[at] = ch;
					n++;
				}
				break;
			case 2: /* delete */
				if (n > 0) {
					memmove(buf + at, buf + at + 1, n - at);
					n--;
				}
				break;
			default: /* repeat a stretch: long labels and local parts */
				while (n + 70 < sizeof(buf) && rand_r(&seed) % 2) {
					memmove(buf + at + 64, buf + at, n - at + 1);
					memset(buf + at, 'b', 64);
					n += 64;
				}
				break;
			}
		}
		buf[n] = '\0';
		if (smtp_addr_parse(&p, &a) == SMTP_ADDR_OK) {
			ck_assert(p > buf && p <= buf + n);
			ck_assert_uint_le(strlen(a.text) + 2, SMTP_PATH_MAX);
			ck_assert_uint_le(strlen(a.local), SMTP_LOCAL_MAX);
			ck_assert_uint_le(strlen(a.domain), SMTP_DOMAIN_MAX);
			for (const char *q = a.text; *q != '\0'; q++)
				ck_assert_msg(*q >= 32 && *q < 127, "non-printable accepted from \"%s\"", buf);
			ck_assert_msg(a.text[0] != '\0' || (a.flags & SMTP_ADDR_NULL), "empty path from \"%s\"", buf);
		}
		snprintf(cmd, sizeof(cmd), "FROM:%s%s", buf, round % 3 == 0 ? " SIZE=12 BODY=8BITMIME AUTH=<>" : "");
		if (smtp_parse_mail(cmd, round % 2 == 0, &a, &mp, &ae) == SMTP_ARG_OK)
			ck_assert_uint_le(strlen(a.text) + 2, SMTP_PATH_MAX);
		snprintf(cmd, sizeof(cmd), "TO:%s", buf);
		(void)smtp_parse_rcpt(cmd, &a, &ae);
		(void)smtp_helo_valid(buf);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("smtp_addr");
	TCase *tc = tcase_create("paths");

	tcase_add_loop_test(tc, test_addr_table, 0, (int)(sizeof(addr_cases) / sizeof(addr_cases[0])));
	tcase_add_test(tc, test_addr_lengths);
	tcase_add_test(tc, test_trick_text);
	tcase_add_test(tc, test_domain_in);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);
	tc = tcase_create("commands");
	tcase_add_test(tc, test_helo);
	tcase_add_test(tc, test_mail_params);
	tcase_add_test(tc, test_rcpt);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
