/* relaydb_int.h - internals shared by the relaydb modules: the handle, its environment, the record codec. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_RELAYDB_INT_H
#define POPGATE_RELAYDB_INT_H

#include <db.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "relaydb/relaydb.h"
#include "common/stats_report.h" /* stats_note_relaydb_error: /metrics counts them */

/* File name of the btree inside relay.db_dir. */
#define RELAYDB_FILE "relay.db"

/* Lock file in relay.db_dir that serialises environment opens between processes. */
#define RELAYDB_OPEN_LOCK "relaydb.open.lock"

/* Note of the last authorization that could not be written (unrecorded.c). */
#define RELAYDB_UNRECORDED_FILE "relaydb.unrecorded"

/*
 * Bytes the region files take once allocated whole: what this process maps of them, measured by
 * check_relaydb (regions_are_allocated), which fails when the configuration outgrows it.
 */
#define RELAYDB_REGION_BYTES (24u << 20)

/* Free space a new environment needs beyond its regions: the first log file's writes and the btree. */
#define RELAYDB_SPACE_HEADROOM (1u << 20)

/* How long a lock request waits before it fails instead of hanging behind a dead process. */
#define RELAYDB_LOCK_TIMEOUT_US 1000000u

/* How often an operation is retried after a deadlock or lock timeout before it gives up. */
#define RELAYDB_RETRIES 4

/* Processes that may have the environment open at once (Berkeley DB's thread table). */
#define RELAYDB_MAX_PROCESSES 2048

/* Deletions per transaction in sweep and flush, so a big sweep never fills the lock table. */
#define RELAYDB_BATCH 256

/* Largest encoded record: header plus the longest user and protocol. */
#define RELAY_RECORD_MAX (31 + RELAY_USER_MAX + RELAY_PROTO_MAX)

/*
 * A backend: where authorizations are kept (relay.backend). Keys reach it in canonical text form
 * (ip_canonical); each function has the meaning of the relaydb_ function of the same name.
 */
struct relaydb_ops {
	const char *name;
	int (*authorize)(struct relaydb *db, const char *canon, const char *user, const char *proto,
			 long long ttl, time_t now);
	int (*get)(struct relaydb *db, const char *canon, struct relay_entry *e);
	int (*del)(struct relaydb *db, const char *canon);
	int (*put)(struct relaydb *db, const struct relay_entry *e);   /* E->ip is canonical */
	long (*flush)(struct relaydb *db);
	long (*sweep)(struct relaydb *db, time_t now, long long timeout);
	int (*foreach)(struct relaydb *db, int (*fn)(const struct relay_entry *e, void *arg), void *arg);
	void (*tick)(struct relaydb *db, time_t now);   /* housekeeping between requests; may be NULL */
	bool (*busy)(struct relaydb *db);                /* tick has more to do at once; may be NULL */
	void (*close)(struct relaydb *db);               /* release and free DB */
};

/* The two backends (bdb_backend.c, pg_backend.c). */
extern const struct relaydb_ops relaydb_bdb_ops;
extern const struct relaydb_ops relaydb_pg_ops;

struct pgstore;

/*
 * Berkeley DB's DB_REGISTER allows one environment handle per process, so relaydb_open hands out
 * one shared, reference-counted handle per directory and process. A PostgreSQL handle uses only
 * ops, pg, node and home (for the note of an unrecorded login).
 */
struct relaydb {
	const struct relaydb_ops *ops;
	struct pgstore *pg;   /* relay.backend = postgresql */
	char node[RELAY_NODE_MAX]; /* server.hostname: the node column of what this process records */
	struct relaydb *next; /* the process's list of open handles */
	unsigned refs;
	DB_ENV *env;
	DB *db;
	pid_t pid;            /* the process that opened env and db: a forked child must not use them */
	bool broken;          /* an error asked for a reopen (DB_RUNRECOVERY, repeated lock timeouts) */
	char home[PATH_MAX];
};

/* relaydb_bdb_open - open (sharing) the Berkeley DB handle for CFG's relay.db_dir. 0 or -1. */
int relaydb_bdb_open(const struct config *cfg, struct relaydb **db, char *err, size_t errlen);

