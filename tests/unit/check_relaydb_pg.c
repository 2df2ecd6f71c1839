/*
 * check_relaydb_pg.c - unit tests of the PostgreSQL backend's parts that need no server: the
 * queue's line codec and file, the upsert's parameters, rows into entries, relay.store_timeout,
 * and the backend itself with its store away (a unix socket that does not exist).
 */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "relaydb/pg_int.h"
#include "relaydb/relaydb.h"
#include "check_run.h"
#include "relaydb_fixture.h"

static struct pgq_item item(const char *ip, const char *user, int64_t now, int64_t ttl)
{
	struct pgq_item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.ip, sizeof(it.ip), "%s", ip);
	snprintf(it.user, sizeof(it.user), "%s", user);
	snprintf(it.proto, sizeof(it.proto), "pop3");
	it.now = now;
	it.ttl = ttl;
	return it;
}

START_TEST(queue_line_round_trip)
{
	/* A user name may hold anything a POP client sends but NUL: tabs, newlines and % are escaped. */
	static const char *users[] = { "alice", "", "a b", "tab\there", "new\nline", "100%", "\x7f\x01%25" };
	char line[PGQ_LINE_MAX];
	struct pgq_item in, out;

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		in = item("2001:db8::1", users[i], 1700000000, 1800);
		size_t n = pgq_format(&in, line, sizeof(line));

		ck_assert_uint_gt(n, 0);
		ck_assert_int_eq(line[n - 1], '\n');
		ck_assert_ptr_null(memchr(line, '\n', n - 1));
		line[n - 1] = '\0';
		ck_assert_int_eq(pgq_parse(line, &out), 0);
		ck_assert_str_eq(out.ip, in.ip);
		ck_assert_str_eq(out.user, in.user);
		ck_assert_str_eq(out.proto, "pop3");
		ck_assert_int_eq(out.now, 1700000000);
		ck_assert_int_eq(out.ttl, 1800);
	}
}
END_TEST

