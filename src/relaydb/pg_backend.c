/*
 * pg_backend.c - the PostgreSQL backend (relay.backend = postgresql): one relay_auth table shared
 * by every node. When the store is down or slower than relay.store_timeout, a login is queued in
 * relay.db_dir (pg_queue.c) and written when it returns; reads answer from this node's local copy
 * or fail (the RCPT gets 451, never 5xx). One warning per outage.
 */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "relaydb/pg_cache.h"
#include "relaydb/pg_int.h"
#include "relaydb/pg_lib.h"
#include "relaydb/pg_store.h"
#include "relaydb/relaydb_int.h"

bool relaydb_pg_report_outages;
bool relaydb_pg_cache;

struct pgstore {
	struct pg_conn conn;
	struct pgq q;
	struct pgc cache;         /* the lookup worker's copy of the table (relaydb_pg_cache) */
	long long cache_retry_at; /* monotonic ms of the next load after one that could not be used */
	long long relay_timeout;  /* relay.timeout, for the expiry rule at lookup time */
	long long cache_load_ms;  /* time spent reading the table so far */
	bool down;                /* the outage was logged */
	long long retry_at;       /* monotonic ms of the next connection attempt while down */
	time_t status_at;         /* when pg-status was last written */
	char dir[PATH_MAX];
};

/* went_down - the store failed: log once per outage, and wait PG_RETRY_MS before trying again. */
static void went_down(struct pgstore *st)
{
	st->retry_at = mono_ms() + PG_RETRY_MS;
	if (st->down)
		return;
	st->down = true;
	log_msg(relaydb_pg_report_outages ? LOG_WARNING : LOG_DEBUG,
		"relaydb: the PostgreSQL store is unavailable (%s); logins are queued in %s until it returns",
		st->conn.err, st->q.path);
}

/* came_back - a query succeeded: the outage, if any, is over (said once). */
static void came_back(struct pgstore *st)
{
	if (!st->down)
		return;
	st->down = false;
	log_msg(relaydb_pg_report_outages ? LOG_INFO : LOG_DEBUG, "relaydb: the PostgreSQL store is available again");
}

/* run - SQL (a pg_sql.c constant) on the open connection: the result, or NULL (outage noted, SQL error logged). */
static PGresult *run(struct pgstore *st, const char *sql, int n, const char *const *params, const char *what)
{
	PGresult *r;
	bool lost;

	if ((r = pg_conn_exec_prepared(&st->conn, sql, n, params, &lost)) != NULL) {
		came_back(st);
		return r;
	}
	if (lost) {
		went_down(st);
	} else {
		log_err("relaydb: postgresql %s: %s", what, st->conn.err);
		stats_note_relaydb_error(); /* an outage is the store's own metrics; an SQL error is ours */
	}
	return NULL;
}

/* write_item - pgq_drain's writer: one queued login upserted. */
static int write_item(const struct pgq_item *it, void *arg)
{
	struct relaydb *db = arg;
	struct pg_upsert_params p;
	PGresult *r;

	pg_upsert_params(&p, it, db->node);
	if ((r = run(db->pg, pg_sql_replay, 6, p.values, "write queued login")) == NULL)
		return -1;
	pq.PQclear(r);
	return 0;
}

/* drain - write what is queued; 0 when nothing is left. */
static int drain(struct relaydb *db)
{
	struct pgstore *st = db->pg;
	long left;

	if (pgq_reload(&st->q) < 0 || st->q.npend == 0)
		return 0;
	left = pgq_drain(&st->q, write_item, db);
	if (left == 0 && relaydb_pg_report_outages)
		log_info("relaydb: the queued authorizations were written to the PostgreSQL store");
	return left == 0 ? 0 : -1;
}

/* ready - a usable connection (connecting, at most once per PG_RETRY_MS while down). 0 or -1. */
static int ready(struct relaydb *db)
{
	struct pgstore *st = db->pg;

	if (st->conn.c != NULL && pq.PQstatus(st->conn.c) == CONNECTION_OK)
		return 0;
	if (st->down && mono_ms() < st->retry_at)
		return -1;
	if (pg_conn_connect(&st->conn) < 0) {
		went_down(st);
		return -1;
	}
	/* Back only once a query succeeds: a store that accepts connections may still be stuck. */
	return drain(db) < 0 && st->conn.c == NULL ? -1 : 0;
}

/* exec - run SQL when the store is ready: the result, or NULL (an outage is noted, an SQL error logged). */
static PGresult *exec(struct relaydb *db, const char *sql, int n, const char *const *params, const char *what)
{
	if (ready(db) < 0)
		return NULL;
	return run(db->pg, sql, n, params, what);
}

/*
 * cache_changed - this process changed CANON (NULL: every row): its cached answer goes now,
 * before the notification of the change comes back.
 */
