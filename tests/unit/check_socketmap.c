/* check_socketmap.c - the socketmap protocol: netstring framing, requests, replies, answers from a real database. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "relaydb/socketmap.h"
#include "relaydb_fixture.h"

/* A framing case: input, expected result, and for OK the payload and the bytes used. */
struct frame_case {
	const char *in;
	enum socketmap_frame want;
	const char *payload;
	size_t used;
};

static const struct frame_case frames[] = {
	{ "15:relay 127.0.0.6,", SOCKETMAP_FRAME_OK, "relay 127.0.0.6", 19 },
	{ "0:,", SOCKETMAP_FRAME_OK, "", 3 },
	{ "5:a b c,5:d e f,", SOCKETMAP_FRAME_OK, "a b c", 8 },      /* pipelined: the first one */
	{ "", SOCKETMAP_FRAME_MORE, NULL, 0 },
	{ "1", SOCKETMAP_FRAME_MORE, NULL, 0 },
	{ "15:", SOCKETMAP_FRAME_MORE, NULL, 0 },
	{ "15:relay 127.0.0.6", SOCKETMAP_FRAME_MORE, NULL, 0 },     /* the comma still to come */
	{ "16:relay 127.0.0.6,", SOCKETMAP_FRAME_MORE, NULL, 0 },    /* a longer one still to come */
	{ "15:relay 127.0.0.6;", SOCKETMAP_FRAME_BAD, NULL, 0 },     /* wrong terminator */
	{ "14:relay 127.0.0.6,", SOCKETMAP_FRAME_BAD, NULL, 0 },     /* length does not match */
	{ ":x,", SOCKETMAP_FRAME_BAD, NULL, 0 },
	{ "015:relay 127.0.0.6,", SOCKETMAP_FRAME_BAD, NULL, 0 },    /* leading zero */
	{ "+5:a b c,", SOCKETMAP_FRAME_BAD, NULL, 0 },
	{ " 5:a b c,", SOCKETMAP_FRAME_BAD, NULL, 0 },
	{ "5 :a b c,", SOCKETMAP_FRAME_BAD, NULL, 0 },
	{ "GET / HTTP/1.0\r\n", SOCKETMAP_FRAME_BAD, NULL, 0 },
	{ "513:", SOCKETMAP_FRAME_TOO_LONG, NULL, 0 },
	{ "513", SOCKETMAP_FRAME_TOO_LONG, NULL, 0 },              /* known before the colon */
	{ "99999999999999999999:", SOCKETMAP_FRAME_TOO_LONG, NULL, 0 }, /* no overflow */
};

START_TEST(framing)
{
	const struct frame_case *fc = &frames[_i];
	const char *data = NULL;
	size_t dlen = 0, used = 0;
	enum socketmap_frame got = socketmap_frame(fc->in, strlen(fc->in), SOCKETMAP_REQUEST_MAX, &data, &dlen, &used);

	ck_assert_msg(got == fc->want, "'%s': got %d, want %d", fc->in, got, fc->want);
	if (fc->want == SOCKETMAP_FRAME_OK) {
		ck_assert_uint_eq(dlen, strlen(fc->payload));
		ck_assert(memcmp(data, fc->payload, dlen) == 0);
		ck_assert_uint_eq(used, fc->used);
	}
}
END_TEST

START_TEST(framing_at_the_limit)
{
	char buf[SOCKETMAP_REQUEST_MAX + 16];
	const char *data;
	size_t dlen, used;
	int n = snprintf(buf, sizeof(buf), "%d:", SOCKETMAP_REQUEST_MAX);

	memset(buf + n, 'a', SOCKETMAP_REQUEST_MAX);
	buf[n + SOCKETMAP_REQUEST_MAX] = ',';
	ck_assert_int_eq(socketmap_frame(buf, (size_t)n + SOCKETMAP_REQUEST_MAX + 1, SOCKETMAP_REQUEST_MAX, &data,
					 &dlen, &used), SOCKETMAP_FRAME_OK);
	ck_assert_uint_eq(dlen, SOCKETMAP_REQUEST_MAX);
}
END_TEST

/* A request case: payload, expected kind (1 address, 0 not an address, -1 malformed), canonical form. */
struct request_case {
	const char *in;
	int want;
	const char *canon;
};

