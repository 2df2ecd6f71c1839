/* member.h - a reused session process: one monitor and one protocol child serving connection after connection. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MEMBER_H
#define POPGATE_MEMBER_H

#include <stdbool.h>

#include "common/session.h"
#include "privsep/privsep.h"

/* How one connection left a reused pair. */
enum member_next {
	MEMBER_AGAIN,  /* ready for the next connection */
	MEMBER_LAST,   /* ended normally, but this pair cannot serve another (e.g. its channel became the connection) */
	MEMBER_BROKEN, /* the channel broke or the child misbehaved: end the pair, the child killed */
};

/* A protocol's parts, as a reused pair runs them. */
struct member_service {
	/* before the split, still privileged: what only the monitor may read, for the child (may be NULL) */
	void (*prepare)(struct session_ctx *ctx);
	/* in the monitor after the split: forget what prepare read for the child (may be NULL) */
	void (*monitor_forget)(void);
	/* in the protocol child: serve the connection in ctx->fd, closing it; wipe all its state */
	enum member_next (*child_serve)(struct session_ctx *ctx, struct privsep *ps);
	/* in the monitor: its side of the connection the child serves */
	enum member_next (*monitor_serve)(struct session_ctx *ctx, struct privsep *ps);
	/* in the monitor at the pair's end: let go of what it keeps between connections (may be NULL) */
	void (*monitor_idle)(void);
	/* in a protocol child the monitor forks after another: close what the monitor keeps (may be NULL) */
	void (*child_forget)(void);
};

/*
 * member_main - a reused session process (server.process_reuse): split once into a monitor and a
 * protocol child, then serve the connections the master sends over ctx->dispatch_fd, one at a time,
 * until the master closes it. After each, the master is told (session_conn_done). After
 * server.process_reuse connections the child ends and the monitor forks another, up to
 * SESSION_MONITOR_CHILDREN of them (the master's limit). Exit status.
 */
int member_main(struct session_ctx *ctx, const struct member_service *svc);

#endif
