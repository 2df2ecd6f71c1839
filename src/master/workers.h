/* workers.h - long-lived helper processes of the master: the admin page, the relay sweeper and lookup, DRAC, auth. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_WORKERS_H
#define POPGATE_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"
#include "common/stats.h"
#include "master/listeners.h"

enum worker_kind { WORKER_ADMIN, WORKER_SWEEPER, WORKER_LOOKUP, WORKER_DRAC, WORKER_AUTH, WORKER_KINDS };

struct pool;

struct workers {
	pid_t pid[WORKER_KINDS];
	time_t started[WORKER_KINDS];
	time_t restart_at[WORKER_KINDS];   /* 0: not waiting to restart */
	bool asked_to_stop[WORKER_KINDS];  /* sent SIGTERM by workers_stop: its end is no failure */
	bool held[WORKER_KINDS];           /* exited with a configuration error: waits for a reload */
	bool died[WORKER_KINDS];           /* ended unasked: its next start is a restart */
	uint64_t restarts[WORKER_KINDS];   /* starts after it died, since the master started (/metrics) */
	int report_fd;                     /* the master's report channel: relay database errors */
	const struct pool *pool;           /* reused sessions' dispatch sockets, closed in every worker */
	/*
	 * The login channel (relaydb/login_channel.h), kept by the master for its life so that logins
	 * sent while the lookup worker restarts wait for the next one: login_rd goes to each lookup
	 * worker, login_wr to every session monitor and popgate-dracd. -1 before workers_open.
	 */
	int login_rd;
	int login_wr;
};

/* workers_open - the login channel; call it while still root, to size its buffer. 0, or -1 logged. */
int workers_open(struct workers *w);

/* workers_close - close the login channel (at the master's end). */
void workers_close(struct workers *w);

/* workers_start_all - start the workers CFG asks for (admin when admin.listen is set). */
void workers_start_all(struct workers *w, const struct config *cfg, const struct listener_set *ls,
		       const int *close_fds, size_t nclose);

/*
 * workers_reaped - PID ended with wait STATUS: if it was a worker, log how (exit status or signal)
 * unless it was asked to stop or STOPPING, schedule its restart (backing off when it died young,
 * not at all after a configuration error until workers_stop) and return true.
 */
bool workers_reaped(struct workers *w, pid_t pid, int status, bool stopping, time_t now);

/* workers_restart_due - start workers whose restart time has come; returns seconds to the next one (-1 none). */
int workers_restart_due(struct workers *w, const struct config *cfg, const struct listener_set *ls,
			const int *close_fds, size_t nclose, time_t now);

/*
 * workers_stop - SIGTERM every worker (on reload and shutdown); on reload they are started again
 * at once by workers_restart_due, and so is one held back by a configuration error.
 */
void workers_stop(struct workers *w);

/* workers_kill - SIGKILL every worker still running (one stuck past the shutdown deadline). */
void workers_kill(struct workers *w);

/* workers_kind_of - the worker PID is, or -1 when it is none of them. */
int workers_kind_of(const struct workers *w, pid_t pid);

/* workers_running - how many workers are alive. */
int workers_running(const struct workers *w);

#endif
