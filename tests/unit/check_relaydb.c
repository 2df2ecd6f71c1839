/* check_relaydb.c - unit tests of src/relaydb: keys, records, expiry with an injected clock, lists, map. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <db.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relaydb/drac_import.h"
#include "relaydb/relaydb.h"
#include "relaydb/relaydb_int.h"
#include "relaydb_fixture.h"
#include "check_run.h"

#define T0 1700000000  /* the injected clock's start */

START_TEST(record_roundtrip_and_corruption)
{
	struct relay_entry e = { .first = T0, .last = T0 + 5, .expires = T0 + 65, .logins = 70000 }, d;
	uint8_t buf[RELAY_RECORD_MAX];
	size_t n;

	snprintf(e.user, sizeof(e.user), "alice@example.org");
	snprintf(e.proto, sizeof(e.proto), "pop3s");
	n = relay_record_encode(&e, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(relay_record_decode(buf, n, "192.0.2.1", 9, &d), 0);
	ck_assert_str_eq(d.ip, "192.0.2.1");
	ck_assert_str_eq(d.user, "alice@example.org");
	ck_assert_str_eq(d.proto, "pop3s");
	ck_assert_int_eq(d.first, T0);
	ck_assert_int_eq(d.last, T0 + 5);
	ck_assert_int_eq(d.expires, T0 + 65);
	ck_assert_uint_eq(d.logins, 70000);
	/* Every truncation, a wrong version, a control byte in a name: all refused. */
	for (size_t cut = 0; cut < n; cut++)
		ck_assert_int_eq(relay_record_decode(buf, cut, "192.0.2.1", 9, &d), -1);
	buf[0] = 2;
	ck_assert_int_eq(relay_record_decode(buf, n, "192.0.2.1", 9, &d), -1);
	buf[0] = 1;
	buf[31] = '\n';
	ck_assert_int_eq(relay_record_decode(buf, n, "192.0.2.1", 9, &d), -1);
	ck_assert_uint_eq(relay_record_encode(&e, buf, 10), 0);
}
END_TEST

START_TEST(keys_are_canonical)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	struct relay_entry e;

	ck_assert_int_eq(relaydb_authorize(db, "::ffff:192.0.2.1", "alice", "pop3", 60, T0), 0);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.1", &e), 1);
	ck_assert_str_eq(e.ip, "192.0.2.1");
	ck_assert_uint_eq(e.logins, 1);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "alice", "pop3", 60, T0), 0);
	ck_assert_int_eq(relaydb_get(db, "::FFFF:C000:201", &e), 1);
	ck_assert_uint_eq(e.logins, 2);  /* both spellings refreshed one record */
	ck_assert_int_eq(relaydb_authorize(db, "2001:DB8:0:0:0:0:0:1", "bob", "pop3", 60, T0), 0);
	ck_assert_int_eq(relaydb_get(db, "2001:db8::1", &e), 1);
	ck_assert_str_eq(e.ip, "2001:db8::1");
	ck_assert_int_eq(relaydb_authorize(db, "300.1.2.3", "x", "pop3", 60, T0), -1);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1/32", "x", "pop3", 60, T0), -1);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "x", "pop3", 0, T0), -1);
	ck_assert_int_eq(relaydb_get(db, "not an address", &e), 0);
	relaydb_close(&db);
	ck_assert_ptr_null(db);
	config_free(&cfg);
}
END_TEST

START_TEST(map_keys_for_both_mtas)
{
	char keys[RELAY_MAP_KEYS][RELAY_MAP_KEY_MAX];

	ck_assert_int_eq(relay_map_keys("192.0.2.1", keys), 1);
	ck_assert_str_eq(keys[0], "192.0.2.1");
	ck_assert_int_eq(relay_map_keys("2001:db8::1", keys), 3);
	ck_assert_str_eq(keys[0], "2001:db8::1");
	ck_assert_str_eq(keys[1], "IPv6:2001:db8:0:0:0:0:0:1");
	ck_assert_str_eq(keys[2], "ipv6:2001:db8:0:0:0:0:0:1");
	ck_assert_int_eq(relay_map_keys("fe80:0:0:0:0:abcd:0:1", keys), 3);
	ck_assert_str_eq(keys[0], "fe80::abcd:0:1");
	ck_assert_str_eq(keys[1], "IPv6:fe80:0:0:0:0:abcd:0:1");
	ck_assert_int_eq(relay_map_keys("bogus", keys), 0);
}
END_TEST

