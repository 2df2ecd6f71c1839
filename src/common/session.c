/* session.c - what a session tells the master, its failure to fork and its reaper, how long a failed login makes the client wait, its log id. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/session.h"
#include "common/session_wire.h"

void session_report(const struct session_ctx *ctx, enum session_event event, const char *user)
{
	struct session_wire_report r;

	if (ctx->report_via != NULL) {
		(void)ctx->report_via(ctx->report_arg, event);
		return;
	}
	if (ctx->report_fd < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.event = (uint32_t)event;
	r.session_pid = ctx->session_pid;
	snprintf(r.user, sizeof(r.user), "%s", user != NULL ? user : "");
	/* One datagram a record; a full channel drops the report rather than hold the session. */
	(void)ipc_send(ctx->report_fd, IPC_SESSION_REPORT, &r, sizeof(r), -1, IPC_NOW);
}

void session_make_id(char id[LOG_SESSION_ID_MAX])
{
	static uint64_t base, count;
	static bool seeded;

	if (!seeded) {
		/* getrandom cannot fail for 8 bytes once the pool is ready; the clock is a fallback. */
		if (getrandom(&base, sizeof(base), GRND_NONBLOCK) != (ssize_t)sizeof(base))
			base = (uint64_t)time(NULL) << 16 ^ (uint64_t)getpid();
		seeded = true;
	}
	snprintf(id, LOG_SESSION_ID_MAX, "%012llx",
		 (unsigned long long)((base + count++) & 0xffffffffffffULL));
}

void session_fork_failed(struct session_ctx *ctx, const char *what)
{
	log_session(LOG_ERR, ctx->proto, ctx->client_ip, NULL, "fork failed", "%s: %s", what, strerror(errno));
	if (ctx->busy_reply != NULL && ctx->fd >= 0)
		(void)send(ctx->fd, ctx->busy_reply, strlen(ctx->busy_reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (ctx->fd >= 0)
		close(ctx->fd);
	ctx->fd = -1;
}

int session_reap(pid_t child, int sig)
{
	int ws = 0;

	if (sig != 0)
		kill(child, sig);
	while (waitpid(child, &ws, 0) < 0) {
		if (errno != EINTR)
			return 1;
	}
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
}

int session_reap_within(pid_t child, int ms)
{
	int pfd = ms > 0 ? (int)syscall(SYS_pidfd_open, child, 0) : -1;
	struct pollfd pp = { .fd = pfd, .events = POLLIN };
	int n = 0;

	/* A pidfd reads as ready once the process has exited: no signal handler, no polling loop. */
	while (pfd >= 0 && (n = poll(&pp, 1, ms)) < 0 && errno == EINTR)
		;
	if (pfd >= 0)
		close(pfd);
	return session_reap(child, pfd < 0 || n != 1 ? SIGKILL : 0);
}
