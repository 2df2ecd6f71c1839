/* session_conn.c - a connection handed to a reused session process, and its end told to the master. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/session_conn.h"
#include "common/session_wire.h"

/* The connection's record, an IPC_SESSION_CONN frame; the socket rides along as SCM_RIGHTS. */
struct session_wire_conn {
	char id[LOG_SESSION_ID_MAX];
	struct ip_addr client;
	int32_t client_port;
	int32_t local_port;
	char local_ip[IP_TEXT_MAX];
	uint32_t recent_auth_failures;
	uint32_t npenalties;
	struct session_penalty penalties[SESSION_PENALTY_USERS];
};

int session_conn_send(int sock, const struct session_ctx *ctx, int fd)
{
	struct session_wire_conn c;

	memset(&c, 0, sizeof(c));
	memcpy(c.id, ctx->id, sizeof(c.id));
	c.client = ctx->client;
	c.client_port = ctx->client_port;
	c.local_port = ctx->local_port;
	memcpy(c.local_ip, ctx->local_ip, sizeof(c.local_ip));
	c.recent_auth_failures = ctx->recent_auth_failures;
	c.npenalties = ctx->npenalties;
	memcpy(c.penalties, ctx->penalties, sizeof(c.penalties));
	/* The receiver is idle, its queue empty: never wait on it (the master must not). */
	return ipc_send(sock, IPC_SESSION_CONN, &c, sizeof(c), fd, IPC_NOW);
}

/* apply - C into CTX, every string cut at its size. */
static void apply(struct session_ctx *ctx, struct session_wire_conn *c, int fd)
{
	c->id[sizeof(c->id) - 1] = '\0';
	c->local_ip[sizeof(c->local_ip) - 1] = '\0';
	ctx->fd = fd;
	memcpy(ctx->id, c->id, sizeof(ctx->id));
	ctx->client = c->client;
	ip_format(&ctx->client, ctx->client_ip);
	ctx->client_port = c->client_port;
	ctx->local_port = c->local_port;
	memcpy(ctx->local_ip, c->local_ip, sizeof(ctx->local_ip));
	ctx->proxied_tls = false;
	ctx->recent_auth_failures = c->recent_auth_failures;
	ctx->npenalties = c->npenalties <= SESSION_PENALTY_USERS ? c->npenalties : SESSION_PENALTY_USERS;
	memcpy(ctx->penalties, c->penalties, sizeof(ctx->penalties));
	for (unsigned i = 0; i < SESSION_PENALTY_USERS; i++)
		ctx->penalties[i].user[sizeof(ctx->penalties[i].user) - 1] = '\0';
	log_set_session(ctx->id);
}

int session_conn_recv(int sock, struct session_ctx *ctx)
{
	struct session_wire_conn c;
	struct ipc_frame f;
	int rc;

	log_set_session(NULL);
	rc = ipc_recv(sock, &c, sizeof(c), IPC_FD_MUST | IPC_SEQPACKET, IPC_FOREVER, &f);
	if (rc <= 0)
		return rc;
	if (f.type != IPC_SESSION_CONN || f.len != sizeof(c)) {
		close(f.fd);
		errno = EPROTO;
		return -1;
	}
	apply(ctx, &c, f.fd);
	return 1;
}

int session_conn_tell(const struct session_ctx *ctx, enum session_event event, pid_t other)
{
	struct session_wire_report r;

	if (ctx->report_fd < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.event = (uint32_t)event;
	r.session_pid = ctx->session_pid;
	r.other = other;
	/* The master reads the channel in every turn of its loop: room comes. */
	return ipc_send(ctx->report_fd, IPC_SESSION_REPORT, &r, sizeof(r), -1, IPC_FOREVER);
}

int session_conn_done(const struct session_ctx *ctx)
{
	if (ctx->passed_pid > 0)
		return session_conn_tell(ctx, SESSION_CONN_PASSED, ctx->passed_pid);
	return session_conn_tell(ctx, SESSION_CONN_DONE, 0);
}

void session_drop_channels(struct session_ctx *ctx)
{
	if (ctx->report_fd >= 0)
		close(ctx->report_fd);
	ctx->report_fd = -1;
	if (ctx->dispatch_fd >= 0)
		close(ctx->dispatch_fd);
	ctx->dispatch_fd = -1;
	if (ctx->login_fd >= 0)
		close(ctx->login_fd);
	ctx->login_fd = -1;
}
