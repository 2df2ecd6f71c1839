/* relaydb.h - the POP-before-SMTP relay authorization database (Berkeley DB or PostgreSQL) and its policy. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_RELAYDB_H
#define POPGATE_RELAYDB_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "common/cidr.h"
#include "common/config.h"

#define RELAY_USER_MAX 128
#define RELAY_PROTO_MAX 16
#define RELAY_NODE_MAX 64

/* The protocol of an entry made by hand (popgatectl add); it keeps its own ttl. */
#define RELAY_PROTO_MANUAL "manual"

/* One authorization: the record kept per client IP. */
struct relay_entry {
	char ip[IP_TEXT_MAX];          /* canonical text form (ip_canonical) */
	char user[RELAY_USER_MAX];     /* who logged in, "" for a manual entry without --user */
	char proto[RELAY_PROTO_MAX];   /* "pop3", "pop3s", "smtp-auth", "manual", ... */
	int64_t first;                 /* epoch seconds: first login of this authorization */
	int64_t last;                  /* epoch seconds: most recent login (refresh) */
	int64_t expires;               /* epoch seconds: last + ttl */
	uint32_t logins;               /* logins that refreshed it */
	char node[RELAY_NODE_MAX];     /* server.hostname of the node that recorded it last */
};

struct relaydb;

/*
 * relaydb_open - open the store relay.backend names: bdb (creating, and recovering after a crash,
 * the environment in relay.db_dir) or postgresql (relay.postgresql).
 */
int relaydb_open(const struct config *cfg, struct relaydb **db, char *err, size_t errlen);

/*
 * relaydb_open_backend - relaydb_open with BACKEND ("bdb" or "postgresql") in place of
 * relay.backend, the rest of CFG as it is (popgatectl import-relay reads the other one).
 */
int relaydb_open_backend(const struct config *cfg, const char *backend, struct relaydb **db, char *err,
			 size_t errlen);

/*
 * relaydb_put - store E whole, as it is (copied from another backend); an authorization held for
 * its address with a later last login is kept instead. 1 written, 0 kept, -1 error.
 */
int relaydb_put(struct relaydb *db, const struct relay_entry *e);

/* relaydb_close - close and set *db to NULL. */
void relaydb_close(struct relaydb **db);

/* relaydb_authorize - create or refresh IP's entry: expires = now + ttl, logins += 1. 0 or -1. */
int relaydb_authorize(struct relaydb *db, const char *ip, const char *user, const char *proto,
		      long long ttl, time_t now);

/* relaydb_get - IP's entry, expired or not: 1 found, 0 absent, -1 error. */
int relaydb_get(struct relaydb *db, const char *ip, struct relay_entry *e);

/* relaydb_del - remove IP: 1 removed, 0 absent, -1 error. */
int relaydb_del(struct relaydb *db, const char *ip);

/*
 * relaydb_revoke_user - remove every authorization recorded for USER and take it out of
 * relay.export_map; returns how many, or -1.
 */
long relaydb_revoke_user(const struct config *cfg, struct relaydb *db, const char *user, time_t now);

/* relaydb_flush - remove every entry; returns how many, or -1. */
long relaydb_flush(struct relaydb *db);

/*
 * relaydb_sweep - remove entries expired at NOW by relay_entry_expired's rule (TIMEOUT is
 * relay.timeout: a login's entry also ends then after its last refresh); how many, or -1.
 */
long relaydb_sweep(struct relaydb *db, time_t now, long long timeout);

/* relaydb_tick - housekeeping between requests (PostgreSQL: reconnect, write queued logins). */
void relaydb_tick(struct relaydb *db, time_t now);

/* relaydb_busy - whether relaydb_tick has more to do at once (the lookup worker's cache being read); false for NULL. */
bool relaydb_busy(struct relaydb *db);

/* relaydb_backend_name - "bdb" or "postgresql". */
const char *relaydb_backend_name(const struct relaydb *db);

/* relaydb_foreach - call FN for each entry in key order until it returns non-zero (FN must not write). 0 or -1. */
int relaydb_foreach(struct relaydb *db, int (*fn)(const struct relay_entry *e, void *arg), void *arg);

/*
 * Longest a long-lived worker (lookup worker, sweeper, admin worker) may go without progress inside
 * Berkeley DB before it takes itself for stuck on what a dead process held, and exits
 * (watchdog.c). A healthy operation waits at most RELAYDB_RETRIES + 1 lock timeouts (about 6 s
 * with the back-off). Time the process spends stopped (SIGSTOP) does not count.
 */
#define RELAYDB_STUCK_S 15

/* The exit status of a worker the watchdog ended (EX_TEMPFAIL, as popgatectl's for a stuck database). */
#define RELAYDB_EXIT_STUCK 75

/*
 * relaydb_watchdog_start - in a long-lived worker with the Berkeley DB backend: start the thread
 * that ends the process (logged, status RELAYDB_EXIT_STUCK) when it stays armed RELAYDB_STUCK_S
 * without progress. WHO names the worker in the log. Without it the calls below do nothing. 0 or -1.
 */
int relaydb_watchdog_start(const char *who);

/* relaydb_watchdog_arm - the worker begins its database work (a request, a loop's turn). */
void relaydb_watchdog_arm(void);

/* relaydb_watchdog_disarm - the worker waits for work, outside the database. */
void relaydb_watchdog_disarm(void);