static const struct request_case requests[] = {
	{ "relay 127.0.0.6", 1, "127.0.0.6" },
	{ "anyname 192.0.2.1", 1, "192.0.2.1" },
	{ "relay 2001:db8::6", 1, "2001:db8::6" },
	{ "relay 2001:0db8:0000:0000:0000:0000:0000:0006", 1, "2001:db8::6" },
	{ "relay 2001:DB8::6", 1, "2001:db8::6" },
	{ "popgate IPv6:2001:db8:0:0:0:0:0:6", 1, "2001:db8::6" },    /* sendmail's ${client_addr} */
	{ "popgate ipv6:2001:db8:0:0:0:0:0:6", 1, "2001:db8::6" },    /* folded to lower case */
	{ "popgate IPV6:::1", 1, "::1" },
	{ "relay ::ffff:127.0.0.6", 1, "127.0.0.6" },
	{ "relay localhost", 0, NULL },                                /* Postfix asks the host name */
	{ "relay mail.example.org", 0, NULL },
	{ "relay 127.0.0", 0, NULL },                                  /* and the parent networks */
	{ "relay 2001:db8", 0, NULL },
	{ "relay IPv6:127.0.0.6", 0, NULL },                           /* IPv6: with an IPv4 address */
	{ "relay 127.0.0.006", 0, NULL },
	{ "relay", -1, NULL },                                         /* no key */
	{ "relay ", -1, NULL },
	{ " 127.0.0.6", -1, NULL },                                    /* no name */
	{ "relay 127.0.0.6 x", -1, NULL },                             /* a space in the key */
	{ "relay  127.0.0.6", -1, NULL },
	{ "relay 127.0.0.6\n", -1, NULL },
	{ "re\tlay 127.0.0.6", -1, NULL },
	{ "relay 127.0.0.\x80", -1, NULL },
	{ "", -1, NULL },
};

START_TEST(request_keys)
{
	const struct request_case *rc = &requests[_i];
	char canon[IP_TEXT_MAX] = "";
	int got = socketmap_request(rc->in, strlen(rc->in), canon);

	ck_assert_msg(got == rc->want, "'%s': got %d, want %d", rc->in, got, rc->want);
	if (rc->want == 1)
		ck_assert_str_eq(canon, rc->canon);
}
END_TEST

START_TEST(request_with_a_nul_is_malformed)
{
	char canon[IP_TEXT_MAX];

	ck_assert_int_eq(socketmap_request("relay 127.0.0.6\0x", 17, canon), -1);
}
END_TEST

START_TEST(request_key_limits)
{
	char buf[SOCKETMAP_REQUEST_MAX], canon[IP_TEXT_MAX];
	int n = snprintf(buf, sizeof(buf), "r ");

	memset(buf + n, 'a', SOCKETMAP_KEY_MAX);
	ck_assert_int_eq(socketmap_request(buf, (size_t)n + SOCKETMAP_KEY_MAX, canon), 0);
	buf[n + SOCKETMAP_KEY_MAX] = 'a';
	ck_assert_int_eq(socketmap_request(buf, (size_t)n + SOCKETMAP_KEY_MAX + 1, canon), -1);
	memset(buf, 'n', SOCKETMAP_NAME_MAX + 1);
	memcpy(buf + SOCKETMAP_NAME_MAX + 1, " 1.2.3.4", 8);
	ck_assert_int_eq(socketmap_request(buf, SOCKETMAP_NAME_MAX + 9, canon), -1);
	ck_assert_int_eq(socketmap_request(buf + 1, SOCKETMAP_NAME_MAX + 8, canon), 1);
}
END_TEST

START_TEST(replies)
{
	char out[SOCKETMAP_REPLY_MAX];
	size_t n;

	n = socketmap_reply(SOCKETMAP_OK, "1764670000", out, sizeof(out));
	ck_assert_str_eq(out, "13:OK 1764670000,");
	ck_assert_uint_eq(n, strlen(out));
	socketmap_reply(SOCKETMAP_NOTFOUND, "ignored", out, sizeof(out));
	ck_assert_str_eq(out, "9:NOTFOUND ,");
	socketmap_reply(SOCKETMAP_TEMP, "db down", out, sizeof(out));
	ck_assert_str_eq(out, "12:TEMP db down,");
	socketmap_reply(SOCKETMAP_PERM, "bad", out, sizeof(out));
	ck_assert_str_eq(out, "8:PERM bad,");
	ck_assert_uint_eq(socketmap_reply(SOCKETMAP_OK, "1764670000", out, 10), 0);
	ck_assert_uint_eq(socketmap_reply((enum socketmap_status)9, "x", out, sizeof(out)), 0);
}
END_TEST

START_TEST(reply_round_trips_through_the_framer)
{
	char out[SOCKETMAP_REPLY_MAX];
	const char *data;
	size_t dlen, used, n = socketmap_reply(SOCKETMAP_OK, "42", out, sizeof(out));

	ck_assert_int_eq(socketmap_frame(out, n, SOCKETMAP_REPLY_MAX, &data, &dlen, &used), SOCKETMAP_FRAME_OK);
	ck_assert_uint_eq(used, n);
	ck_assert(dlen == 5 && memcmp(data, "OK 42", 5) == 0);
}
END_TEST

