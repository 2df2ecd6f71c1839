/* monitor_watch.h - what a reused monitor looks after while it waits: the sessions it passed on. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MONITOR_WATCH_H
#define POPGATE_MONITOR_WATCH_H

/*
 * A POP3 monitor passes a logged-in session on to its mailbox process and takes the next
 * connection (pop3_owner.c), so it no longer waits for the session's end in one place: it must
 * hear it wherever it waits (for the master's next connection, its protocol child's requests, an
 * attached session's end) and tell the master at once, or an ended session would hold its slot.
 */
#include <poll.h>
#include <stdbool.h>

/* The most descriptors a watch asks to be polled at once (the mailbox processes a monitor keeps). */
#define MONITOR_WATCH_MAX 64

struct monitor_watch {
	/* the descriptors to watch now into FDS (events set), at most MONITOR_WATCH_MAX; their number */
	int (*fill)(struct pollfd *fds);
	/* act on FDS[0..N) as poll left them */
	void (*ready)(const struct pollfd *fds, int n);
	/* ms until expire wants a call (kept processes due to end), -1 for never */
	int (*due_ms)(void);
	void (*expire)(void);
};

/* monitor_watch_set - what this monitor looks after from now on; NULL for nothing. */
void monitor_watch_set(const struct monitor_watch *w);

/*
 * monitor_wait - wait until FD is readable or hung up, serving the watch meanwhile. IDLE: the wait
 * may be long (the next connection): after MEM_IDLE_MS without anything to do, give memory back
 * (memtrim.h). FD -1: until the watch has no descriptor left (the pair's end).
 */
void monitor_wait(int fd, bool idle);

/* monitor_watching - whether the watch has a descriptor now: a wait on one socket must poll the others too. */
bool monitor_watching(void);

#endif