/* Why relaying is or is not allowed for a client address. */
enum relay_reason {
	RELAY_DENY_LIST,     /* in relay.deny: refused whatever else holds */
	RELAY_ALLOW_LIST,    /* in relay.allow */
	RELAY_AUTHORIZED,    /* unexpired POP-before-SMTP authorization */
	RELAY_EXPIRED,       /* an authorization exists but has expired */
	RELAY_UNKNOWN,       /* no authorization */
	RELAY_DB_ERROR,      /* the database could not be read: fail closed, temporarily */
};

/*
 * relay_check_ip - the decision for IP at NOW from the lists and the database. DB NULL means it
 * could not be opened: the lists still apply, anything else is RELAY_DB_ERROR (fail closed).
 */
enum relay_reason relay_check_ip(const struct config *cfg, struct relaydb *db, const char *ip,
				 time_t now, struct relay_entry *e);

/*
 * relay_check_lists - the part of the decision the lists make alone: true when relay.deny or
 * relay.allow decide (or IP does not parse: RELAY_UNKNOWN), with *REASON set; false when the
 * database must be asked, with CANON set to IP's canonical text.
 */
bool relay_check_lists(const struct config *cfg, const char *ip, char canon[IP_TEXT_MAX], enum relay_reason *reason);

/*
 * relay_entry_reason - the decision from a relaydb_get result FOUND (1, 0 or -1) and its entry E
 * at NOW; a refusal is RELAY_DB_ERROR while relay.db_dir notes a login lately left unrecorded.
 */
enum relay_reason relay_entry_reason(const struct config *cfg, int found, const struct relay_entry *e, time_t now);

/*
 * relay_entry_answer - relay_entry_reason without reading that note: for a session's look-up,
 * which the lookup worker answered with the note applied (FOUND -1).
 */
enum relay_reason relay_entry_answer(const struct config *cfg, int found, const struct relay_entry *e, time_t now);

/* relay_entry_expired - whether E is no longer honoured at NOW with relay.timeout TIMEOUT (seconds). */
bool relay_entry_expired(const struct relay_entry *e, time_t now, long long timeout);

/* relay_entry_until - the moment E stops being honoured with relay.timeout TIMEOUT (what the MTA maps say). */
int64_t relay_entry_until(const struct relay_entry *e, long long timeout);

/* relay_allowed - whether REASON permits relaying. */
bool relay_allowed(enum relay_reason reason);

/* relay_reason_text - short text for logs and popgatectl check ("allow-list", "authorized", ...). */
const char *relay_reason_text(enum relay_reason reason);

/*
 * relaydb_record_login - record a POP login of USER from IP over PROTO by opening the database,
 * for popgatectl and tests: no popgated process but the lookup worker writes logins. A failure is
 * logged once. 0 or -1.
 */
int relaydb_record_login(const struct config *cfg, const char *ip, const char *user, const char *proto);

/*
 * relaydb_session_login - the hook every successful POP login (and DRAC call) runs before its
 * answer: ask the lookup worker over CHAN, the login channel (relaydb/login_channel.h), to record
 * the authorization and put it into relay.export_map, waiting up to WAIT_MS for both. The caller
 * never opens the database. When the worker does not answer in time, the failure is logged,
 * counted (SESSION_RELAYDB_ERROR) and noted so that the client's RCPTs get a 4xx for
 * relay.timeout. 0 recorded, -1 not; the login itself stands either way.
 */
int relaydb_session_login(const struct config *cfg, int chan, const char *ip, const char *user, const char *proto,
			  int wait_ms);

/*
 * relaydb_sweeper_run - the sweeper process: every relay.sweep_interval remove expired entries and
 * checkpoint; build relay.export_map at its start, remove expired keys from it within a second, and
 * rebuild it when it is missing or was left half-changed. Returns 0 once *STOP is set.
 */
int relaydb_sweeper_run(const struct config *cfg, volatile sig_atomic_t *stop);

/*
 * relaydb_export - rebuild relay.export_map's file PATH.db (when set) whole from DB at NOW, under a
 * temporary name renamed over the old file (start, repair, bulk changes).
 * *NEXT_CHANGE (may be NULL) gets the earliest time an exported entry expires, 0 if none. 0 or -1.
 */
int relaydb_export(const struct config *cfg, struct relaydb *db, time_t now, int64_t *next_change);

/*
 * relaydb_map_update - bring IP's keys in relay.export_map (when set) in step with DB at NOW, in
 * place: put with the time IP's authorization stops counting, or removed when it has none (or has
 * expired, or IP is on relay.deny). Done and synced before it returns; a map that is missing, was
 * left half-changed or cannot be changed is rebuilt whole instead. 0 or -1 (logged; the map is
 * then marked for the sweeper to rebuild).
 */
int relaydb_map_update(const struct config *cfg, struct relaydb *db, const char *ip, time_t now);

/*
 * relaydb_map_maintain - the sweeper's part: rebuild a map marked stale or missing, and remove the
 * keys expired at NOW in one batch when the earliest one is due. Cheap when there is nothing to do.
 * 0 or -1.
 */
int relaydb_map_maintain(const struct config *cfg, struct relaydb *db, time_t now);

/*
 * relaydb_login_apply - what a POP login does to the relay data, in whichever process holds DB:
 * authorize IP for relay.timeout at NOW, then put its keys into relay.export_map, so the MTAs see
 * it before the client is answered. A failed write is logged once and noted (relaydb.unrecorded).
 * 0 or -1.
 */
int relaydb_login_apply(const struct config *cfg, struct relaydb *db, const char *ip, const char *user,
			const char *proto, time_t now);

/* relaydb_import_drac is in relaydb/drac_import.h. */

#endif
