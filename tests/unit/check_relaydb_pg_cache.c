/*
 * check_relaydb_pg_cache.c - unit tests of the lookup worker's copy of the PostgreSQL store
 * (pg_cache.c): what it answers and when it sends the lookup to the store instead (an address
 * a notification named, an incomplete table, a lost connection), names at full length, growth,
 * and the cap.
 */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "relaydb/pg_cache.h"
#include "relaydb/pg_int.h"
#include "relaydb/relaydb.h"
#include "check_run.h"

static struct relay_entry entry(const char *ip, const char *user)
{
	struct relay_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.ip, sizeof(e.ip), "%s", ip);
	snprintf(e.user, sizeof(e.user), "%s", user);
	snprintf(e.proto, sizeof(e.proto), "pop3s");
	snprintf(e.node, sizeof(e.node), "a.test");
	e.first = 1700000000;
	e.last = 1700000100;
	e.expires = 1700001900;
	e.logins = 3;
	return e;
}

/* loaded - C as pgc_load_step leaves it on connection PC (gen 1). */
static void loaded(struct pgc *c, struct pg_conn *pc)
{
	pc->gen = 1;
	pc->c = (void *)1;   /* never dereferenced by the table */
	c->gen = 1;
	c->complete = true;
}

START_TEST(answers_only_when_complete)
{
	struct pgc c;
	struct relay_entry in = entry("192.0.2.1", "alice"), out;

	ck_assert_int_eq(pgc_init(&c, 10), 0);
	ck_assert_int_eq(pgc_put(&c, &in), 0);
	/* Not yet loaded whole: nothing is answered, not even what it holds. */
	ck_assert_int_eq(pgc_get(&c, "192.0.2.1", &out), -1);
	ck_assert_int_eq(pgc_get(&c, "192.0.2.2", &out), -1);
	c.complete = true;
	ck_assert_int_eq(pgc_get(&c, "192.0.2.1", &out), 1);
	ck_assert_str_eq(out.ip, "192.0.2.1");
	ck_assert_str_eq(out.user, "alice");
	ck_assert_str_eq(out.proto, "pop3s");
	ck_assert_str_eq(out.node, "a.test");
	ck_assert_int_eq(out.first, 1700000000);
	ck_assert_int_eq(out.last, 1700000100);
	ck_assert_int_eq(out.expires, 1700001900);
	ck_assert_uint_eq(out.logins, 3);
	ck_assert_int_eq(pgc_get(&c, "192.0.2.2", &out), 0);
	pgc_free(&c);
}
END_TEST

START_TEST(changed_goes_to_the_store)
{
	struct pgc c;
	struct relay_entry in = entry("2001:db8::1", "bob"), out;

	ck_assert_int_eq(pgc_init(&c, 10), 0);
	c.complete = true;
	ck_assert_int_eq(pgc_put(&c, &in), 0);
	ck_assert_uint_eq(c.n, 1);
	/* A notification names it (a revocation, a login elsewhere): no longer answered from here. */
	pgc_forget(&c, "2001:db8::1");
	ck_assert_uint_eq(c.n, 0);
	ck_assert_int_eq(pgc_get(&c, "2001:db8::1", &out), 0);
	pgc_forget(&c, "2001:db8::1");   /* twice, or an address never held: nothing to do */
	pgc_forget(&c, "2001:db8::2");
	ck_assert_uint_eq(c.n, 0);
	/* The store's answer read again replaces what was held. */
	ck_assert_int_eq(pgc_put(&c, &in), 0);
	in.logins = 4;
	ck_assert_int_eq(pgc_put(&c, &in), 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(pgc_get(&c, "2001:db8::1", &out), 1);
	ck_assert_uint_eq(out.logins, 4);
	pgc_free(&c);
}
END_TEST

START_TEST(names_at_full_length)
{
	struct pgc c;
	struct relay_entry in = entry("198.51.100.7", ""), out;

	memset(in.user, 'u', sizeof(in.user) - 1);
	memset(in.proto, 'p', sizeof(in.proto) - 1);
	memset(in.node, 'n', sizeof(in.node) - 1);
	ck_assert_int_eq(pgc_init(&c, 10), 0);
	c.complete = true;
	ck_assert_int_eq(pgc_put(&c, &in), 0);
	ck_assert_int_eq(pgc_get(&c, "198.51.100.7", &out), 1);
	ck_assert_str_eq(out.user, in.user);
	ck_assert_str_eq(out.proto, in.proto);
	ck_assert_str_eq(out.node, in.node);
	/* And an entry with empty names (a manual one without --user). */
	in = entry("198.51.100.8", "");
	in.node[0] = '\0';
	ck_assert_int_eq(pgc_put(&c, &in), 0);
	ck_assert_int_eq(pgc_get(&c, "198.51.100.8", &out), 1);
	ck_assert_str_eq(out.user, "");
	ck_assert_str_eq(out.node, "");
	pgc_free(&c);
}
END_TEST

START_TEST(grows_and_finds_all)
{
	struct pgc c;
	struct relay_entry e, out;
	char ip[IP_TEXT_MAX];

	ck_assert_int_eq(pgc_init(&c, 100000), 0);
	c.complete = true;
	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		e = entry(ip, "u");
		e.logins = (uint32_t)i;
		ck_assert_int_eq(pgc_put(&c, &e), 0);
	}
	ck_assert_uint_eq(c.n, 20000);
	ck_assert_uint_ge(c.nbuckets, 16384);
	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		ck_assert_int_eq(pgc_get(&c, ip, &out), 1);
		ck_assert_uint_eq(out.logins, (uint32_t)i);
	}
	ck_assert_int_eq(pgc_get(&c, "10.255.0.0", &out), 0);
	pgc_free(&c);
}
END_TEST

