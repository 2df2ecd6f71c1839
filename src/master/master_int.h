/* master_int.h - popgated's supervisor state, shared by the master's own modules and no one else. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * master.c runs the loop (start-up, signals, reload, shutdown); admission.c takes connections in
 * and applies the limits; sessions.c forks or dispatches the process that serves one; and
 * master_reports.c acts on what sessions report. They share struct master, as one module would.
 */
#ifndef POPGATE_MASTER_INT_H
#define POPGATE_MASTER_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/session.h"
#include "common/session_wire.h"
#include "common/stats.h"
#include "master/children.h"
#include "master/listeners.h"
#include "master/pool.h"
#include "master/reports.h"
#include "master/stress.h"
#include "master/throttle.h"
#include "master/workers.h"

struct master {
	struct config *cfg;
	SSL_CTX *tls;
	struct listener_set ls;
	struct children *kids;
	struct throttle *fails;
	struct stats_writer *stats;
	pid_t pid;                  /* the master's own, for its children's lifeline */
	struct workers workers;
	struct pool pool;           /* reused session processes (server.process_reuse) */
	struct stress stress;
	sigset_t oldmask;
	int sigfd;
	struct reports reports;
	int pidfd;
	int control;                /* control.sock: penalties and lockouts listed and lifted (control.h) */
	char hostname[256];
	bool stopping;
	int64_t stop_deadline_ms;   /* CLOCK_MONOTONIC: the grace is server.shutdown_timeout to the ms */
};

/* admission.c */

/* accept_on - take up to a batch of pending connections from L, admit or refuse each, start its session. */
void accept_on(struct master *m, const struct listener *l);

/*
 * proxied_client - a *_proxy session CH named its client in R, before it said anything to it:
 * admit it as accept would have, count it under that address from now on, and answer with a signal.
 */
void proxied_client(struct master *m, const struct child *ch, const struct session_wire_report *r);

/* sessions.c */

/* master_reuses - whether L's connections go to reused processes (server.process_reuse), not one fork each. */
bool master_reuses(const struct master *m, const struct listener *l);

/* master_dispatch - CTX's connection FD to an idle reused process of L's service, or to a new one. Its pid, or -1. */
pid_t master_dispatch(struct master *m, const struct listener *l, int fd, struct session_ctx *ctx);

/* session_child - in the child of a fork: serve CTX's one connection, then exit. Never returns. */
void session_child(struct master *m, const struct listener *l, struct session_ctx *ctx);

/* session_ended - the counters' bookkeeping for session CH, reaped or done. */
void session_ended(struct master *m, const struct child *ch);

/* master_reports.c */

/* read_reports - act on every report record waiting: counters, events, throttle, make_room's bookkeeping. */
void read_reports(struct master *m);

#endif
