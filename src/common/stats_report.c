/* stats_report.c - a process's relay database errors, on their way to the master's counters. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ipc.h"
#include "common/session_wire.h"
#include "common/stats_report.h"

/*
 * A worker sends at most one record a second. A database gone bad makes every request the
 * lookup worker serves fail, at the MTAs' pace; a record each would crowd the master's channel
 * (net.unix.max_dgram_qlen records) and cost sessions their login reports. The first error of
 * a second goes at once; the others ride, counted, on the next record.
 */
#define WORKER_REPORT_INTERVAL_MS 1000

/* Where this process's reports go: its session, or the worker's own context below. */
static const struct session_ctx *bound;
static struct session_ctx worker_ctx;
static uint32_t pending;       /* a worker's errors not reported yet */
static int64_t last_sent_ms;   /* when it last sent one, CLOCK_MONOTONIC; 0: never */

void stats_report_session(const struct session_ctx *ctx)
{
	bound = ctx;
}

void stats_report_worker(int fd)
{
	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* an exec'd worker's: nothing it runs may report */
	worker_ctx.report_fd = fd;
	worker_ctx.report_via = NULL;
	worker_ctx.session_pid = getpid(); /* the master checks it against the kernel's word */
	bound = fd >= 0 ? &worker_ctx : NULL;
	pending = 0;
	last_sent_ms = 0;
}

/* worker_send - one record standing for the pending errors; a full channel keeps them pending. */
static void worker_send(void)
{
	struct session_wire_report r;

	memset(&r, 0, sizeof(r));
	r.event = SESSION_RELAYDB_ERROR;
	r.session_pid = worker_ctx.session_pid;
	r.count = pending;
	if (ipc_send(worker_ctx.report_fd, IPC_SESSION_REPORT, &r, sizeof(r), -1, IPC_NOW) == 0)
		pending = 0;
}

void stats_note_relaydb_error(void)
{
	int64_t now;

	if (bound == NULL)
		return;
	if (bound != &worker_ctx) {
		session_report(bound, SESSION_RELAYDB_ERROR, NULL);
		return;
	}
	if (pending < UINT32_MAX)
		pending++;
	now = mono_ms();
	if (last_sent_ms != 0 && now - last_sent_ms < WORKER_REPORT_INTERVAL_MS)
		return;
	last_sent_ms = now;
	worker_send();
}
