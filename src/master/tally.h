/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tally.h - what the master counts for /metrics beyond logins and sessions: the troubles sessions
 * and workers report (a next hop's deferral or refusal, a failed TLS handshake, a relay database
 * error), and the state it keeps elsewhere (the stress episode, the workers' restarts).
 */
#ifndef POPGATE_TALLY_H
#define POPGATE_TALLY_H

#include <stdbool.h>

#include "common/session_wire.h"
#include "common/stats.h"
#include "master/stress.h"
#include "master/workers.h"

/*
 * Errors one worker record may stand for: a worker coalesces the errors of a second into one
 * record (stats_report.h); past this it is lying, and the rest are not believed.
 */
#define TALLY_COALESCED_MAX 100000

/*
 * tally_trouble - count R if it is a trouble report: from a session serving SERVICE ("pop3s",
 * ...) when WORKER is -1, else from worker kind WORKER (SERVICE NULL), which may report relay
 * database errors only. True when R was a trouble report, counted or not.
 */
bool tally_trouble(struct stats_writer *s, const char *service, int worker, const struct session_wire_report *r);

/* tally_state - publish the stress episode and the workers' restarts to the page when they changed. */
void tally_state(struct stats_writer *s, const struct stress *st, const struct workers *w);

#endif
