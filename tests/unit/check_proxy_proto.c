/* check_proxy_proto.c - unit tests of the PROXY protocol header parser (v1 text, v2 binary). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/proxy_proto.h"
#include "check_run.h"

/* feed - give the parser what a reader would: exactly the bytes it asks for, from BUF (LEN in all). */
static enum proxy_status feed(const uint8_t *buf, size_t len, struct proxy_info *info, size_t *used)
{
	size_t have = 0, need = 0;

	for (;;) {
		enum proxy_status st = proxy_parse(buf, have, info, &need);
		if (st != PROXY_MORE) {
			*used = st == PROXY_DONE ? need : have;
			return st;
		}
		ck_assert_uint_gt(need, have);
		if (need > len) { /* asks past what the peer sent: a truncated header */
			*used = have;
			return PROXY_MORE;
		}
		have = need;
	}
}

static void ip_is(const struct ip_addr *ip, const char *text)
{
	char out[IP_TEXT_MAX];

	ip_format(ip, out);
	ck_assert_str_eq(out, text);
}

static const struct { const char *hdr, *src, *dst; int sport, dport; bool local; } v1_good[] = {
	{ "PROXY TCP4 127.0.5.5 127.0.0.1 40000 110\r\n", "127.0.5.5", "127.0.0.1", 40000, 110, false },
	{ "PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n", "255.255.255.255", "0.0.0.0", 65535, 0, false },
	{ "PROXY TCP6 2001:DB8::1 ::1 1 995\r\n", "2001:db8::1", "::1", 1, 995, false },
	{ "PROXY TCP6 ::ffff:192.0.2.7 ::1 1 2\r\n", "192.0.2.7", "::1", 1, 2, false },
	{ "PROXY UNKNOWN\r\n", NULL, NULL, 0, 0, true },
	{ "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", NULL, NULL, 0, 0, true },
	/* the spec's longest line, 107 bytes */
	{ "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535, false },
};

START_TEST(v1_valid_headers)
{
	uint8_t buf[256];
	struct proxy_info info;
	size_t used, hl = strlen(v1_good[_i].hdr);

	/* the protocol that follows must stay unread */
	snprintf((char *)buf, sizeof(buf), "%s+OK after\r\n", v1_good[_i].hdr);
	ck_assert_int_eq(feed(buf, strlen((char *)buf), &info, &used), PROXY_DONE);
	ck_assert_uint_eq(used, hl);
	ck_assert_int_eq(info.version, 1);
	ck_assert(info.local == v1_good[_i].local);
	ck_assert(!info.client_ssl);
	if (!info.local) {
		ip_is(&info.src, v1_good[_i].src);
		ip_is(&info.dst, v1_good[_i].dst);
		ck_assert_int_eq(info.src_port, v1_good[_i].sport);
		ck_assert_int_eq(info.dst_port, v1_good[_i].dport);
	}
}
END_TEST

static const char *const v1_bad[] = {
	"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",          /* case matters */
	"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",         /* one space only */
	"PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",            /* LF without CR */
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
	"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",              /* family and address disagree */
	"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
	"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
	"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY \r\n",
	"PROXY\r\n",
	"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n",
	"USER alice\r\n",
	"GET / HTTP/1.0\r\n",
	/* 108 bytes: one past the spec's bound */
	"PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
};

START_TEST(v1_malformed_headers_refused)
{
	struct proxy_info info;
	size_t used, len = strlen(v1_bad[_i]);

	if (_i == 20) /* the one with a NUL */
		len = sizeof("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n") - 1;
	ck_assert_int_eq(feed((const uint8_t *)v1_bad[_i], len, &info, &used), PROXY_BAD);
}
END_TEST

START_TEST(v1_without_crlf_stops_at_the_bound)
{
	uint8_t buf[4096];
	struct proxy_info info;
	size_t used;

	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(feed(buf, sizeof(buf), &info, &used), PROXY_BAD);
	ck_assert_uint_le(used, PROXY_V1_MAX);
}
END_TEST

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* v2 - a v2 header with VERCMD, FAM and BODY into OUT; its length. */
static size_t v2(uint8_t *out, uint8_t vercmd, uint8_t fam, const uint8_t *body, size_t blen)
{
	memcpy(out, sig, 12);
	out[12] = vercmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memmove(out + 16, body, blen);
	return 16 + blen;
}

static const uint8_t tcp4_body[12] = { 127, 0, 5, 5, 127, 0, 0, 2, 0x9c, 0x40, 0, 110 };

START_TEST(v2_tcp4)
{
	uint8_t buf[256];
	struct proxy_info info;
	size_t used, n = v2(buf, 0x21, 0x11, tcp4_body, sizeof(tcp4_body));

	memcpy(buf + n, "QUIT\r\n", 6);
	ck_assert_int_eq(feed(buf, n + 6, &info, &used), PROXY_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(info.version, 2);
	ck_assert(!info.local && !info.client_ssl);
	ip_is(&info.src, "127.0.5.5");
	ip_is(&info.dst, "127.0.0.2");
	ck_assert_int_eq(info.src_port, 40000);
	ck_assert_int_eq(info.dst_port, 110);
}
END_TEST

START_TEST(v2_tcp6_mapped_is_ipv4)
{
	uint8_t body[36] = { 0 }, buf[128];
	struct proxy_info info;
	size_t used, n;

	body[10] = body[11] = 0xff;
	body[12] = 192; body[13] = 0; body[14] = 2; body[15] = 9;
	body[31] = 1;               /* ::1 */
	body[33] = 7; body[35] = 25;
	n = v2(buf, 0x21, 0x21, body, sizeof(body));
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	ip_is(&info.src, "192.0.2.9");
	ip_is(&info.dst, "::1");
	ck_assert_int_eq(info.src_port, 7);
	ck_assert_int_eq(info.dst_port, 25);
}
END_TEST

START_TEST(v2_local_keeps_the_endpoints)
{
	uint8_t buf[128];
	struct proxy_info info;
	size_t used, n = v2(buf, 0x20, 0x11, tcp4_body, sizeof(tcp4_body));

	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert(info.local);
	n = v2(buf, 0x20, 0x00, NULL, 0);
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	ck_assert(info.local);
	n = v2(buf, 0x21, 0x00, NULL, 0); /* PROXY with UNSPEC: the real endpoints too */
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	ck_assert(info.local);
}
END_TEST

/* with_tlvs - TCP4 addresses followed by TLVS. */
static size_t with_tlvs(uint8_t *buf, const uint8_t *tlvs, size_t tlen)
{
	uint8_t body[512];

	memcpy(body, tcp4_body, sizeof(tcp4_body));
	memcpy(body + sizeof(tcp4_body), tlvs, tlen);
	return v2(buf, 0x21, 0x11, body, sizeof(tcp4_body) + tlen);
}

START_TEST(v2_ssl_tlv)
{
	/* what HAProxy's send-proxy-v2-ssl sends: PP2_TYPE_SSL, client=PP2_CLIENT_SSL|CERT_CONN, verify=0, VERSION */
	static const uint8_t ssl[] = { 0x20, 0x00, 0x0f, 0x05, 0, 0, 0, 0, 0x21, 0x00, 0x07,
				       'T', 'L', 'S', 'v', '1', '.', '3' };
	static const uint8_t nossl[] = { 0x20, 0x00, 0x05, 0x00, 0, 0, 0, 0, 0x04, 0x00, 0x00 };
	uint8_t buf[256];
	struct proxy_info info;
	size_t used, n = with_tlvs(buf, ssl, sizeof(ssl));

	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	ck_assert(info.client_ssl);
	ip_is(&info.src, "127.0.5.5");
	n = with_tlvs(buf, nossl, sizeof(nossl));
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	ck_assert(!info.client_ssl);
}
END_TEST

static const struct { uint8_t vercmd, fam; const uint8_t *tlv; size_t tlen; size_t blen; } v2_bad[] = {
	{ 0x11, 0x11, NULL, 0, 12 },   /* version 1 in a v2 header */
	{ 0x31, 0x11, NULL, 0, 12 },   /* version 3 */
	{ 0x22, 0x11, NULL, 0, 12 },   /* command 2 */
	{ 0x21, 0x12, NULL, 0, 12 },   /* UDP over IPv4 */
	{ 0x21, 0x31, NULL, 0, 12 },   /* AF_UNIX */
	{ 0x21, 0x11, NULL, 0, 11 },   /* an address block cut short */
	{ 0x21, 0x21, NULL, 0, 12 },   /* IPv6 in 12 bytes */
	{ 0x21, 0x11, (const uint8_t *)"\x04\x00\x05\x00", 4, 0 },    /* a TLV overrunning the header */
	{ 0x21, 0x11, (const uint8_t *)"\x04\x00", 2, 0 },            /* a TLV's head cut short */
	{ 0x21, 0x11, (const uint8_t *)"\x20\x00\x04\x01\x00\x00\x00", 7, 0 }, /* SSL TLV under 5 bytes */
	{ 0x21, 0x11, (const uint8_t *)"\x20\x00\x07\x01\x00\x00\x00\x00\x21\x00", 10, 0 }, /* sub-TLV cut */
	{ 0x21, 0x11, (const uint8_t *)"\x20\x00\x08\x01\x00\x00\x00\x00\x20\x00\x00", 11, 0 }, /* SSL in SSL */
};

START_TEST(v2_malformed_headers_refused)
{
	uint8_t body[64] = { 0 }, buf[128];
	struct proxy_info info;
	size_t used, n, blen = v2_bad[_i].blen;

	memcpy(body, tcp4_body, sizeof(tcp4_body));
	if (v2_bad[_i].tlv != NULL) {
		memcpy(body + 12, v2_bad[_i].tlv, v2_bad[_i].tlen);
		blen = 12 + v2_bad[_i].tlen;
	}
	n = v2(buf, v2_bad[_i].vercmd, v2_bad[_i].fam, body, blen);
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_BAD);
}
END_TEST

START_TEST(v2_length_bound)
{
	static uint8_t buf[PROXY_V2_FIXED + 65535];
	struct proxy_info info;
	size_t used, n;

	memset(buf, 0, sizeof(buf));
	n = v2(buf, 0x20, 0x00, buf + 16, PROXY_V2_MAX_LEN); /* LOCAL: the body is ignored */
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_DONE);
	n = v2(buf, 0x20, 0x00, buf + 16, PROXY_V2_MAX_LEN + 1);
	ck_assert_int_eq(feed(buf, n, &info, &used), PROXY_BAD);
	ck_assert_uint_eq(used, PROXY_V2_FIXED); /* refused from the fixed part, nothing more read */
}
END_TEST