START_TEST(sliding_expiry_with_injected_clock)
{
	struct config *cfg = fx_config("timeout = 60s\nallow =\n");
	struct relaydb *db = fx_open_db(cfg);
	struct relay_entry e;

	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.7", "alice", "pop3", 60, T0), 0);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.7", T0 + 59, &e), RELAY_AUTHORIZED);
	ck_assert_int_eq(e.expires, T0 + 60);
	ck_assert_str_eq(e.user, "alice");
	/* expires <= now is never honoured, swept or not. */
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.7", T0 + 60, &e), RELAY_EXPIRED);
	/* A refresh slides the window and keeps the first login time. */
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.7", "alice", "pop3s", 60, T0 + 50), 0);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.7", T0 + 100, &e), RELAY_AUTHORIZED);
	ck_assert_int_eq(e.first, T0);
	ck_assert_int_eq(e.last, T0 + 50);
	ck_assert_int_eq(e.expires, T0 + 110);
	ck_assert_uint_eq(e.logins, 2);
	ck_assert_str_eq(e.proto, "pop3s");
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.7", T0 + 110, &e), RELAY_EXPIRED);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.8", T0, &e), RELAY_UNKNOWN);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(shortened_timeout_applies_to_logins_not_manual)
{
	struct relay_entry login = { .last = T0, .expires = T0 + 1800, .proto = "pop3" };
	struct relay_entry manual = { .last = T0, .expires = T0 + 86400, .proto = RELAY_PROTO_MANUAL };

	ck_assert(!relay_entry_expired(&login, T0 + 599, 600));
	ck_assert(relay_entry_expired(&login, T0 + 600, 600));
	ck_assert(!relay_entry_expired(&login, T0 + 1799, 3600));
	ck_assert(relay_entry_expired(&login, T0 + 1800, 3600));
	ck_assert(!relay_entry_expired(&manual, T0 + 86399, 600));
	ck_assert(relay_entry_expired(&manual, T0 + 86400, 600));
}
END_TEST

START_TEST(lists_and_deny_wins)
{
	struct config *cfg = fx_config("allow = 10.0.0.0/8, 2001:db8:1::/48, 192.0.2.0/24\n"
				       "deny = 10.1.0.0/16, 2001:db8:1:2::/64, 192.0.2.66\n");
	struct relaydb *db = fx_open_db(cfg);
	struct relay_entry e;

	ck_assert_int_eq(relay_check_ip(cfg, db, "10.2.3.4", T0, &e), RELAY_ALLOW_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, db, "::ffff:10.2.3.4", T0, &e), RELAY_ALLOW_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, db, "10.1.2.3", T0, &e), RELAY_DENY_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, db, "2001:db8:1:5::1", T0, &e), RELAY_ALLOW_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, db, "2001:db8:1:2::1", T0, &e), RELAY_DENY_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, db, "2001:db8:2::1", T0, &e), RELAY_UNKNOWN);
	/* Deny beats an authorization and the allow list. */
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.66", "mallory", "pop3", 600, T0), 0);
	ck_assert_int_eq(relaydb_authorize(db, "10.1.0.9", "mallory", "pop3", 600, T0), 0);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.66", T0, &e), RELAY_DENY_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, db, "10.1.0.9", T0, &e), RELAY_DENY_LIST);
	ck_assert_int_eq(relaydb_authorize(db, "198.51.100.1", "carol", "pop3", 600, T0), 0);
	ck_assert_int_eq(relay_check_ip(cfg, db, "198.51.100.1", T0, &e), RELAY_AUTHORIZED);
	ck_assert_int_eq(relay_check_ip(cfg, db, "garbage", T0, &e), RELAY_UNKNOWN);
	/* Without a database the lists still hold and everything else fails closed. */
	ck_assert_int_eq(relay_check_ip(cfg, NULL, "10.2.3.4", T0, &e), RELAY_ALLOW_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, NULL, "10.1.2.3", T0, &e), RELAY_DENY_LIST);
	ck_assert_int_eq(relay_check_ip(cfg, NULL, "198.51.100.1", T0, &e), RELAY_DB_ERROR);
	ck_assert(relay_allowed(RELAY_ALLOW_LIST) && relay_allowed(RELAY_AUTHORIZED));
	ck_assert(!relay_allowed(RELAY_DENY_LIST) && !relay_allowed(RELAY_EXPIRED) &&
		  !relay_allowed(RELAY_UNKNOWN) && !relay_allowed(RELAY_DB_ERROR));
	ck_assert_str_eq(relay_reason_text(RELAY_DB_ERROR), "db-error");
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

