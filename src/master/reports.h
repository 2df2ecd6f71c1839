/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reports.h - the channel sessions tell the master about logins and transactions through: one
 * datagram a record, each stamped by the kernel with the pid of the process that sent it.
 */
#ifndef POPGATE_REPORTS_H
#define POPGATE_REPORTS_H

#include <time.h>

#include "common/session_wire.h"

struct reports {
	int rd;                  /* the master's end, with SO_PASSCRED */
	int wr;                  /* the end every session inherits */
	unsigned long dropped;   /* records refused since the last warning */
	time_t warned;           /* when that warning was logged */
};

/* reports_open - the socket pair; call it while still root, to size its buffers. 0, or -1 with errno. */
int reports_open(struct reports *r);

/* reports_close - close both ends (either may be -1 already). */
void reports_close(struct reports *r);

/*
 * reports_next - the next record a session process sent about itself: 1 with *OUT filled, 0 when
 * none is waiting. A record of the wrong size, or naming a session other than its sender, is
 * dropped and counted (a warning at most once a minute): a protocol child that reads the network
 * has no descriptor of this channel, and a post-login process may speak only for itself.
 */
int reports_next(struct reports *r, struct session_wire_report *out);

#endif