START_TEST(full_table_gives_up)
{
	struct pgc c;
	struct relay_entry e = entry("192.0.2.1", "a"), out;

	ck_assert_int_eq(pgc_init(&c, 2), 0);
	c.complete = true;
	ck_assert_int_eq(pgc_put(&c, &e), 0);
	ck_assert_int_eq(pgc_put(&c, &e), 0);   /* the same address again: no room taken */
	e = entry("192.0.2.2", "b");
	ck_assert_int_eq(pgc_put(&c, &e), 0);
	ck_assert_uint_eq(c.n, 2);
	/* A third address: a table missing rows is no copy of the store, so it answers nothing. */
	e = entry("192.0.2.3", "c");
	ck_assert_int_eq(pgc_put(&c, &e), -1);
	ck_assert_uint_eq(c.n, 0);
	ck_assert(!c.complete);
	ck_assert_int_eq(pgc_get(&c, "192.0.2.1", &out), -1);
	pgc_free(&c);

	/* relay.store_cache_max = 0: no table at all. */
	ck_assert_int_eq(pgc_init(&c, 0), 0);
	c.complete = true;
	ck_assert_int_eq(pgc_put(&c, &e), -1);
	pgc_forget(&c, "192.0.2.3");
	ck_assert_int_eq(pgc_get(&c, "192.0.2.2", &out), -1);
	pgc_free(&c);
}
END_TEST

START_TEST(valid_only_on_its_connection)
{
	struct pgc c;
	struct pg_conn pc;
	struct relay_entry e = entry("192.0.2.1", "a");

	memset(&pc, 0, sizeof(pc));
	ck_assert_int_eq(pgc_init(&c, 10), 0);
	ck_assert(!pgc_valid(&c, &pc));
	loaded(&c, &pc);
	ck_assert_int_eq(pgc_put(&c, &e), 0);
	ck_assert(pgc_valid(&c, &pc));
	/* Connected again (notifications lost meanwhile): not valid until loaded on the new one. */
	pc.gen = 2;
	ck_assert(!pgc_valid(&c, &pc));
	pc.gen = 1;
	pc.c = NULL;
	ck_assert(!pgc_valid(&c, &pc));
	/* Polling a closed connection drops the table. */
	ck_assert_int_eq(pgc_poll(&c, &pc), -1);
	ck_assert_uint_eq(c.n, 0);
	ck_assert(!c.complete);
	pgc_free(&c);
}
END_TEST

START_TEST(load_needs_a_cap_and_a_connection)
{
	struct pgc c;
	struct pg_conn pc;
	char err[128];

	memset(&pc, 0, sizeof(pc));
	ck_assert_int_eq(pgc_init(&c, 0), 0);
	ck_assert_int_eq(pgc_load_step(&c, &pc, err, sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(err, "store_cache_max"));
	pgc_free(&c);
	ck_assert_int_eq(pgc_init(&c, 10), 0);
	ck_assert_int_eq(pgc_load_step(&c, &pc, err, sizeof(err)), -1);
	ck_assert(!c.complete);
	pgc_free(&c);
}
END_TEST

static Suite *pg_cache_suite(void)
{
	Suite *s = suite_create("relaydb_pg_cache");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, answers_only_when_complete);
	tcase_add_test(tc, changed_goes_to_the_store);
	tcase_add_test(tc, names_at_full_length);
	tcase_add_test(tc, grows_and_finds_all);
	tcase_add_test(tc, full_table_gives_up);
	tcase_add_test(tc, valid_only_on_its_connection);
	tcase_add_test(tc, load_needs_a_cap_and_a_connection);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(pg_cache_suite());
}
