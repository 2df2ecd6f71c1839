/* privsep_int.h - the privsep channel's records and state, for the modules that make up privsep. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PRIVSEP_INT_H
#define POPGATE_PRIVSEP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/auth.h"
#include "common/report_budget.h"
#include "common/session.h"
#include "privsep/privsep.h"

/*
 * The channel's frames (common/ipc.h). What the child asks: a credential check (IPC_PRIVSEP_CHECK,
 * a struct privsep_request), or a report for the master (IPC_PRIVSEP_REPORT, answered with an
 * empty result when ack is set); or, in a reused pair, that it is done with its connection
 * (IPC_PRIVSEP_DONE, empty, not answered). The monitor answers with IPC_PRIVSEP_RESULT.
 */
struct wire_report {
	uint32_t event;       /* enum session_event */
	uint32_t ack;         /* answer once it is passed on */
};

struct wire_result {
	int32_t result;
	struct auth_user user;
};

/* IPC_PRIVSEP_HANDOVER: this, then the client's unread input; the connection rides along. */
struct wire_handover {
	uint32_t tls;         /* the socket riding along (SCM_RIGHTS) is the child's TLS proxy, not the client's */
};

struct privsep {
	int fd;               /* this side's end of the channel */
	pid_t child;          /* monitor side: the protocol child */
	struct session_ctx *ctx;
	char user[AUTH_NAME_MAX]; /* monitor side: who logged in, for the child's reports; "" before */
	struct report_budget budget; /* monitor side: what the child's reports may still pass on */
	bool child_gone;      /* monitor side: the channel reached its end, the child is not coming back */
	bool tls_proxied;     /* monitor side: the connection taken over is the child's TLS proxy */
};

#endif
