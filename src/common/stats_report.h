/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats_report.h - counting, from any process, the troubles only the process that meets them
 * sees (a relay database error): one report on the master's channel, which it counts for /metrics.
 *
 * A session binds its context (a protocol child's reports then go through its monitor, as all its
 * reports do, within its budget); a worker binds the channel's descriptor and sends at most one
 * record a second, which stands for the errors since its last one; the master takes from a
 * worker only this report. A process bound to nothing (popgatectl, a unit test) counts
 * nothing, at no cost.
 */
#ifndef POPGATE_STATS_REPORT_H
#define POPGATE_STATS_REPORT_H

#include "common/session.h"

/* stats_report_session - this process serves the session CTX (which must outlive the process). */
void stats_report_session(const struct session_ctx *ctx);

/* stats_report_worker - this worker process reports on FD, the master's channel (-1: nowhere). */
void stats_report_worker(int fd);

/*
 * stats_note_relaydb_error - an error opening, reading or writing the relay database. Never
 * blocks. In a worker, errors within a second of its last record wait for its next error.
 */
void stats_note_relaydb_error(void);

#endif
