/* pool.h - the master's reused session processes (server.process_reuse): which are idle, which serve. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POOL_H
#define POPGATE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "master/services.h"

struct pool_member {
	pid_t pid;
	int fd;                   /* the master's end of its dispatch socket; -1 once closed (it then exits) */
	const struct service *svc;
	unsigned served;          /* connections given to it */
	bool busy;                /* serving one now: it is in the session table */
	bool retiring;            /* a reload came: it takes no connection after its current one */
	int64_t idle_since_ms;    /* CLOCK_MONOTONIC, when it last became idle */
	pid_t child;              /* its protocol child as its monitor reported it (SESSION_PAIR_CHILD), or 0 */
};

struct pool {
	struct pool_member *v;
	size_t n, cap;
};

/* pool_free - close every dispatch socket (each member then exits once idle) and free the table. */
void pool_free(struct pool *p);

/* pool_spawn_socket - a dispatch socket pair: SV[0] the master's, SV[1] the member's. 0 or -1. */
int pool_spawn_socket(int sv[2]);

/* pool_add - record member PID of SVC, reached through FD, busy with its first connection. 0 or -1. */
int pool_add(struct pool *p, pid_t pid, int fd, const struct service *svc);

/* pool_take - an idle member serving SVC (the one idle longest), marked busy; NULL when none. */
struct pool_member *pool_take(struct pool *p, const struct service *svc);

/* pool_drop - close M's dispatch socket: it ends once it sees that, or has ended already. */
void pool_drop(struct pool_member *m);

/*
 * pool_done - member PID is done with its connection: idle again, or let go (its socket closed)
 * when it has served REUSE connections, or is retiring. False when PID is no member.
 */
bool pool_done(struct pool *p, pid_t pid, unsigned reuse, int64_t now_ms);

/* pool_reaped - PID has exited: forget it. True when it was a member. */
bool pool_reaped(struct pool *p, pid_t pid);

/* pool_retire_all - a reload or a shutdown: let idle members go now, busy ones after their connection. */
void pool_retire_all(struct pool *p);

/* pool_trim - let go of members idle since before NOW_MS - IDLE_MS; ms until the next is due, or -1. */
long pool_trim(struct pool *p, int64_t now_ms, int64_t idle_ms);

/* pool_find - the member PID, or NULL. */
struct pool_member *pool_find(struct pool *p, pid_t pid);

/*
 * pool_set_child - member PID's monitor says its protocol child is now process CHILD (0: none, it
 * is forking the next). Only a pid: no descriptor held for each pair, and checked when used.
 */
void pool_set_child(struct pool *p, pid_t pid, pid_t child);

/*
 * pool_child_killable - whether member PID's protocol child can be killed alone: known, alive,
 * and the monitor's child in /proc (not when /proc hides other users' processes).
 */
bool pool_child_killable(struct pool *p, pid_t pid);

/* pool_kill_child - SIGKILL member PID's protocol child (through a pidfd, checked as above); false when it cannot. */
bool pool_kill_child(struct pool *p, pid_t pid);

/* pool_close_inherited - in a process just forked from the master: close every dispatch socket. */
void pool_close_inherited(const struct pool *p);

/* pool_count - members alive (busy, idle or let go but not yet reaped); *IDLE gets the idle ones. */
size_t pool_count(const struct pool *p, size_t *idle);

#endif
