/* member.c - a reused session process: one monitor and one protocol child serving connection after connection. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/session_conn.h"
#include "privsep/member.h"

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

/* wait_idle - before waiting for the next connection for good, the service's idle moment when it asks for one. */
static void wait_idle(const struct session_ctx *ctx, const struct member_service *svc)
{
	struct pollfd pfd = { .fd = ctx->dispatch_fd, .events = POLLIN };
	int ms = svc->monitor_idle_ms != NULL ? svc->monitor_idle_ms() : -1;
	int n;

	if (ms < 0)
		return;
	while ((n = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
		;
	if (n == 0)
		svc->monitor_idle();
}

/* monitor_loop - take connections from the master until it closes the dispatch socket. */
static int monitor_loop(struct session_ctx *ctx, struct privsep *ps, const struct member_service *svc)
{
	enum member_next next = MEMBER_AGAIN;
	pid_t child = privsep_child_pid(ps);
	int got = 1;

	if (svc->monitor_forget != NULL)
		svc->monitor_forget();
	while (next == MEMBER_AGAIN && (wait_idle(ctx, svc), got = session_conn_recv(ctx->dispatch_fd, ctx)) == 1) {
		next = serve_one(ctx, ps, svc);
		log_set_session(NULL);
		if (next == MEMBER_AGAIN && privsep_child_gone(ps))
			next = MEMBER_LAST;
		if (next == MEMBER_AGAIN && session_conn_done(ctx) < 0) {
			log_err("reused session: cannot tell the master the connection is over: %s", strerror(errno));
			next = MEMBER_LAST;
		}
	}
	if (next == MEMBER_AGAIN && got < 0)
		log_err("reused session: a malformed connection record from the master");
	if (svc->monitor_idle != NULL)
		svc->monitor_idle();
	/* An idle child waits for its next connection: the channel's end is its signal to go. */
	privsep_free(&ps);
	return session_reap(child, next == MEMBER_BROKEN ? SIGKILL : 0) != 0 || next == MEMBER_BROKEN;
}

int member_main(struct session_ctx *ctx, const struct member_service *svc)
{
	struct privsep *ps = NULL;
	int rc;

	if (svc->prepare != NULL)
		svc->prepare(ctx);
	rc = privsep_fork(ctx, &ps);
	if (rc == 0)
		return child_loop(ctx, ps, svc);
	if (rc == 1)
		return monitor_loop(ctx, ps, svc);
	/* The master sent the first connection with the fork: it gets the temporary failure. */
	int err = errno;
	if (session_conn_recv(ctx->dispatch_fd, ctx) == 1) {
		errno = err;
		session_fork_failed(ctx, "protocol child");
	}
	return 1;
}
