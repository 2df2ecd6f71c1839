/* check_cidr.c - unit tests of address canonicalisation and CIDR matching. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <string.h>

#include "common/cidr.h"
#include "check_run.h"

static const struct { const char *in, *out; } canon[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "::ffff:192.0.2.1", "192.0.2.1" },          /* IPv4-mapped counts as IPv4 */
	{ "::FFFF:c000:0201", "192.0.2.1" },
	{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },     /* RFC 5952: lower case, compressed */
	{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },/* the first of equal zero runs */
	{ "0:0:0:0:0:0:0:1", "::1" },
	{ "fe80:0000:0000:0000:0000:0000:0000:0abc", "fe80::abc" },
};

START_TEST(canonical_forms)
{
	char out[IP_TEXT_MAX];

	ck_assert_int_eq(ip_canonical(canon[_i].in, out), 0);
	ck_assert_str_eq(out, canon[_i].out);
}
END_TEST

START_TEST(non_addresses_rejected)
{
	char out[IP_TEXT_MAX];
	static const char *bad[] = { "", "1.2.3", "1.2.3.256", "01.2.3.4x", "::g", "example.com",
				     "1.2.3.4/32", " 1.2.3.4", "1:2:3:4:5:6:7:8:9" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ip_canonical(bad[i], out) < 0, "accepted '%s'", bad[i]);
}
END_TEST

static bool in(const char *net, const char *addr)
{
	struct cidr c;
	struct ip_addr ip;
	const char *why;

	ck_assert_msg(cidr_parse(net, &c, &why) == 0, "%s: %s", net, why);
	ck_assert_int_eq(ip_parse(addr, &ip), 0);
	return cidr_contains(&c, &ip);
}

START_TEST(matching)
{
	ck_assert(in("10.0.0.0/8", "10.255.1.2"));
	ck_assert(!in("10.0.0.0/8", "11.0.0.1"));
	ck_assert(in("192.168.4.0/22", "192.168.7.255"));
	ck_assert(!in("192.168.4.0/22", "192.168.8.0"));
	ck_assert(in("0.0.0.0/0", "203.0.113.9"));
	ck_assert(!in("0.0.0.0/0", "2001:db8::1"));      /* families never mix */
	ck_assert(in("192.0.2.7", "192.0.2.7"));
	ck_assert(!in("192.0.2.7", "192.0.2.8"));
	ck_assert(in("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!in("2001:db8::/33", "2001:db8:8000::1"));
	ck_assert(in("::ffff:10.0.0.0/104", "10.1.2.3"));  /* a mapped network is an IPv4 /8 */
	ck_assert(in("10.0.0.0/8", "::ffff:10.9.9.9"));     /* and a mapped client is IPv4 */
	ck_assert(in("::/0", "::1"));
}
END_TEST

START_TEST(list_match_returns_first)
{
	struct cidr v[2];
	struct cidr_list l = { 2, v };
	struct ip_addr ip;
	const char *why;

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &v[0], &why), 0);
	ck_assert_int_eq(cidr_parse("10.1.0.0/16", &v[1], &why), 0);
	ip_parse("10.1.2.3", &ip);
	ck_assert_ptr_eq(cidr_list_match(&l, &ip), &v[0]);
	ip_parse("11.1.2.3", &ip);
	ck_assert_ptr_null(cidr_list_match(&l, &ip));
	ck_assert_ptr_null(cidr_list_match(NULL, &ip));
}
END_TEST

START_TEST(format_round_trip)
{
	struct cidr c;
	char out[IP_TEXT_MAX + 4];
	const char *why;

	ck_assert_int_eq(cidr_parse("2001:DB8::/32", &c, &why), 0);
	cidr_format(&c, out);
	ck_assert_str_eq(out, "2001:db8::/32");
	ck_assert_int_eq(cidr_parse("198.51.100.0/24", &c, &why), 0);
	cidr_format(&c, out);
	ck_assert_str_eq(out, "198.51.100.0/24");
	ck_assert_int_eq(cidr_parse("198.51.100.0/", &c, &why), -1);
	ck_assert_int_eq(cidr_parse("198.51.100.0/x", &c, &why), -1);
	ck_assert_int_eq(cidr_parse("198.51.100.0/-1", &c, &why), -1);
}
END_TEST

static Suite *cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("cidr");

	tcase_add_loop_test(tc, canonical_forms, 0, (int)(sizeof(canon) / sizeof(canon[0])));
	tcase_add_test(tc, non_addresses_rejected);
	tcase_add_test(tc, matching);
	tcase_add_test(tc, list_match_returns_first);
	tcase_add_test(tc, format_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(cidr_suite());
}
