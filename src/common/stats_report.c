/* stats_report.c - a process's relay database errors, on their way to the master's counters. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include "common/stats_report.h"

/* Where this process's reports go: its session, or the worker's own context below. */
static const struct session_ctx *bound;
static struct session_ctx worker_ctx;

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
}

void stats_note_relaydb_error(void)
{
	if (bound != NULL)
		session_report(bound, SESSION_RELAYDB_ERROR, NULL);
}