static void cache_changed(struct relaydb *db, const char *canon)
{
	if (canon != NULL)
		pgc_forget(&db->pg->cache, canon);
	else
		pgc_clear(&db->pg->cache);
}

static int pg_authorize(struct relaydb *db, const char *canon, const char *user, const char *proto,
			long long ttl, time_t now)
{
	struct pgq_item it = { .now = now, .ttl = ttl };
	struct pg_upsert_params p;
	PGresult *r;

	snprintf(it.ip, sizeof(it.ip), "%s", canon);
	snprintf(it.user, sizeof(it.user), "%s", user);
	snprintf(it.proto, sizeof(it.proto), "%s", proto);
	pg_upsert_params(&p, &it, db->node);
	/* Queued logins first, so that the table sees them in order. */
	if (ready(db) == 0 && drain(db) == 0 && (r = exec(db, pg_sql_upsert, 6, p.values, "authorize")) != NULL) {
		pq.PQclear(r);
		cache_changed(db, canon);
		pgq_remember(&db->pg->q, &it);
		return 0;
	}
	return pgq_append(&db->pg->q, &it);
}

/* row_entry - row I of R into E. 0 or -1 (logged). */
static int row_entry(const PGresult *r, int i, struct relay_entry *e)
{
	const char *cols[PG_COLS];

	if (pq.PQnfields(r) != PG_COLS)
		return -1;
	for (int c = 0; c < PG_COLS; c++)
		cols[c] = pq.PQgetisnull(r, i, c) ? NULL : pq.PQgetvalue(r, i, c);
	if (pg_entry_from_text(cols, time(NULL), e) < 0) {
		log_warn("relaydb: postgresql: skipping a row that does not fit (%s)", cols[PG_COL_ADDRESS]);
		return -1;
	}
	return 0;
}

/*
 * cached - CANON from the lookup worker's cache, after reading what the server has sent (a
 * notification already here is applied before any answer): 1 as pg_get, or -1 ask the store.
 * Only an authorization that counts now (relay_entry_expired) is answered from memory: a
 * refusal is always the store's, so that a login on another node a moment ago is never refused
 * here because its notification is still on its way.
 */
static int cached(struct relaydb *db, const char *canon, struct relay_entry *e)
{
	struct pgstore *st = db->pg;

	if (!pgc_valid(&st->cache, &st->conn))
		return -1;
	if (pgc_poll(&st->cache, &st->conn) < 0) {
		went_down(st);
		return -1;
	}
	if (pgc_get(&st->cache, canon, e) != 1 || relay_entry_expired(e, time(NULL), st->relay_timeout))
		return -1;
	return 1;
}

/* remember - the store's answer FOUND (E) for CANON into the cache, when it is valid. */
static void remember(struct relaydb *db, const char *canon, int found, const struct relay_entry *e)
{
	struct pgstore *st = db->pg;

	if (!pgc_valid(&st->cache, &st->conn))
		return;
	if (found == 1 && strcmp(e->ip, canon) == 0)
		(void)pgc_put(&st->cache, e);
	else if (found == 0)
		pgc_forget(&st->cache, canon);
}

static int pg_get(struct relaydb *db, const char *canon, struct relay_entry *e)
{
	const char *params[1] = { canon };
	PGresult *r;
	int found;

	if ((found = cached(db, canon, e)) >= 0)
		return found;
	if ((r = exec(db, pg_sql_get, 1, params, "get")) == NULL) {
		/* The store is away: this node's own logins are still known here. */
		if (db->pg->conn.c == NULL && pgq_reload(&db->pg->q) == 0 &&
		    pgq_find(&db->pg->q, canon, e, db->node) == 1)
			return 1;
		return -1;
	}
	found = pq.PQntuples(r) > 0 ? (row_entry(r, 0, e) == 0 ? 1 : -1) : 0;
	pq.PQclear(r);
	remember(db, canon, found, e);
	return found;
}

/* changed - the row count of a DELETE result R (freed), or -1 when R is NULL. */
static long changed(PGresult *r)
{
	long n;

	if (r == NULL)
		return -1;
	n = strtol(pq.PQcmdTuples(r), NULL, 10);
	pq.PQclear(r);
	return n;
}

static int pg_del(struct relaydb *db, const char *canon)
{
	const char *params[1] = { canon };
	long n = changed(exec(db, pg_sql_del, 1, params, "del"));

	if (n < 0)
		return -1;
	pgq_forget(&db->pg->q, canon);
	cache_changed(db, canon);
	return n > 0 ? 1 : 0;
}

