/* auth_client.c - the auth channel's ends in the master, and a session monitor's request to the auth worker. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "common/ipc.h"
#include "common/ipc_reply.h"
#include "common/log.h"

/* The channel's two ends, as the master opened them; a monitor closes the worker's at its first check. */
static int client_end = -1;
static int worker_end = -1;

int auth_channel_open(void)
{
	int sv[2];

	if (client_end >= 0)
		return 0;
	/* SO_PASSCRED on the worker's end before any monitor can send: every request carries its sender. */
	if (ipc_pair(SOCK_SEQPACKET, sv) < 0) {
		log_err("auth: creating the auth channel: %s", strerror(errno));
		return -1;
	}
	worker_end = sv[0];
	client_end = sv[1];
	return 0;
}

int auth_channel_worker_fd(void)
{
	return worker_end;
}

int auth_channel_client_fd(void)
{
	return client_end;
}

/* close_end - close *FD if open and mark it so. */
static void close_end(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void auth_channel_close_client(void)
{
	close_end(&client_end);
}

/* The monitor's reply pair, kept between checks (common/ipc_reply.h says how that stays safe). */
static struct ipc_reply_pair pair = IPC_REPLY_PAIR_INIT;

/* recv_reply - the worker's answer on the pair before DEADLINE into *REPLY, the pair kept. 0, or -1 with *WHY. */
static int recv_reply(int64_t deadline, struct auth_wire_reply *reply, const char **why)
{
	char buf[sizeof(*reply)];
	struct ipc_frame f;
	int rc = ipc_reply_recv(&pair, buf, sizeof(buf), deadline, &f);

	if (rc == 0)
		*why = "it ended before answering";
	else if (rc < 0)
		*why = f.why != NULL ? f.why : errno == ETIMEDOUT ? "no answer in time" : "reading the answer failed";
	else if (f.type != IPC_AUTH_REPLY)
		*why = "a record of another channel", rc = -1;
	else
		rc = auth_wire_reply_parse(buf, f.len, reply, why) == 0 ? 1 : -1;
	explicit_bzero(buf, sizeof(buf));
	if (rc == 1)
		rc = ipc_reply_keep(&pair, &f, why);
	else
		ipc_reply_drop(&pair, &f);
	return rc == 1 ? 0 : -1;
}

/* ask - send REQ and read the answer; TEMPFAIL on any trouble, with the reason logged once. */
static enum auth_result ask(const struct auth_wire_req *req, struct auth_user *out)
{
	int64_t deadline = ipc_deadline(AUTH_CLIENT_TIMEOUT_MS);
	struct auth_wire_reply reply;
	enum auth_result res;
	const char *why = NULL;

	if (ipc_reply_ready(&pair) < 0) {
		log_err("auth: asking the auth worker about %s: socketpair: %s", LOG_Q(req->user), strerror(errno));
		return AUTH_TEMPFAIL;
	}
	/* A full channel: the worker is behind (or between a death and its restart): wait for room, not forever. */
	if (ipc_reply_send(&pair, client_end, IPC_AUTH_REQ, req, sizeof(*req), deadline) < 0) {
		log_err("auth: asking the auth worker about %s: %s", LOG_Q(req->user), strerror(errno));
		return AUTH_TEMPFAIL;
	}
	if (recv_reply(deadline, &reply, &why) < 0) {
		log_err("auth: the auth worker gave no answer about %s: %s", LOG_Q(req->user), why);
		return AUTH_TEMPFAIL;
	}
	res = (enum auth_result)reply.result;
	if (res == AUTH_OK)
		*out = reply.user;
	explicit_bzero(&reply, sizeof(reply));
	return res;
}

enum auth_result auth_client_check(enum auth_wire_mech mech, const char *user, const char *secret,
				   const char *challenge, const char *service, const char *client_ip,
				   struct auth_user *out)
{
	struct auth_wire_req req;
	enum auth_result res;

	memset(out, 0, sizeof(*out));
	/* A monitor never reads the worker's end: it only kept it because the fork copied it. */
	close_end(&worker_end);
	if (client_end < 0) {
		log_err("auth: no auth worker to ask about %s", LOG_Q(user));
		return AUTH_TEMPFAIL;
	}
	if (auth_wire_req_fill(&req, mech, user, secret, challenge, service, client_ip) < 0) {
		log_err("auth: the request about %s does not fit the auth channel's record", LOG_Q(user));
		return AUTH_TEMPFAIL;
	}
	res = ask(&req, out);
	explicit_bzero(&req, sizeof(req));
	return res;
}

void auth_client_forget(void)
{
	ipc_reply_drop(&pair, NULL); /* a forked child must not read the monitor's answers, nor forge them */
	close_end(&client_end);
	close_end(&worker_end);
}