static int count_entry(const struct relay_entry *e, void *arg)
{
	(void)e;
	(*(long *)arg)++;
	return 0;
}

START_TEST(sweep_flush_del_foreach)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	char ip[IP_TEXT_MAX];
	long n = 0;

	/* More than a few batches, half of them expired at T0 + 100. */
	for (int i = 0; i < 1200; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250);
		ck_assert_int_eq(relaydb_authorize(db, ip, "u", "pop3", i % 2 ? 100 : 1000, T0), 0);
	}
	ck_assert_int_eq(relaydb_foreach(db, count_entry, &n), 0);
	ck_assert_int_eq(n, 1200);
	ck_assert_int_eq(relaydb_sweep(db, T0 + 99, 3600), 0);
	ck_assert_int_eq(relaydb_sweep(db, T0 + 100, 3600), 600);
	n = 0;
	ck_assert_int_eq(relaydb_foreach(db, count_entry, &n), 0);
	ck_assert_int_eq(n, 600);
	ck_assert_int_eq(relaydb_del(db, "10.0.0.0"), 1);
	ck_assert_int_eq(relaydb_del(db, "10.0.0.0"), 0);
	ck_assert_int_eq(relaydb_del(db, "10.0.0.1"), 0);  /* swept */
	ck_assert_int_eq(relaydb_flush(db), 599);
	ck_assert_int_eq(relaydb_flush(db), 0);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

/* The sweep removes what relay_check_ip no longer honours: a login past relay.timeout since its last refresh. */
START_TEST(sweep_follows_the_timeout_rule)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	struct relay_entry e;

	/* Logged in at T0 for a day, but relay.timeout is now 10 minutes; a manual entry keeps its ttl. */
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "u", "pop3", 86400, T0), 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.2", "", RELAY_PROTO_MANUAL, 86400, T0), 0);
	ck_assert_int_eq(relaydb_sweep(db, T0 + 599, 600), 0);
	ck_assert_int_eq(relaydb_sweep(db, T0 + 600, 600), 1);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.1", &e), 0);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.2", &e), 1);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(rogue_db_config_is_ignored)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db;
	struct relay_entry e;
	char path[256];
	FILE *f;
	struct stat st;

	tl_pathbuf(path, sizeof(path), fx_dir, "relay");
	ck_assert_int_eq(mkdir(path, 0750), 0);
	tl_pathbuf(path, sizeof(path), fx_dir, "relay/DB_CONFIG");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "set_data_dir /nonexistent/rogue\nset_lg_dir /nonexistent/rogue\nset_flags DB_TXN_NOSYNC\n");
	fclose(f);
	db = fx_open_db(cfg);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "a", "pop3", 60, T0), 0);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.1", &e), 1);
	ck_assert_int_eq(stat(path, &st), -1);
	tl_pathbuf(path, sizeof(path), fx_dir, "relay/DB_CONFIG.ignored");
	ck_assert_int_eq(stat(path, &st), 0);
	tl_pathbuf(path, sizeof(path), fx_dir, "relay/" RELAYDB_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(corrupt_database_fails_closed)
{
	struct config *cfg = fx_config("allow = 127.0.0.0/8\n");
	struct relaydb *db = NULL;
	char path[256], err[512];
	FILE *f;

	tl_pathbuf(path, sizeof(path), fx_dir, "relay");
	ck_assert_int_eq(mkdir(path, 0750), 0);
	tl_pathbuf(path, sizeof(path), fx_dir, "relay/" RELAYDB_FILE);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (int i = 0; i < 2000; i++)
		fputs("this is not a Berkeley DB btree ", f);
	fclose(f);
	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), -1);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.1", T0, NULL), RELAY_DB_ERROR);
	ck_assert_int_eq(relay_check_ip(cfg, db, "127.0.0.1", T0, NULL), RELAY_ALLOW_LIST);
	ck_assert_int_eq(relaydb_record_login(cfg, "192.0.2.1", "alice", "pop3"), -1);
	config_free(&cfg);
}
END_TEST