static int pg_put(struct relaydb *db, const struct relay_entry *e)
{
	char t[3][24], logins[16];
	const char *params[8] = { e->ip, e->user, e->proto, e->node[0] != '\0' ? e->node : db->node,
				  t[0], t[1], t[2], logins };
	long n;

	snprintf(t[0], sizeof(t[0]), "%lld", (long long)e->first);
	snprintf(t[1], sizeof(t[1]), "%lld", (long long)e->last);
	snprintf(t[2], sizeof(t[2]), "%lld", (long long)e->expires);
	snprintf(logins, sizeof(logins), "%u", e->logins);
	n = changed(exec(db, pg_sql_put, 8, params, "put"));
	cache_changed(db, e->ip);
	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

static long pg_flush(struct relaydb *db)
{
	long n = changed(exec(db, pg_sql_flush, 0, NULL, "flush"));

	if (n >= 0)
		pgq_forget(&db->pg->q, NULL);
	cache_changed(db, NULL);
	return n;
}

/* sweep_batches - delete expired rows PG_SWEEP_BATCH at a time (under the advisory lock). */
static long sweep_batches(struct relaydb *db, time_t now, long long timeout)
{
	char when[24], limit[16], tmo[24];
	const char *params[3] = { when, limit, tmo };
	long total = 0, n;

	snprintf(when, sizeof(when), "%lld", (long long)now);
	snprintf(limit, sizeof(limit), "%d", PG_SWEEP_BATCH);
	snprintf(tmo, sizeof(tmo), "%lld", timeout);
	do {
		if ((n = changed(exec(db, pg_sql_sweep_batch, 3, params, "sweep"))) < 0)
			return -1;
		total += n;
	} while (n == PG_SWEEP_BATCH);
	return total;
}

static long pg_sweep(struct relaydb *db, time_t now, long long timeout)
{
	PGresult *r = exec(db, pg_sql_sweep_lock, 0, NULL, "sweep lock");
	bool mine;
	long n;

	if (r == NULL)
		return -1;
	mine = pq.PQntuples(r) == 1 && strcmp(pq.PQgetvalue(r, 0, 0), "t") == 0;
	pq.PQclear(r);
	if (!mine)
		return 0;   /* another node is sweeping */
	n = sweep_batches(db, now, timeout);
	if ((r = exec(db, pg_sql_sweep_unlock, 0, NULL, "sweep unlock")) != NULL)
		pq.PQclear(r);
	return n;
}

/* page - call FN for each row of R; *LAST gets the last address. 1 when FN stopped, 0, -1. */
static int page(const PGresult *r, int (*fn)(const struct relay_entry *e, void *arg), void *arg,
		char last[IP_TEXT_MAX])
{
	struct relay_entry e;

	for (int i = 0; i < pq.PQntuples(r); i++) {
		if (row_entry(r, i, &e) < 0)
			continue;
		memcpy(last, e.ip, IP_TEXT_MAX);
		if (fn(&e, arg) != 0)
			return 1;
	}
	return 0;
}

static int pg_foreach(struct relaydb *db, int (*fn)(const struct relay_entry *e, void *arg), void *arg)
{
	char limit[16], last[IP_TEXT_MAX] = "";
	const char *params[2] = { limit, last };
	int rows;

	snprintf(limit, sizeof(limit), "%d", PG_PAGE_ROWS);
	/* Pages in address order, each its own query with its own deadline. */
	do {
		PGresult *r = exec(db, last[0] == '\0' ? pg_sql_page_first : pg_sql_page_next,
				   last[0] == '\0' ? 1 : 2, params, "list");
		int stop;

		if (r == NULL)
			return -1;
		rows = pq.PQntuples(r);
		stop = page(r, fn, arg, last);
		pq.PQclear(r);
		if (stop)
			return 0;
	} while (rows == PG_PAGE_ROWS);
	return 0;
}

/* write_status - the store's state for /metrics (pg_store.h), at most once a second. */
static void write_status(struct relaydb *db, time_t now)
{
	struct pgstore *st = db->pg;
	struct pg_store_status s = {
		.up = st->conn.c != NULL,
		.queued = st->q.npend,
		.last_us = st->conn.last_us,
		.queries = st->conn.queries,
		.total_us = st->conn.total_us,
	};

	if (now == st->status_at)
		return;
	st->status_at = now;
	(void)pg_store_status_write(st->dir, &s);
}

/*
 * cache_load - read pages of the table into the cache for up to PG_CACHE_STEP_MS, so that the
 * worker answers between them; one that cannot be used is tried again after PG_CACHE_RETRY_MS.
 */
static void cache_load(struct relaydb *db)
{
	struct pgstore *st = db->pg;
	long long start = mono_ms();
	char err[256];
	int rc;

	if (start < st->cache_retry_at)
		return;
	if (!st->cache.loading)
		st->cache_load_ms = 0;
	while ((rc = pgc_load_step(&st->cache, &st->conn, err, sizeof(err))) == 2 &&
	       mono_ms() - start < PG_CACHE_STEP_MS)
		;
	st->cache_load_ms += mono_ms() - start;
	if (rc == 2)
		return;
	if (rc == 0) {
		came_back(st);
		log_info("relaydb: the lookup worker holds the store's %zu authorizations in memory (read in %lld ms)",
			 st->cache.n, st->cache_load_ms);
		return;
	}
	if (st->conn.c == NULL) {
		went_down(st);
		return;
	}
	st->cache_retry_at = mono_ms() + PG_CACHE_RETRY_MS;
	log_warn("relaydb: the lookup worker asks the PostgreSQL store at every lookup: %s", err);
}

/*
 * cache_tick - keep the lookup worker's cache in step between requests: apply notifications,
 * prove a quiet connection alive (PG_CACHE_HEARTBEAT_MS), or load the table when the cache is
 * not valid (first connection, a connection lost, a TRUNCATE, more rows than it may hold).
 */
static void cache_tick(struct relaydb *db)
{
	struct pgstore *st = db->pg;
	PGresult *r;

	if (st->cache.max == 0 || st->conn.c == NULL)
		return;
	/* Read even when the copy is not in use, so that notifications never pile up in libpq. */
	if (pgc_poll(&st->cache, &st->conn) < 0) {
		went_down(st);
		return;
	}
	if (!pgc_valid(&st->cache, &st->conn)) {
		cache_load(db);
		return;
	}
	if (mono_ms() * 1000 - st->conn.ok_at_us >= PG_CACHE_HEARTBEAT_MS * 1000LL &&
	    (r = run(st, pg_sql_ping, 0, NULL, "ping")) != NULL)
		pq.PQclear(r);
}

static void pg_tick(struct relaydb *db, time_t now)
{
	struct pgstore *st = db->pg;

	if (pgq_reload(&st->q) == 0 && (st->q.npend > 0 || st->down || st->conn.c == NULL))
		(void)ready(db);
	if (st->conn.c != NULL && st->q.npend > 0)
		(void)drain(db);
	cache_tick(db);
	write_status(db, now);
}

/* pg_busy - the lookup worker is reading the table into its cache: come back at once (not while disconnected). */
static bool pg_busy(struct relaydb *db)
{
	return db->pg->cache.loading && db->pg->conn.c != NULL;
}

static void pg_close(struct relaydb *db)
{
	pg_conn_close(&db->pg->conn);
	free(db->pg->conn.conninfo);
	pgq_free(&db->pg->q);
	pgc_free(&db->pg->cache);
	free(db->pg);
	free(db);
}

const struct relaydb_ops relaydb_pg_ops = {
	.name = "postgresql",
	.authorize = pg_authorize,
	.get = pg_get,
	.del = pg_del,
	.put = pg_put,
	.flush = pg_flush,
	.sweep = pg_sweep,
	.foreach = pg_foreach,
	.tick = pg_tick,
	.busy = pg_busy,
	.close = pg_close,
};

int relaydb_pg_open(const struct config *cfg, struct relaydb **dbp, char *err, size_t errlen)
{
	const char *dir = conf(cfg)->relay.db_dir;
	struct relaydb *db = calloc(1, sizeof(*db));
	struct pgstore *st = calloc(1, sizeof(*st));

	*dbp = NULL;
	if (st != NULL)
		st->q.lockfd = -1;
	if (db == NULL || st == NULL || (st->conn.conninfo = strdup(conf(cfg)->relay.postgresql)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	db->ops = &relaydb_pg_ops;
	db->pg = st;
	relaydb_node_name(cfg, db->node, sizeof(db->node));
	st->conn.timeout_ms = cfg_parse_millis(conf(cfg)->relay.store_timeout);
	/* relay.db_dir still holds the queue, the lookup socket and the note of an unrecorded login. */
	if (dir[0] == '\0' || snprintf(db->home, sizeof(db->home), "%s", dir) >= (int)sizeof(db->home) ||
	    snprintf(st->dir, sizeof(st->dir), "%s", dir) >= (int)sizeof(st->dir) ||
	    relaydb_mkdir_p(dir, 0750) < 0 || pgq_init(&st->q, dir) < 0) {
		snprintf(err, errlen, "relay.db_dir %s: unset, too long or cannot be made", dir);
		goto fail;
	}
	if (st->conn.conninfo[0] == '\0') {
		snprintf(err, errlen, "relay.backend = postgresql needs relay.postgresql");
		goto fail;
	}
	st->relay_timeout = conf(cfg)->relay.timeout;
	if (pgc_init(&st->cache, relaydb_pg_cache ? (size_t)conf(cfg)->relay.store_cache_max : 0) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	(void)ready(db);  /* a store that is down now is tried again later */
	*dbp = db;
	return 0;
fail:
	if (st != NULL) {
		free(st->conn.conninfo);
		pgq_free(&st->q);
		pgc_free(&st->cache);
	}
	free(st);
	free(db);
	return -1;
}