/*
 * relaydb_pg_report_outages - whether this process logs the store's outages as warnings (the
 * lookup worker, which sees every login and RCPT); others say it at debug level, so that an
 * outage is one warning in the log, not one per process.
 */
extern bool relaydb_pg_report_outages;

/*
 * relaydb_pg_cache - whether this process (the relay lookup worker) keeps the store's table in
 * memory, up to relay.store_cache_max rows, and answers lookups from it (pg_cache.c). Set before
 * relaydb_open.
 */
extern bool relaydb_pg_cache;

/* relaydb_pg_open - connect to relay.postgresql (a failed connection is retried later, not an error). 0 or -1. */
int relaydb_pg_open(const struct config *cfg, struct relaydb **db, char *err, size_t errlen);

/* bdb_flush, bdb_sweep, bdb_foreach - the Berkeley DB walks (scan.c). */
long bdb_flush(struct relaydb *db);
long bdb_sweep(struct relaydb *db, time_t now, long long timeout);
int bdb_foreach(struct relaydb *db, int (*fn)(const struct relay_entry *e, void *arg), void *arg);

/* relaydb_node_name - server.hostname, or the system's host name, into OUT. */
void relaydb_node_name(const struct config *cfg, char *out, size_t size);

/* relaydb_mkdir_p - create PATH and missing parents, the last one with MODE. 0 or -1. */
int relaydb_mkdir_p(const char *path, mode_t mode);

/* relaydb_env_open - open DB->env and DB->db in DB->home, running recovery when a process died. */
int relaydb_env_open(struct relaydb *db, char *err, size_t errlen);

/* relaydb_env_close - close the handles, or abandon them when they belong to another process. */
void relaydb_env_close(struct relaydb *db);

/* relaydb_ready - reopen after a fork or a fatal error so the handles are usable here. 0 or -1. */
int relaydb_ready(struct relaydb *db);

/* relaydb_failed - log a Berkeley DB error once with context and mark the handle for reopening if needed. */
void relaydb_failed(struct relaydb *db, int ret, const char *what, const char *ip);

/* relaydb_retryable - whether RET is a transient lock conflict worth retrying. */
bool relaydb_retryable(int ret);

/* relaydb_backoff - sleep a little before retry ATTEMPT (1, 2, ...) so conflicting writers drift apart. */
void relaydb_backoff(int attempt);

/* relaydb_failchk - clean up after processes that died inside the environment, reopening if needed. 0 or -1. */
int relaydb_failchk(struct relaydb *db);

/* relaydb_watchdog_progress - an operation begins or a walk moves on: the bound counts anew (if armed). */
void relaydb_watchdog_progress(void);

/* relaydb_watchdog_disarm - the worker waits for work, outside the database. */
void relaydb_watchdog_disarm(void);

/*
 * relaydb_watchdog_suspend, _resume - around a wait on another process's file lock (the open
 * lock, the export map's, held across a map rebuild): not counted, since exiting would not end
 * it (a new worker would wait on it too). Suspend says whether it was armed; resume takes that.
 */
bool relaydb_watchdog_suspend(void);
void relaydb_watchdog_resume(bool was_armed);

/* relaydb_expire_locks - fail lock requests that waited past their timeout; how many, or -1. */
int relaydb_expire_locks(struct relaydb *db);

/* relaydb_checkpoint - flush the cache and let the log files that are no longer needed go. 0 or -1. */
int relaydb_checkpoint(struct relaydb *db);

/*
 * relaydb_space_check - before opening HOME: refuse to create an environment on a filesystem
 * without room for it (ERR names the directory, free and needed bytes). *EXISTS: whether one
 * exists already. 0 or -1.
 */
int relaydb_space_check(const char *home, bool *exists, char *err, size_t errlen);

/*
 * relaydb_space_allocate - after opening HOME: give each region file its blocks up to what this
 * process maps; CREATED when the open made the environment. 0 or -1.
 */
