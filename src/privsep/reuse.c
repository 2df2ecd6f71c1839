/* reuse.c - the privsep channel of a reused pair: connections passed to the child, and their ends. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/memtrim.h"
#include "common/session_conn.h"
#include "privsep/privsep.h"
#include "privsep/privsep_int.h"

int privsep_pass_connection(struct privsep *ps, int fd)
{
	/* Nothing the last client did may count against this one, nor its login speak for it. */
	report_budget_init(&ps->budget, (unsigned)conf(ps->ctx->cfg)->smtp.max_errors);
	memset(ps->user, 0, sizeof(ps->user));
	return session_conn_send(ps->fd, ps->ctx, fd);
}

int privsep_next_connection(struct privsep *ps)
{
	mem_idle_wait(ps->fd); /* a reused child may wait long for its next connection */
	return session_conn_recv(ps->fd, ps->ctx);
}

int privsep_connection_done(struct privsep *ps)
{
	return ipc_send(ps->fd, IPC_PRIVSEP_DONE, NULL, 0, -1, IPC_FOREVER);
}

bool privsep_child_gone(const struct privsep *ps)
{
	return ps->child_gone || ps->fd < 0;
}