START_TEST(forked_child_reopens_its_own_handle)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	struct relay_entry e;
	pid_t pid;
	int status;

	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "a", "pop3", 600, T0), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The parent's handle, used in the child: must work and must not disturb the parent. */
		int ok = relaydb_authorize(db, "192.0.2.1", "a", "pop3", 600, T0) == 0 &&
			 relaydb_get(db, "192.0.2.1", &e) == 1 && e.logins == 2;
		relaydb_close(&db);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "a", "pop3", 600, T0), 0);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.1", &e), 1);
	ck_assert_uint_eq(e.logins, 3);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(record_login_uses_the_timeout)
{
	struct config *cfg = fx_config("timeout = 10m\n");
	struct relaydb *db;
	struct relay_entry e;
	time_t before = time(NULL);

	ck_assert_int_eq(relaydb_record_login(cfg, "2001:db8::7", "carol", "pop3s"), 0);
	ck_assert_int_eq(relaydb_record_login(cfg, "2001:db8::7", "carol", "pop3s"), 0);
	db = fx_open_db(cfg);
	ck_assert_int_eq(relaydb_get(db, "2001:db8::7", &e), 1);
	ck_assert_str_eq(e.user, "carol");
	ck_assert_str_eq(e.proto, "pop3s");
	ck_assert_uint_eq(e.logins, 2);
	ck_assert_int_ge(e.expires, before + 600);
	ck_assert_int_le(e.expires, time(NULL) + 600);
	ck_assert_int_eq(relay_check_ip(cfg, db, "2001:db8::7", time(NULL), NULL), RELAY_AUTHORIZED);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

/* map_get - the value stored under KEY in the btree file PATH, "" when absent. */
static void map_get(const char *path, const char *key, char *out, size_t len)
{
	DB *m;
	DBT k = { .data = (void *)key, .size = (u_int32_t)strlen(key) }, v;

	memset(&v, 0, sizeof(v));
	out[0] = '\0';
	ck_assert_int_eq(db_create(&m, NULL, 0), 0);
	ck_assert_int_eq(m->open(m, NULL, path, NULL, DB_BTREE, DB_RDONLY, 0), 0);
	if (m->get(m, NULL, &k, &v, 0) == 0)
		snprintf(out, len, "%.*s", (int)v.size, (const char *)v.data);
	m->close(m, 0);
}

START_TEST(export_map_holds_live_entries_only)
{
	char extra[256], path[256], val[64];
	struct config *cfg;
	struct relaydb *db;
	int64_t next = 0;
	struct stat st;

	ck_assert_int_lt(snprintf(extra, sizeof(extra), "export_map = %s/dracd\ndeny = 198.51.100.0/24\ntimeout = 1h\n", fx_dir),
			 (int)sizeof(extra));
	cfg = fx_config(extra);
	db = fx_open_db(cfg);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "a", "pop3", 600, T0), 0);
	ck_assert_int_eq(relaydb_authorize(db, "2001:db8::1", "b", "pop3", 300, T0), 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.2", "c", "pop3", 10, T0 - 100), 0);    /* expired */
	ck_assert_int_eq(relaydb_authorize(db, "198.51.100.5", "d", "pop3", 600, T0), 0);  /* denied */
	ck_assert_int_eq(relaydb_export(cfg, db, T0, &next), 0);
	ck_assert_int_eq(next, T0 + 300);
	tl_pathbuf(path, sizeof(path), fx_dir, "dracd.db");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	map_get(path, "192.0.2.1", val, sizeof(val));
	ck_assert_str_eq(val, "1700000600");
	map_get(path, "2001:db8::1", val, sizeof(val));
	ck_assert_str_eq(val, "1700000300");
	map_get(path, "IPv6:2001:db8:0:0:0:0:0:1", val, sizeof(val));
	ck_assert_str_eq(val, "1700000300");
	map_get(path, "192.0.2.2", val, sizeof(val));
	ck_assert_str_eq(val, "");
	map_get(path, "198.51.100.5", val, sizeof(val));
	ck_assert_str_eq(val, "");
	/* At T0 + 300 the IPv6 entry is gone from a fresh map. */
	ck_assert_int_eq(relaydb_export(cfg, db, T0 + 300, &next), 0);
	ck_assert_int_eq(next, T0 + 600);
	map_get(path, "2001:db8::1", val, sizeof(val));
	ck_assert_str_eq(val, "");
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

/* put_raw - store KEY (KLEN bytes) -> VAL in the btree file of a fake DRAC install. */
static void put_raw(DB *m, const char *key, size_t klen, const char *val)
{
	DBT k = { .data = (void *)key, .size = (u_int32_t)klen };
	DBT v = { .data = (void *)val, .size = (u_int32_t)strlen(val) };

	ck_assert_int_eq(m->put(m, NULL, &k, &v, 0), 0);
}

/* skips - what the importer reported as skipped, one "KEY|KIND" per line. */
static char skips[1024];

static void note_skip(void *arg, const char *key, enum drac_skip why, const char *reason)
{
	size_t n = strlen(skips);

	(void)arg;
	ck_assert_ptr_nonnull(reason);
	snprintf(skips + n, sizeof(skips) - n, "%s|%s\n", key, drac_skip_name(why));
}

START_TEST(import_drac_takes_unexpired_entries)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	struct relay_entry e;
	struct drac_report rep;
	char path[256], future[32], past[32], soon[32];
	time_t now = time(NULL);
	DB *m;

	tl_pathbuf(path, sizeof(path), fx_dir, "dracd.db");
	snprintf(future, sizeof(future), "%lld", (long long)now + 900);
	snprintf(past, sizeof(past), "%lld", (long long)now - 5); /* expired, not yet swept by rpc.dracd */
	snprintf(soon, sizeof(soon), "%lld", (long long)now + 60);
	ck_assert_int_eq(db_create(&m, NULL, 0), 0);
	ck_assert_int_eq(m->open(m, NULL, path, NULL, DB_BTREE, DB_CREATE, 0644), 0);
	put_raw(m, "192.0.2.50", 10, future);
	put_raw(m, "192.0.2.51", 11, future);  /* with the trailing NUL some writers add */
	put_raw(m, "IPv6:2001:db8:0:0:0:0:0:5", 25, future);
	put_raw(m, "2001:db8::6", 11, future);   /* a bare IPv6 key */
	put_raw(m, "192.0.2.9/32", 13, future);  /* -DCIDR_KEY, with NUL */
	put_raw(m, "2001:db8::7/128", 15, future);
	put_raw(m, "198.51.100.0/24", 15, future);
	put_raw(m, "192.0.2.53", 10, soon);
	put_raw(m, "192.0.2.52", 10, past);
	put_raw(m, "192.0.2.54", 10, "1");
	put_raw(m, "not-an-ip", 9, future);
	put_raw(m, "192.0.2.55", 10, "soon");
	m->close(m, 0);
	skips[0] = '\0';
	ck_assert_int_eq(relaydb_import_drac(db, path, now, &rep, note_skip, NULL), DRAC_OK);
	ck_assert_int_eq(rep.imported, 7);
	ck_assert_int_eq(rep.expired, 2);
	ck_assert_int_eq(rep.skipped[DRAC_SKIP_NETWORK], 1);
	ck_assert_int_eq(rep.skipped[DRAC_SKIP_NOT_ADDRESS], 1);
	ck_assert_int_eq(rep.skipped[DRAC_SKIP_BAD_VALUE], 1);
	ck_assert_str_eq(skips, "192.0.2.55|bad value\n198.51.100.0/24|network\nnot-an-ip|not an address\n");
	ck_assert_int_eq(relaydb_get(db, "192.0.2.51", &e), 1);
	ck_assert_int_eq(e.expires, now + 900);
	ck_assert_str_eq(e.proto, "drac");
	ck_assert_int_eq(relaydb_get(db, "2001:db8::5", &e), 1);
	ck_assert_int_eq(relaydb_get(db, "2001:db8::6", &e), 1);
	ck_assert_int_eq(relaydb_get(db, "2001:db8::7", &e), 1);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.9", &e), 1);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.53", &e), 1);
	ck_assert_int_eq(e.expires, now + 60);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.52", &e), 0);
	ck_assert_int_eq(relaydb_get(db, "192.0.2.54", &e), 0);
	/* Again: everything is already held, nothing written twice. */
	ck_assert_int_eq(relaydb_import_drac(db, path, now, &rep, NULL, NULL), DRAC_OK);
	ck_assert_int_eq(rep.imported, 0);
	ck_assert_int_eq(rep.kept, 7);
	tl_pathbuf(path, sizeof(path), fx_dir, "missing.db");
	ck_assert_int_eq(relaydb_import_drac(db, path, now, &rep, NULL, NULL), DRAC_BAD_FILE);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(import_drac_refuses_db185)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	struct drac_report rep;
	char path[256];
	/* The first words of a DB 1.85 btree (magic, version 3, page size) and hash (magic, version 2). */
	static const unsigned char btree[16] = { 0x62, 0x31, 0x05, 0x00, 3, 0, 0, 0, 0, 0x10, 0, 0 };
	static const unsigned char hash[16] = { 0x00, 0x06, 0x15, 0x61, 0, 0, 0, 2 };

	tl_pathbuf(path, sizeof(path), fx_dir, "dracd185.db");
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(i == 0 ? btree : hash, 1, 16, f), 16);
		for (int k = 0; k < 4080; k++)
			fputc(0, f);
		fclose(f);
		ck_assert_int_eq(relaydb_import_drac(db, path, time(NULL), &rep, NULL, NULL), DRAC_BAD_FILE);
	}
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