START_TEST(where)
{
	struct socketmap_where w;
	const char *why = NULL;

	ck_assert_int_eq(socketmap_where_parse("", &w, &why), 0);
	ck_assert_int_eq(socketmap_where_parse("127.0.0.1:10027", &w, &why), 1);
	ck_assert(!w.is_unix);
	ck_assert_str_eq(w.inet.host, "127.0.0.1");
	ck_assert_str_eq(w.inet.port, "10027");
	ck_assert_int_eq(socketmap_where_parse("[::1]:10027", &w, &why), 1);
	ck_assert_str_eq(w.inet.host, "::1");
	ck_assert_int_eq(socketmap_where_parse("unix:/run/popgate/socketmap", &w, &why), 1);
	ck_assert(w.is_unix);
	ck_assert_str_eq(w.path, "/run/popgate/socketmap");
	ck_assert_int_eq(socketmap_where_parse("unix:relative", &w, &why), -1);
	ck_assert_int_eq(socketmap_where_parse("127.0.0.1", &w, &why), -1);
	ck_assert_int_eq(socketmap_where_parse("127.0.0.1:0", &w, &why), -1);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* The answers, from a real database: the value is the DRAC map's (expiry, or last + relay.timeout). */
START_TEST(answers_from_the_database)
{
	struct config *cfg = fx_config("timeout = 10m\ndeny = 192.0.2.66\n");
	struct relaydb *db = NULL;
	char err[256], value[96], want[32];
	time_t now = time(NULL);

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), 0);
	ck_assert_int_eq(relaydb_authorize(db, "127.0.0.6", "alice", "pop3", 600, now), 0);
	ck_assert_int_eq(relaydb_authorize(db, "2001:db8::6", "bob", "pop3", 600, now), 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.66", "eve", "pop3", 600, now), 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.7", "", RELAY_PROTO_MANUAL, 7200, now), 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.8", "old", "pop3", 600, now - 3600), 0);

	snprintf(want, sizeof(want), "%lld", (long long)now + 600);
	ck_assert_int_eq(socketmap_answer(cfg, db, "127.0.0.6", now, value, sizeof(value)), SOCKETMAP_OK);
	ck_assert_str_eq(value, want);
	ck_assert_int_eq(socketmap_answer(cfg, db, "2001:db8::6", now, value, sizeof(value)), SOCKETMAP_OK);
	ck_assert_str_eq(value, want);
	/* a manual entry keeps its own ttl, longer than relay.timeout */
	snprintf(want, sizeof(want), "%lld", (long long)now + 7200);
	ck_assert_int_eq(socketmap_answer(cfg, db, "192.0.2.7", now, value, sizeof(value)), SOCKETMAP_OK);
	ck_assert_str_eq(value, want);
	ck_assert_int_eq(socketmap_answer(cfg, db, "192.0.2.66", now, value, sizeof(value)), SOCKETMAP_NOTFOUND);
	ck_assert_int_eq(socketmap_answer(cfg, db, "192.0.2.8", now, value, sizeof(value)), SOCKETMAP_NOTFOUND);
	ck_assert_int_eq(socketmap_answer(cfg, db, "192.0.2.9", now, value, sizeof(value)), SOCKETMAP_NOTFOUND);
	/* 127.0.0.0/8 is in relay.allow by default: the socketmap answers only authorizations */
	ck_assert_int_eq(socketmap_answer(cfg, db, "127.0.0.7", now, value, sizeof(value)), SOCKETMAP_NOTFOUND);
	ck_assert_int_eq(socketmap_answer(cfg, NULL, "127.0.0.6", now, value, sizeof(value)), SOCKETMAP_TEMP);
	ck_assert(value[0] != '\0');
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

static Suite *socketmap_suite(void)
{
	Suite *s = suite_create("socketmap");
	TCase *tc = tcase_create("protocol");
	TCase *db = tcase_create("database");

	tcase_add_loop_test(tc, framing, 0, (int)(sizeof(frames) / sizeof(frames[0])));
	tcase_add_test(tc, framing_at_the_limit);
	tcase_add_loop_test(tc, request_keys, 0, (int)(sizeof(requests) / sizeof(requests[0])));
	tcase_add_test(tc, request_with_a_nul_is_malformed);
	tcase_add_test(tc, request_key_limits);
	tcase_add_test(tc, replies);
	tcase_add_test(tc, reply_round_trips_through_the_framer);
	tcase_add_test(tc, where);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(db, fx_setup, fx_teardown);
	tcase_set_timeout(db, 30);
	tcase_add_test(db, answers_from_the_database);
	suite_add_tcase(s, db);
	return s;
}

int main(void)
{
	return check_run(socketmap_suite());
}
