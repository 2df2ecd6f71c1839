/* pg_int.h - internals of the PostgreSQL backend: the connection with deadlines, its SQL, the local queue. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PG_INT_H
#define POPGATE_PG_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "relaydb/relaydb.h"

/*
 * The schema popgatectl db init creates and db upgrade brings older tables to. Version 2 adds
 * the trigger that notifies every change (the lookup workers' caches, pg_cache_sync.c).
 */
#define PG_SCHEMA_VERSION 2

/* How often a lookup worker whose cache could not be loaded (too many rows, old schema) tries again. */
#define PG_CACHE_RETRY_MS 60000

/*
 * How long a lookup worker answers from its cache without hearing from the server: past it, one
 * cheap query proves the connection (and so the notifications) still alive. A connection that
 * dies without a word (a network cut) is found within this and relay.store_timeout.
 */
#define PG_CACHE_HEARTBEAT_MS 1000

/*
 * How long one tick of the lookup worker reads pages of the table into its cache before it
 * answers requests again: what a lookup may wait behind the load (plus one page's query).
 */
#define PG_CACHE_STEP_MS 10

/* Rows one sweep statement deletes, so a big sweep never holds many row locks for long. */
#define PG_SWEEP_BATCH 1000

/* Rows one foreach page reads: each page is one query with its own deadline. */
#define PG_PAGE_ROWS 1000

/* pg_try_advisory_lock key the sweeping node holds: "popg". */
#define PG_SWEEP_LOCK_KEY "1886351207"

/* How much later than relay.store_timeout the server cancels a statement (statement_timeout). */
#define PG_SERVER_SLACK_MS 100

/* How often a store that is down is tried again (each try costs at most relay.store_timeout). */
#define PG_RETRY_MS 1000

/* Written authorizations remembered as the local copy for an outage, per process. */
#define PGQ_DONE_MAX 16384

/* Queue file and its lock in relay.db_dir: logins written while the store was down. */
#define PGQ_FILE "pg-queue"
#define PGQ_LOCK_FILE "pg-queue.lock"

/* The store's state for /metrics, in relay.db_dir (written by the lookup worker). */
#define PG_STATUS_FILE "pg-status"

/* Longest queue file line: address, user and protocol percent-encoded, two numbers, separators. */
#define PGQ_LINE_MAX (IP_TEXT_MAX + 3 * RELAY_USER_MAX + 3 * RELAY_PROTO_MAX + 64)

/* The SQL, in pg_sql.c. */
extern const char *const pg_sql_schema[];   /* NULL-terminated statements of db init (version 1) */
extern const char pg_sql_version[];
extern const char pg_sql_upsert[];
extern const char pg_sql_replay[];
extern const char pg_sql_put[];
extern const char pg_sql_get[];
extern const char pg_sql_page_first[];
extern const char pg_sql_page_next[];
extern const char pg_sql_del[];
extern const char pg_sql_flush[];
extern const char pg_sql_sweep_lock[];
extern const char pg_sql_sweep_unlock[];
extern const char pg_sql_sweep_batch[];
extern const char *const pg_sql_schema_v2[]; /* NULL-terminated steps from version 1 to 2 */
extern const char pg_sql_listen[];
extern const char pg_sql_unlisten[];
extern const char pg_sql_ping[];

/* One login to write: what relaydb_authorize was given. */
struct pgq_item {
	char ip[IP_TEXT_MAX];
	char user[RELAY_USER_MAX];
	char proto[RELAY_PROTO_MAX];
	int64_t now;
	int64_t ttl;
};

/* Text parameters of pg_sql_upsert for one item; VALUES points into the struct and the item. */
struct pg_upsert_params {
	char now[24];
	char ttl[24];
	const char *values[6];
};

/* pg_upsert_params - fill P for writing IT recorded by NODE. */
void pg_upsert_params(struct pg_upsert_params *p, const struct pgq_item *it, const char *node);

/* Columns of pg_sql_get and the page queries, in order. */
enum { PG_COL_ADDRESS, PG_COL_USER, PG_COL_PROTO, PG_COL_NODE, PG_COL_FIRST, PG_COL_LAST,
       PG_COL_EXPIRES, PG_COL_LOGINS, PG_COL_LIVE, PG_COLS };

