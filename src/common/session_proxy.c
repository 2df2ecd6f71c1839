/* session_proxy.c - a *_proxy session's start: the PROXY header, then the master's verdict on the client it names. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/proxy_proto.h"
#include "common/session.h"
#include "common/ipc.h"
#include "common/session_wire.h"

/*
 * How long a session waits for the master's verdict. The master answers within one turn of its
 * loop; this bound only ends a session whose report was lost (a full channel) or never answered.
 */
#define PROXY_VERDICT_TIMEOUT_S 10

/*
 * read_header - the header, read in the pieces proxy_parse asks for and never a byte past its end
 * (the protocol after it belongs to the service, and under implicit TLS to the handshake), all
 * within DEADLINE (CLOCK_MONOTONIC ms). 0, or -1 with WHY set.
 */
static int read_header(int fd, int64_t deadline, struct proxy_info *info, const char **why)
{
	uint8_t buf[PROXY_HEADER_MAX];
	size_t have = 0, need = 0;

	for (;;) {
		enum proxy_status st = proxy_parse(buf, have, info, &need);
		if (st == PROXY_DONE)
			return 0;
		if (st == PROXY_BAD || need > sizeof(buf)) {
			*why = "malformed";
			return -1;
		}
		int64_t left = deadline - mono_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*why = r == 0 ? "not complete within server.proxy_timeout" : strerror(errno);
			return -1;
		}
		ssize_t n = read(fd, buf + have, need - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*why = n == 0 ? "connection closed" : strerror(errno);
			return -1;
		}
		have += (size_t)n;
	}
}

/* take_client - the endpoints INFO names become the session's; LOCAL keeps the connection's own. */
static void take_client(struct session_ctx *ctx, const struct proxy_info *info)
{
	ctx->proxied_tls = info->client_ssl;
	if (info->local)
		return;
	ctx->client = info->src;
	ip_format(&ctx->client, ctx->client_ip);
	ctx->client_port = info->src_port;
	ip_format(&info->dst, ctx->local_ip);
	ctx->local_port = info->dst_port;
}

/* ask_master - report the client and wait for the master's signal; the verdict's value, or -1. */
static int ask_master(const struct session_ctx *ctx)
{
	struct session_wire_report r;
	sigset_t set, old;
	siginfo_t si;
	struct timespec wait = { PROXY_VERDICT_TIMEOUT_S, 0 };
	int64_t deadline = mono_ms() + PROXY_VERDICT_TIMEOUT_S * 1000LL;
	int value = -1;

	memset(&r, 0, sizeof(r));
	r.event = SESSION_PROXY_CLIENT;
	r.session_pid = ctx->session_pid;
	r.client = ctx->client;
	sigemptyset(&set);
	sigaddset(&set, SESSION_PROXY_SIGNAL);
	sigprocmask(SIG_BLOCK, &set, &old); /* before the report: the answer may come at once */
	if (ctx->report_fd < 0 || ipc_send(ctx->report_fd, IPC_SESSION_REPORT, &r, sizeof(r), -1, IPC_NOW) < 0) {
		log_err("%s ip=%s: cannot ask the master about a proxied client: %s", ctx->proto, ctx->client_ip,
			ctx->report_fd < 0 ? "no report channel" : strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	while (value < 0 && wait.tv_sec + wait.tv_nsec > 0) {
		if (sigtimedwait(&set, &si, &wait) == SESSION_PROXY_SIGNAL && si.si_code == SI_QUEUE &&
		    si.si_pid == getppid())
			value = si.si_value.sival_int;
		int64_t left = deadline - mono_ms();
		wait = (struct timespec){ left > 0 ? left / 1000 : 0, left > 0 ? (left % 1000) * 1000000 : 0 };
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (value < 0)
		log_err("%s ip=%s: no answer from the master about a proxied client", ctx->proto, ctx->client_ip);
	return value;
}

/* send_reply - a refusal's greeting, best effort: the session ends anyway. */
static void send_reply(int fd, const char *reply)
{
	if (reply != NULL)
		(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
}

int session_proxy_start(struct session_ctx *ctx, const char *locked_reply)
{
	int64_t deadline = mono_ms() + conf(ctx->cfg)->server.proxy_timeout * 1000;
	char balancer[IP_TEXT_MAX];
	struct proxy_info info;
	const char *why = NULL;

	snprintf(balancer, sizeof(balancer), "%s", ctx->client_ip);
	if (read_header(ctx->fd, deadline, &info, &why) < 0) {
		log_session(LOG_NOTICE, ctx->proto, balancer, NULL, "proxy header refused", "%s", why);
		return -1;
	}
	take_client(ctx, &info);
	int value = ask_master(ctx);
	if (value < 0)
		return -1;
	switch (value & PROXY_VERDICT_MASK) {
	case PROXY_ADMIT: break;
	case PROXY_LOCKED: send_reply(ctx->fd, locked_reply); return -1;
	default: send_reply(ctx->fd, ctx->busy_reply); return -1;
	}
	ctx->recent_auth_failures = (unsigned)value >> PROXY_FAILURES_SHIFT;
	log_session(LOG_INFO, ctx->proto, ctx->client_ip, NULL, "proxied", "balancer=%s version=%d local=%s tls=%s",
		    balancer, info.version, info.local ? "yes" : "no", info.client_ssl ? "yes" : "no");
	return 0;
}
