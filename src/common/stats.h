/*
 * stats.h - live counters and the latest session events, kept by the master in shared memory.
 *
 * Only the master writes (it is the one process that hears every session's reports); the admin
 * worker reads a consistent snapshot through a sequence counter, without locks or syscalls.
 */
#ifndef POPGATE_STATS_H
#define POPGATE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "common/cidr.h"

#define STATS_EVENTS 128

struct stats_counters {
	int64_t started;          /* epoch seconds the master started */
	uint64_t sessions_active; /* connections being served now, all services */
	uint64_t sessions_total;
	uint64_t pop3_active, smtp_active;
	uint64_t logins_ok, logins_failed;
	uint64_t msgs_relayed, msgs_denied;
	uint64_t refused_limit;   /* connections refused by a connection limit or a lockout */
};

struct stats_event {
	int64_t time;             /* epoch seconds */
	char proto[16];           /* "pop3", "smtp", ... */
	char ip[IP_TEXT_MAX];
	char user[64];
	char what[48];            /* "login ok", "login failed", "relayed", "relay denied", "refused: limit" */
};

struct stats_shared;

/*
 * stats_create - a shared mapping of a memory file that forked children inherit and the admin
 * program maps by descriptor (stats_fd). NULL on failure.
 */
struct stats_shared *stats_create(void);

/* stats_fd - the descriptor of the last stats_create's memory file (close-on-exec), or -1. */
int stats_fd(void);

/* stats_attach - map the memory file FD read-only: the admin program's view. NULL on failure. */
const struct stats_shared *stats_attach(int fd);

/* stats_counters_mut - the master's writable view; call stats_begin/stats_end around changes. */
struct stats_counters *stats_counters_mut(struct stats_shared *s);
void stats_begin(struct stats_shared *s);
void stats_end(struct stats_shared *s);

/* stats_add_event - append an event to the ring (master only; takes begin/end itself). */
void stats_add_event(struct stats_shared *s, const char *proto, const char *ip, const char *user,
		     const char *what);

/*
 * stats_snapshot - copy the counters and up to MAX latest events (newest first) consistently.
 * Returns the number of events copied.
 */
size_t stats_snapshot(const struct stats_shared *s, struct stats_counters *c, struct stats_event *ev,
		      size_t max);

#endif