/*
 * pg_entry_from_text - E from one row's column texts. The database's clock decides expiry
 * (expires > now() there): a row it calls expired is given an expiry no later than NOW. 0 or -1.
 */
int pg_entry_from_text(const char *const cols[PG_COLS], time_t now, struct relay_entry *e);

/* A connection whose every step has a deadline. */
/* The backend's own statements, each prepared once per connection (pg_conn_exec_prepared). */
#define PG_PREPARED_MAX 24

struct pg_conn {
	void *c;                  /* PGconn, or NULL when not connected */
	char *conninfo;
	long long timeout_ms;     /* relay.store_timeout */
	char err[256];            /* why the last step failed */
	long long last_us;        /* latency of the last query */
	long long ok_at_us;       /* monotonic time of the last answer from the server */
	unsigned long long queries, total_us;
	unsigned long gen;        /* counts connections made: a LISTEN holds only on its own */
	const char *prepared[PG_PREPARED_MAX]; /* statements prepared on this connection, by text */
	int nprepared;
};

/* pg_conn_connect - connect within the deadline. 0, or -1 with ERR set. */
int pg_conn_connect(struct pg_conn *pc);

/* pg_conn_close - drop the connection. */
void pg_conn_close(struct pg_conn *pc);

/*
 * pg_conn_exec - run SQL with N text PARAMS within the deadline: the PGresult (a command or rows),
 * or NULL with ERR set; *LOST tells whether the connection went (timeout or broken) and was closed.
 */
void *pg_conn_exec(struct pg_conn *pc, const char *sql, int n, const char *const *params, bool *lost);

/*
 * pg_conn_exec_prepared - pg_conn_exec for SQL that is a constant of pg_sql.c: prepared on this
 * connection at its first use, then only executed, so the server parses and plans it once per
 * connection instead of once per login (three quarters of an upsert's server time).
 */
void *pg_conn_exec_prepared(struct pg_conn *pc, const char *sql, int n, const char *const *params, bool *lost);

/* The local queue: the file mirrors PEND; DONE is the local copy of what was written. */
struct pgq {
	char path[PATH_MAX];
	char lock[PATH_MAX];
	int lockfd;
	off_t loaded;             /* size of the file PEND was read from */
	struct pgq_item *pend;
	size_t npend, cappend;
	struct pgq_item *done;
	size_t ndone;
};

/* pgq_format - IT as one queue line (with its newline) in BUF: the length, or 0 when it does not fit. */
size_t pgq_format(const struct pgq_item *it, char *buf, size_t len);

/* pgq_parse - one queue LINE (without newline) into IT. 0 or -1. */
int pgq_parse(const char *line, struct pgq_item *it);

/* pgq_init - Q for the queue in DIR (the file is created when first needed). 0 or -1. */
int pgq_init(struct pgq *q, const char *dir);

/* pgq_free - release Q's memory and lock file descriptor. */
void pgq_free(struct pgq *q);

/* pgq_reload - read the file again when another process changed it. 0 or -1. */
int pgq_reload(struct pgq *q);

/* pgq_append - add IT to the file (synced before return) and to PEND. 0 or -1. */
int pgq_append(struct pgq *q, const struct pgq_item *it);

/* pgq_remember - keep IT, written to the store, in the local copy. */
void pgq_remember(struct pgq *q, const struct pgq_item *it);

/* pgq_forget - drop CANON (NULL: everything) from the local copy after a revocation or flush. */
void pgq_forget(struct pgq *q, const char *canon);

/* pgq_find - CANON's authorization from the local copy at NOW: 1 found (E set), 0 not. */
int pgq_find(const struct pgq *q, const char *canon, struct relay_entry *e, const char *node);

/*
 * pgq_drain - under the queue lock, WRITE each pending item in order until one fails; what was
 * written leaves the file (the rest is kept). Returns how many are left, or -1.
 */
long pgq_drain(struct pgq *q, int (*write)(const struct pgq_item *it, void *arg), void *arg);

#endif