START_TEST(truncated_headers_ask_for_more)
{
	static const char v1[] = "PROXY TCP4 127.0.5.5 127.0.0.1 40000 110\r\n";
	uint8_t buf[128];
	struct proxy_info info;
	size_t used, n = v2(buf, 0x21, 0x11, tcp4_body, sizeof(tcp4_body));

	for (size_t cut = 0; cut < n; cut++)
		ck_assert_int_eq(feed(buf, cut, &info, &used), PROXY_MORE);
	for (size_t cut = 0; cut < sizeof(v1) - 1; cut++)
		ck_assert_int_eq(feed((const uint8_t *)v1, cut, &info, &used), PROXY_MORE);
	/* a wrong first byte, or a wrong byte of either signature, is refused at once */
	ck_assert_int_eq(feed((const uint8_t *)"\x16\x03\x01", 3, &info, &used), PROXY_BAD);
	ck_assert_int_eq(feed((const uint8_t *)"PROXZ", 5, &info, &used), PROXY_BAD);
	/* a reader may get fewer bytes than asked: a wrong v2 signature byte is refused as soon as seen */
	ck_assert_int_eq(proxy_parse((const uint8_t *)"\r\n\r\n\0\r\nQUIX", 12, &info, &used), PROXY_BAD);
}
END_TEST

static Suite *proxy_suite(void)
{
	Suite *s = suite_create("proxy_proto");
	TCase *tc = tcase_create("proxy_proto");

	tcase_add_loop_test(tc, v1_valid_headers, 0, (int)(sizeof(v1_good) / sizeof(v1_good[0])));
	tcase_add_loop_test(tc, v1_malformed_headers_refused, 0, (int)(sizeof(v1_bad) / sizeof(v1_bad[0])));
	tcase_add_test(tc, v1_without_crlf_stops_at_the_bound);
	tcase_add_test(tc, v2_tcp4);
	tcase_add_test(tc, v2_tcp6_mapped_is_ipv4);
	tcase_add_test(tc, v2_local_keeps_the_endpoints);
	tcase_add_test(tc, v2_ssl_tlv);
	tcase_add_loop_test(tc, v2_malformed_headers_refused, 0, (int)(sizeof(v2_bad) / sizeof(v2_bad[0])));
	tcase_add_test(tc, v2_length_bound);
	tcase_add_test(tc, truncated_headers_ask_for_more);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(proxy_suite());
}