static Suite *relaydb_suite(void)
{
	Suite *s = suite_create("relaydb");
	TCase *pure = tcase_create("pure");
	TCase *db = tcase_create("db");

	tcase_add_test(pure, record_roundtrip_and_corruption);
	tcase_add_test(pure, map_keys_for_both_mtas);
	tcase_add_test(pure, shortened_timeout_applies_to_logins_not_manual);
	suite_add_tcase(s, pure);
	tcase_add_checked_fixture(db, fx_setup, fx_teardown);
	tcase_add_test(db, keys_are_canonical);
	tcase_add_test(db, sliding_expiry_with_injected_clock);
	tcase_add_test(db, lists_and_deny_wins);
	tcase_add_test(db, sweep_flush_del_foreach);
	tcase_add_test(db, sweep_follows_the_timeout_rule);
	tcase_add_test(db, rogue_db_config_is_ignored);
	tcase_add_test(db, corrupt_database_fails_closed);
	tcase_add_test(db, forked_child_reopens_its_own_handle);
	tcase_add_test(db, record_login_uses_the_timeout);
	tcase_add_test(db, export_map_holds_live_entries_only);
	tcase_add_test(db, import_drac_takes_unexpired_entries);
	tcase_add_test(db, import_drac_refuses_db185);
	suite_add_tcase(s, db);
	return s;
}

int main(void)
{
	return check_run(relaydb_suite());
}
