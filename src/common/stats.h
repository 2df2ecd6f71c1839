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