int relaydb_space_allocate(const char *home, bool created, char *err, size_t errlen);

/* relaydb_unrecorded_prepare - create and allocate HOME's note of a lost authorization. 0 or -1. */
int relaydb_unrecorded_prepare(const char *home, char *err, size_t errlen);

/* relaydb_unrecorded_note - remember that an authorization could not be written at NOW. */
void relaydb_unrecorded_note(const char *home, time_t now);

/* relaydb_unrecorded_last - when an authorization last could not be written in HOME, 0 if never. */
time_t relaydb_unrecorded_last(const char *home);

/* relay_record_encode - serialise E (all but the ip) into BUF; returns the length, 0 if too small. */
size_t relay_record_encode(const struct relay_entry *e, uint8_t *buf, size_t len);

/* relay_record_decode - parse a stored record for key IP into E. 0, or -1 when it is corrupt. */
int relay_record_decode(const void *data, size_t len, const char *ip, size_t iplen, struct relay_entry *e);

/* Longest export map key: "IPv6:" and eight groups of four hex digits with colons. */
#define RELAY_MAP_KEY_MAX 48

/* Most keys one address is exported under. */
#define RELAY_MAP_KEYS 3

/*
 * relay_map_keys - the keys MTAs look CANON up under: itself, and for IPv6 also "IPv6:" + the
 * uncompressed form and its lower-case twin. Returns how many (0 if CANON is no address).
 */
int relay_map_keys(const char *canon, char keys[RELAY_MAP_KEYS][RELAY_MAP_KEY_MAX]);

/*
 * relay_map_until - when E stops counting, the value the map holds for it: 0 when it must not be
 * in the map at NOW (expired, or its address on relay.deny).
 */
int64_t relay_map_until(const struct config *cfg, const struct relay_entry *e, time_t now);

/* The files of relay.export_map = PATH. */
struct relay_map_paths {
	char db[PATH_MAX];         /* PATH.db, what the MTAs open */
	char lock[PATH_MAX];       /* PATH.lock, the writers' lock and the map's state */
	char tmp[PATH_MAX + 32];   /* PATH.db.tmp.PID, a rebuild in progress */
	char dir[PATH_MAX];        /* the directory, synced after a rename */
};

/* relay_map_paths - fill P for CFG: 1, 0 when no map is configured, -1 when a path is too long. */
int relay_map_paths(const struct config *cfg, struct relay_map_paths *p);

/* relay_map_lock - the writers' exclusive lock on P->lock (serialises every writer); the fd, or -1. */
int relay_map_lock(const struct relay_map_paths *p);

/*
 * What PATH.lock holds, read and written under the writers' lock. STALE: a change began and did
 * not finish (a writer died or failed): the map may be out of step and is rebuilt. NEXT_EXPIRY:
 * the earliest value in the map, so the sweeper knows when a batch of keys expires (0: none).
 */
struct relay_map_state {
	uint32_t magic;
	uint32_t stale;
	int64_t next_expiry;
};

/*
 * relay_map_keep_open - ON: this process (a long-lived writer, the relay lookup worker) keeps
 * relay.export_map's files open between its changes, and checks before each that nobody else
 * changed the map meanwhile; OFF: close them (at the worker's end).
 */
void relay_map_keep_open(bool on);

/* relay_map_state_read - P's state from LOCKFD (or the path when LOCKFD < 0); a missing or short file is stale. */
void relay_map_state_read(const struct relay_map_paths *p, int lockfd, struct relay_map_state *st);

/* relay_map_state_write - store ST in LOCKFD. 0 or -1. */
int relay_map_state_write(int lockfd, const struct relay_map_state *st);

/*
 * relay_map_rebuild - under the writers' lock LOCKFD, build the whole map from DB at NOW under a
 * temporary name and rename it over P->db; resets the state. *NEXT_CHANGE (may be NULL) gets the
 * earliest expiry. 0 or -1 (the state stays stale).
 */
int relay_map_rebuild(const struct config *cfg, struct relaydb *db, const struct relay_map_paths *p,
		      int lockfd, time_t now, int64_t *next_change);

#endif