START_TEST(queue_line_rejects)
{
	static const char *bad[] = {
		"",
		"192.0.2.1\talice\tpop3\t1700000000",              /* cut: no ttl */
		"192.0.2.1\talice\tpop3\t1700000000\t0",           /* no ttl */
		"192.0.2.1\talice\tpop3\t-5\t60",                  /* before the epoch */
		"192.0.2.1\talice\tpop3\t1700000000\t60x",
		"::ffff:192.0.2.1\talice\tpop3\t1700000000\t60",   /* not the canonical key */
		"example.org\talice\tpop3\t1700000000\t60",
		"192.0.2.1\tal%zzice\tpop3\t1700000000\t60",       /* a broken escape */
		"192.0.2.1\tal%2\tpop3\t1700000000\t60",
	};
	struct pgq_item it;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pgq_parse(bad[i], &it) < 0, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(queue_line_too_long_is_refused)
{
	struct pgq_item it = item("192.0.2.1", "alice", 1700000000, 60);
	char small[20];

	ck_assert_uint_eq(pgq_format(&it, small, sizeof(small)), 0);
}
END_TEST

/* writer that takes FAIL_AT items, then fails (the store went away mid-drain) */
static int fail_at, written;
static int take(const struct pgq_item *it, void *arg)
{
	(void)it;
	(void)arg;
	if (written == fail_at)
		return -1;
	written++;
	return 0;
}

static long file_lines(const char *dir)
{
	char path[256], line[PGQ_LINE_MAX];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, PGQ_FILE);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

START_TEST(queue_file_survives_and_drains_in_order)
{
	struct pgq a, b;
	struct relay_entry e;
	struct pgq_item it;

	ck_assert_int_eq(pgq_init(&a, fx_dir), 0);
	it = item("192.0.2.1", "alice", 1000, 60);
	ck_assert_int_eq(pgq_append(&a, &it), 0);
	it = item("192.0.2.2", "bob", 1001, 60);
	ck_assert_int_eq(pgq_append(&a, &it), 0);
	it = item("192.0.2.1", "carol", 1002, 120);
	ck_assert_int_eq(pgq_append(&a, &it), 0);
	ck_assert_int_eq(file_lines(fx_dir), 3);

	/* The local copy: the newest login decides, every login counts. */
	ck_assert_int_eq(pgq_find(&a, "192.0.2.1", &e, "a.test"), 1);
	ck_assert_str_eq(e.user, "carol");
	ck_assert_str_eq(e.node, "a.test");
	ck_assert_int_eq(e.first, 1000);
	ck_assert_int_eq(e.last, 1002);
	ck_assert_int_eq(e.expires, 1122);
	ck_assert_uint_eq(e.logins, 2);
	ck_assert_int_eq(pgq_find(&a, "192.0.2.9", &e, "a.test"), 0);

	/* Another process (a restart) reads what is on disk. */
	ck_assert_int_eq(pgq_init(&b, fx_dir), 0);
	ck_assert_int_eq(pgq_reload(&b), 0);
	ck_assert_uint_eq(b.npend, 3);

	/* The store takes one and goes away: two stay, in order. */
	fail_at = 1;
	written = 0;
	ck_assert_int_eq(pgq_drain(&b, take, NULL), 2);
	ck_assert_int_eq(file_lines(fx_dir), 2);
	ck_assert_str_eq(b.pend[0].user, "bob");
	ck_assert_int_eq(pgq_reload(&a), 0);
	ck_assert_uint_eq(a.npend, 2);

	/* Back: the rest goes, the file is empty, and what was written stays in the local copy. */
	fail_at = 100;
	ck_assert_int_eq(pgq_drain(&b, take, NULL), 0);
	ck_assert_int_eq(file_lines(fx_dir), 0);
	ck_assert_int_eq(pgq_find(&b, "192.0.2.1", &e, "a.test"), 1);
	pgq_forget(&b, "192.0.2.1");
	ck_assert_int_eq(pgq_find(&b, "192.0.2.1", &e, "a.test"), 0);
	ck_assert_int_eq(pgq_find(&b, "192.0.2.2", &e, "a.test"), 1);
	pgq_free(&a);
	pgq_free(&b);
}
END_TEST

START_TEST(queue_skips_a_cut_last_line)
{
	char path[256];
	struct pgq q;
	FILE *f;

	tl_pathbuf(path, sizeof(path), fx_dir, PGQ_FILE);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("192.0.2.1\talice\tpop3\t1000\t60\n192.0.2.2\tbo", f);  /* a crash mid-append */
	fclose(f);
	ck_assert_int_eq(pgq_init(&q, fx_dir), 0);
	ck_assert_int_eq(pgq_reload(&q), 0);
	ck_assert_uint_eq(q.npend, 1);
	ck_assert_str_eq(q.pend[0].ip, "192.0.2.1");
	pgq_free(&q);
}
END_TEST

/* A root process (a session monitor, popgatectl) leaves the queue to relay.db_dir's owner. */
START_TEST(queue_files_belong_to_the_directory_owner)
{
	char dir[256], path[300];
	struct pgq_item it = item("192.0.2.1", "alice", 1000, 60);
	struct stat st;
	struct pgq q;

	if (geteuid() != 0)
		return;   /* only root can give files away */
	tl_pathbuf(dir, sizeof(dir), fx_dir, "relay");
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	ck_assert_int_eq(pgq_init(&q, dir), 0);
	ck_assert_int_eq(pgq_append(&q, &it), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, PGQ_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	snprintf(path, sizeof(path), "%s/%s", dir, PGQ_LOCK_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	pgq_free(&q);
}
END_TEST

START_TEST(upsert_parameters)
{
	struct pgq_item it = item("2001:db8::5", "alice", 1700000000, 1800);
	struct pg_upsert_params p;

	pg_upsert_params(&p, &it, "a.test");
	ck_assert_str_eq(p.values[0], "2001:db8::5");
	ck_assert_str_eq(p.values[1], "alice");
	ck_assert_str_eq(p.values[2], "pop3");
	ck_assert_str_eq(p.values[3], "a.test");
	ck_assert_str_eq(p.values[4], "1700000000");
	ck_assert_str_eq(p.values[5], "1800");
	/* The statement uses exactly these six, and keeps the newer of two logins. */
	ck_assert_ptr_nonnull(strstr(pg_sql_upsert, "$6"));
	ck_assert_ptr_null(strstr(pg_sql_upsert, "$7"));
	ck_assert_ptr_nonnull(strstr(pg_sql_upsert, "ON CONFLICT (address) DO UPDATE"));
	/* A queued login written again is the same statement, but not counted twice. */
	ck_assert_int_eq(strncmp(pg_sql_replay, pg_sql_upsert, strlen(pg_sql_upsert)), 0);
	ck_assert_ptr_nonnull(strstr(pg_sql_replay + strlen(pg_sql_upsert), "WHERE NOT (r.last = EXCLUDED.last"));
}
END_TEST

START_TEST(rows_into_entries)
{
	const char *row[PG_COLS] = { "192.0.2.1", "alice", "pop3", "b.test", "1000", "1500", "3000", "7", "t" };
	struct relay_entry e;

	ck_assert_int_eq(pg_entry_from_text(row, 2000, &e), 0);
	ck_assert_str_eq(e.ip, "192.0.2.1");
	ck_assert_str_eq(e.node, "b.test");
	ck_assert_int_eq(e.first, 1000);
	ck_assert_int_eq(e.last, 1500);
	ck_assert_int_eq(e.expires, 3000);
	ck_assert_uint_eq(e.logins, 7);
	/* The database says expired (its clock): expired here too, whatever this clock says. */
	row[PG_COL_LIVE] = "f";
	ck_assert_int_eq(pg_entry_from_text(row, 2000, &e), 0);
	ck_assert_int_le(e.expires, 2000);
	row[PG_COL_LIVE] = "t";
	row[PG_COL_LOGINS] = "x";
	ck_assert_int_eq(pg_entry_from_text(row, 2000, &e), -1);
	row[PG_COL_LOGINS] = "7";
	row[PG_COL_FIRST] = NULL;
	ck_assert_int_eq(pg_entry_from_text(row, 2000, &e), -1);
	row[PG_COL_FIRST] = "1000";
	row[PG_COL_PROTO] = "a-protocol-name-too-long";
	ck_assert_int_eq(pg_entry_from_text(row, 2000, &e), -1);
}
END_TEST

START_TEST(store_timeout_values)
{
	ck_assert_int_eq(cfg_parse_millis("200ms"), 200);
	ck_assert_int_eq(cfg_parse_millis("2s"), 2000);
	ck_assert_int_eq(cfg_parse_millis("250"), 250);
	ck_assert_int_eq(cfg_parse_millis("60s"), 60000);
	ck_assert_int_eq(cfg_parse_millis("0"), -1);
	ck_assert_int_eq(cfg_parse_millis("61s"), -1);
	ck_assert_int_eq(cfg_parse_millis("5m"), -1);
	ck_assert_int_eq(cfg_parse_millis("ms"), -1);
	ck_assert_int_eq(cfg_parse_millis("-1ms"), -1);
}
END_TEST

/* The backend with its store away: no server, a socket path where none listens. */
START_TEST(store_away_queues_and_answers_locally)
{
	char extra[512];
	struct config *cfg;
	struct relaydb *db = NULL;
	struct relay_entry e;
	char err[256];

	ck_assert_int_lt(snprintf(extra, sizeof(extra), "backend = postgresql\npostgresql = host=%s port=9 dbname=x\n", fx_dir),
			 (int)sizeof(extra));
	cfg = fx_config(extra);
	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), 0);
	ck_assert_str_eq(relaydb_backend_name(db), "postgresql");
	/* The login is kept (on disk) and this node answers for it; any other address is an error. */
	ck_assert_int_eq(relaydb_authorize(db, "::ffff:192.0.2.7", "alice", "pop3", 600, time(NULL)), 0);
	ck_assert_int_eq(file_lines(conf(cfg)->relay.db_dir), 1);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.7", &e), 1);
	ck_assert_str_eq(e.user, "alice");
	ck_assert_int_eq(relaydb_get(db, "192.0.2.8", &e), -1);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.8", time(NULL), &e), RELAY_DB_ERROR);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.7", time(NULL), &e), RELAY_AUTHORIZED);
	ck_assert_int_eq(relaydb_del(db, "192.0.2.7"), -1);
	ck_assert_int_lt(relaydb_sweep(db, time(NULL), 1800), 0);
	relaydb_close(&db);
	ck_assert_ptr_null(db);
	/* Reopened (a restart): the queue is read again from disk. */
	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), 0);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.7", &e), 1);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(default_backend_is_bdb)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = NULL;
	char err[256];

	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), 0);
	ck_assert_str_eq(relaydb_backend_name(db), "bdb");
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

static Suite *pg_suite(void)
{
	Suite *s = suite_create("relaydb_pg");
	TCase *tc = tcase_create("pg");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, queue_line_round_trip);
	tcase_add_test(tc, queue_line_rejects);
	tcase_add_test(tc, queue_line_too_long_is_refused);
	tcase_add_test(tc, queue_file_survives_and_drains_in_order);
	tcase_add_test(tc, queue_skips_a_cut_last_line);
	tcase_add_test(tc, queue_files_belong_to_the_directory_owner);
	tcase_add_test(tc, upsert_parameters);
	tcase_add_test(tc, rows_into_entries);
	tcase_add_test(tc, store_timeout_values);
	tcase_add_test(tc, store_away_queues_and_answers_locally);
	tcase_add_test(tc, default_backend_is_bdb);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(pg_suite());
}
