/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.h - live counters and the latest session events, kept by the master in shared memory.
 *
 * Only the master writes (it is the one process that hears every session's reports); the admin
 * worker reads a consistent snapshot through a sequence counter, without locks or syscalls.
 *
 * Who holds what: the master alone maps the page writable, and that mapping is not inherited by
 * fork (MADV_DONTFORK), so no session or worker has it. The memory file is sealed against any new
 * writable use and the master keeps only a read-only descriptor of it, which it passes to
 * popgate-admind and closes in every other child. The master keeps the counters, the sequence
 * number and the ring's indices in its own memory and only ever writes them out: a page changed
 * behind its back (a kernel bug, a debugger) cannot steer its writes. The reader gives up after a
 * bounded number of torn reads instead of spinning.
 */
#ifndef POPGATE_STATS_H
#define POPGATE_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cidr.h"

#define STATS_EVENTS 128

/* The master's workers, in master/workers.h's order (it checks): labels of the per-worker counters. */
#define STATS_WORKERS 5
/* The services a TLS handshake can fail on: "pop3" (STLS), "pop3s", "smtp" (STARTTLS), "smtps". */
#define STATS_TLS_SERVICES 4
/* Who found a relay database error: a session, or one of the workers (STATS_WORKERS of them). */
#define STATS_DB_SOURCES (1 + STATS_WORKERS)

/* How a TLS handshake failed: an error (a client speaking plaintext, no shared cipher), or time ran out. */
enum stats_tls_failure { STATS_TLS_ERROR, STATS_TLS_TIMEOUT, STATS_TLS_KINDS };

/* What the next hop made of a message handed to it: the 250, 451 or 554 the client got. */
enum stats_hop_outcome { STATS_HOP_ACCEPTED, STATS_HOP_DEFERRED, STATS_HOP_FAILED, STATS_HOP_OUTCOMES };

struct stats_counters {
	int64_t started;          /* epoch seconds the master started */
	uint64_t sessions_active; /* connections being served now, all services */
	uint64_t sessions_total;
	uint64_t pop3_active, smtp_active;
	uint64_t logins_ok, logins_failed;
	uint64_t msgs_relayed, msgs_denied;
	uint64_t refused_limit;   /* connections refused by a connection limit or a lockout */
	uint64_t stress_on;       /* 1 while a stress episode lasts (master/stress.h) */
	uint64_t stress_episodes; /* episodes begun since start */
	uint64_t hop[STATS_HOP_OUTCOMES];                       /* hand-offs to the next hop, by outcome */
	uint64_t tls_failed[STATS_TLS_SERVICES][STATS_TLS_KINDS]; /* server handshakes that failed */
	uint64_t worker_restarts[STATS_WORKERS];                /* restarts after a worker died */
	uint64_t relaydb_errors[STATS_DB_SOURCES];              /* [0] sessions, [1 + worker] a worker */
};

struct stats_event {
	int64_t time;             /* epoch seconds */
	char proto[16];           /* "pop3", "smtp", ... */
	char ip[IP_TEXT_MAX];
	char user[64];
	char what[48];            /* "login ok", "login failed", "relayed", "relay denied", "refused: limit" */
};

/* stats_worker_name - the label of worker K (< STATS_WORKERS): "admin", "relay-sweeper", ... */
const char *stats_worker_name(int k);

/* stats_tls_service - the index of a service name among STATS_TLS_SERVICES, or -1. */
int stats_tls_service(const char *name);

/* stats_tls_service_name - the name of TLS service index I (< STATS_TLS_SERVICES). */
const char *stats_tls_service_name(int i);

/* The shared page, as the admin program maps it. */
struct stats_shared;
/* The master's side: its private copy of everything and its writable mapping of the page. */
struct stats_writer;

/*
 * stats_create - the master's counters: a sealed memory file mapped writable here only (not
 * inherited by fork), and a read-only descriptor of it for the admin program (stats_fd).
 * NULL (errno set) on failure.
 */
struct stats_writer *stats_create(void);

/* stats_free - unmap the master's page and free its side; sets *W to NULL. The descriptor stays. */
void stats_free(struct stats_writer **w);

/* stats_fd - the read-only descriptor of the last stats_create's memory file (close-on-exec), or -1. */
int stats_fd(void);

/* stats_forget - in a forked child that has no business with the counters: close that descriptor. */
void stats_forget(void);

/* stats_attach - map the memory file FD read-only: the admin program's view. NULL on failure. */
const struct stats_shared *stats_attach(int fd);

/*
 * stats_counters_mut - the master's own counters; change them between stats_begin and stats_end,
 * which publishes them to the page.
 */
struct stats_counters *stats_counters_mut(struct stats_writer *w);
void stats_begin(struct stats_writer *w);
void stats_end(struct stats_writer *w);

/* stats_add_event - append an event to the ring (master only; takes begin/end itself). */
void stats_add_event(struct stats_writer *w, const char *proto, const char *ip, const char *user,
		     const char *what);

/*
 * stats_snapshot - copy the counters and up to MAX latest events (newest first) consistently.
 * Returns the number of events copied, or -1 when no consistent copy could be had within a few
 * milliseconds of retries (the page stays mid-update: the caller answers "try again").
 */
ssize_t stats_snapshot(const struct stats_shared *s, struct stats_counters *c, struct stats_event *ev,
		       size_t max);

#endif
