/* member.c - a reused session process: one monitor and one protocol child serving connection after connection. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/session_conn.h"
#include "privsep/member.h"
#include "privsep/monitor_watch.h"

/* How long a protocol child told to go (its channel closed) may take before it is killed. */
#define MEMBER_CHILD_EXIT_MS 1000

/* child_loop - the protocol child: each connection its monitor passes, until it passes no more. */
static int child_loop(struct session_ctx *ctx, struct privsep *ps, const struct member_service *svc)
{
	int got;

	while ((got = privsep_next_connection(ps)) == 1) {
		enum member_next next = svc->child_serve(ctx, ps);
		log_set_session(NULL);
		if (next != MEMBER_AGAIN || privsep_connection_done(ps) < 0)
			break;
	}
	if (got < 0)
		log_err("reused session: a malformed connection record from the monitor");
	privsep_free(&ps);
	return got < 0 ? 1 : 0;
}

/* serve_one - the monitor's part of the connection in ctx->fd. */
static enum member_next serve_one(struct session_ctx *ctx, struct privsep *ps, const struct member_service *svc)
{
	if (privsep_pass_connection(ps, ctx->fd) < 0) {
		/* The child is gone: the client gets the protocol's temporary failure, as on a failed fork. */
		session_fork_failed(ctx, "reused protocol child");
		return MEMBER_BROKEN;
	}
	close(ctx->fd); /* the monitor never touches the network */
	ctx->fd = -1;
	return svc->monitor_serve(ctx, ps);
}

/*
 * end_pair - the pair takes no more connections: sessions it passed on are served to their end
 * (its mailbox processes die with it), then what it keeps between connections is let go. OPEN:
 * the master still counts the last connection, which is over (or passed on): it is told first, or
 * the slot would stay taken for as long as the sessions passed on last.
 */
static void end_pair(struct session_ctx *ctx, const struct member_service *svc, bool open)
{
	if (ctx->dispatch_fd >= 0)
		close(ctx->dispatch_fd); /* a connection sent now fails at the master's send, not here */
	ctx->dispatch_fd = -1;
	if (open)
		(void)session_conn_done(ctx);
	ctx->passed_pid = 0;
	monitor_wait(-1, true);
	if (svc->monitor_idle != NULL)
		svc->monitor_idle();
}

/*
 * monitor_loop - take connections from the master until it closes the dispatch socket, or until
 * this child has served server.process_reuse of them (*RENEW: the caller forks the next child).
 */
static int monitor_loop(struct session_ctx *ctx, struct privsep *ps, const struct member_service *svc, bool *renew)
{
	enum member_next next = MEMBER_AGAIN;
	pid_t child = privsep_child_pid(ps);
	long left = conf(ctx->cfg)->server.process_reuse;
	bool open = false; /* the master counts a connection of ours it has not been told the end of */
	int got = 1, rc;

	*renew = false;
	if (svc->monitor_forget != NULL)
		svc->monitor_forget();
	/* make_room ends a session on this pair by killing its child alone: not the sessions passed on. */
	(void)session_conn_tell(ctx, SESSION_PAIR_CHILD, child);
	while (next == MEMBER_AGAIN && !*renew &&
	       (monitor_wait(ctx->dispatch_fd, true), got = session_conn_recv(ctx->dispatch_fd, ctx)) == 1) {
		open = true;
		ctx->passed_pid = 0;
		next = serve_one(ctx, ps, svc);
		log_set_session(NULL);
		if (next == MEMBER_AGAIN && privsep_child_gone(ps))
			next = MEMBER_LAST;
		*renew = next == MEMBER_AGAIN && --left <= 0;
		/* Before the pair is free: make_room must not take this child for the next connection's. */
		if (*renew)
			(void)session_conn_tell(ctx, SESSION_PAIR_CHILD, 0);
		if (next == MEMBER_AGAIN && session_conn_done(ctx) < 0) {
			log_err("reused session: cannot tell the master the connection is over: %s", strerror(errno));
			next = MEMBER_LAST;
			*renew = false;
		} else if (next == MEMBER_AGAIN) {
			open = false;
			ctx->passed_pid = 0; /* told: its end may be heard now */
		}
	}
	if (next == MEMBER_AGAIN && got < 0)
		log_err("reused session: a malformed connection record from the master");
	/* An idle child waits for its next connection: the channel's end is its signal to go. */
	privsep_free(&ps);
	rc = session_reap_within(child, next == MEMBER_BROKEN ? 0 : MEMBER_CHILD_EXIT_MS) != 0 || next == MEMBER_BROKEN;
	/* What the monitor keeps between connections (the mailbox processes) outlives a child, not the pair. */
	if (rc != 0)
		*renew = false;
	if (!*renew)
		end_pair(ctx, svc, open);
	return rc;
}

/* split - fork this pair's next protocol child: 0 in it, 1 in the monitor, -1 when none could be made. */
static int split(struct session_ctx *ctx, const struct member_service *svc, struct privsep **ps)
{
	int rc;

	if (svc->prepare != NULL)
		svc->prepare(ctx);
	rc = privsep_fork(ctx, ps);
	/* A later child is forked by a monitor that has kept things between connections: not the child's. */
	if (rc == 0 && svc->child_forget != NULL)
		svc->child_forget();
	return rc;
}

int member_main(struct session_ctx *ctx, const struct member_service *svc)
{
	struct privsep *ps = NULL;
	bool renew = true;
	int rc = 0;

	while (renew) {
		rc = split(ctx, svc, &ps);
		if (rc == 0)
			return child_loop(ctx, ps, svc);
		if (rc < 0)
			break;
		/* Each child serves server.process_reuse connections; the monitor forks the next (see session_conn.h). */
		if ((rc = monitor_loop(ctx, ps, svc, &renew)) != 0)
			return rc;
	}
	if (rc == 0)
		return 0;
	/* The master sent (or will send) the next connection to this pair: it gets the temporary failure. */
	int err = errno;
	bool open = (monitor_wait(ctx->dispatch_fd, true), session_conn_recv(ctx->dispatch_fd, ctx)) == 1;
	if (open) {
		errno = err;
		session_fork_failed(ctx, "protocol child");
	}
	end_pair(ctx, svc, open);
	return 1;
}
