/* auth_client.c - the auth channel's ends in the master, and a session monitor's request to the auth worker. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "common/fdpass.h"
#include "common/log.h"

/* The channel's two ends, as the master opened them; a monitor closes the worker's at its first check. */
static int client_end = -1;
static int worker_end = -1;

int auth_channel_open(void)
{
	int sv[2], on = 1;

	if (client_end >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("auth: creating the auth channel: %s", strerror(errno));
		return -1;
	}
	/* Set before any monitor can send, so that every request carries its sender's credentials. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
		log_err("auth: SO_PASSCRED on the auth channel: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
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

void auth_client_forget(void)
{
	close_end(&client_end);
	close_end(&worker_end);
}

/* ms_left - milliseconds from NOW to DEADLINE (CLOCK_MONOTONIC), at least 0. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* wait_for - poll FD for EVENTS until DEADLINE: 1 ready, 0 timed out, -1 error. */
static int wait_for(int fd, short events, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, ms_left(deadline));

		if (rc >= 0)
			return rc > 0;
		if (errno != EINTR)
			return -1;
	}
}

/* send_request - REQ with REPLY_FD as SCM_RIGHTS on the channel, before DEADLINE. 0 or -1 (errno set). */
static int send_request(const struct auth_wire_req *req, int reply_fd, const struct timespec *deadline)
{
	while (fdpass_send(client_end, req, sizeof(*req), reply_fd, MSG_DONTWAIT) < 0) {
		if (errno != EAGAIN)
			return -1;
		/* The worker is behind (or between a death and its restart): wait for room, not forever. */
		if (wait_for(client_end, POLLOUT, deadline) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* recv_reply - the worker's answer on FD before DEADLINE into *REPLY. 0, or -1 with *WHY. */
static int recv_reply(int fd, const struct timespec *deadline, struct auth_wire_reply *reply, const char **why)
{
	char buf[sizeof(*reply) + 1]; /* one byte more: a longer reply is seen as the wrong size */
	ssize_t n;
	int rc;

	if ((rc = wait_for(fd, POLLIN, deadline)) <= 0)
		return *why = rc == 0 ? "no answer in time" : "waiting for the answer failed", -1;
	do
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return *why = "it ended before answering", -1;
	if (n < 0)
		return *why = "reading the answer failed", -1;
	rc = auth_wire_reply_parse(buf, (size_t)n, reply, why);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* ask - send REQ and read the answer; TEMPFAIL on any trouble, with the reason logged once. */
static enum auth_result ask(const struct auth_wire_req *req, struct auth_user *out)
{
	struct timespec deadline;
	struct auth_wire_reply reply;
	enum auth_result res;
	const char *why = NULL;
	int sv[2];

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += AUTH_CLIENT_TIMEOUT_MS / 1000;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("auth: asking the auth worker about %s: socketpair: %s", LOG_Q(req->user), strerror(errno));
		return AUTH_TEMPFAIL;
	}
	if (send_request(req, sv[1], &deadline) < 0) {
		log_err("auth: asking the auth worker about %s: %s", LOG_Q(req->user), strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return AUTH_TEMPFAIL;
	}
	close(sv[1]); /* the worker holds the only other copy: its end, or its death, ends the wait */
	if (recv_reply(sv[0], &deadline, &reply, &why) < 0) {
		log_err("auth: the auth worker gave no answer about %s: %s", LOG_Q(req->user), why);
		close(sv[0]);
		return AUTH_TEMPFAIL;
	}
	close(sv[0]);
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
