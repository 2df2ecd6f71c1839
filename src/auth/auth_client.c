/* auth_client.c - the auth channel's ends in the master, and a session monitor's request to the auth worker. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "common/ipc.h"
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

/*
 * The monitor's reply pair, kept between requests (a socketpair and two closes a check saved).
 * REPLY is read by the monitor; SPARE, its peer, goes along with each request, the monitor's own
 * copy closed meanwhile, and comes back with the answer. So while a check is out the worker holds
 * the only copy of SPARE: its end, or its death, ends the monitor's wait at once, and only the
 * process that took the request can answer on it. The pair is kept only after a whole exchange:
 * one answer, with SPARE itself handed back (checked by its inode). On any trouble (no answer in
 * time, a refused request, a dead worker, a malformed answer) both ends are closed, so an answer
 * that comes later, say from a worker stopped past our deadline, finds no reader: it can never
 * be taken as the answer to a later request, which goes out with a new pair.
 */
static struct {
	int reply;
	int spare;
	dev_t dev;                  /* SPARE's identity, to know it when it comes back */
	ino_t ino;
} pair = { .reply = -1, .spare = -1 };

/* drop_pair - close the reply pair: the next request makes a new one. */
static void drop_pair(void)
{
	close_end(&pair.reply);
	close_end(&pair.spare);
}

/* make_pair - the reply pair, unless kept from the last check. 0, or -1 with errno. */
static int make_pair(void)
{
	struct stat st;
	int sv[2];

	if (pair.reply >= 0 && pair.spare >= 0)
		return 0;
	drop_pair();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pair.reply = sv[0];
	pair.spare = sv[1];
	if (fstat(pair.spare, &st) < 0) {
		drop_pair();
		return -1;
	}
	pair.dev = st.st_dev;
	pair.ino = st.st_ino;
	return 0;
}

/* is_spare - whether FD, handed back with an answer, is the spare end we sent. */
static bool is_spare(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == pair.dev && st.st_ino == pair.ino;
}

/* recv_reply - the worker's answer on the pair before DEADLINE into *REPLY, the spare back. 0, or -1 with *WHY. */
static int recv_reply(int64_t deadline, struct auth_wire_reply *reply, const char **why)
{
	char buf[sizeof(*reply)];
	struct ipc_frame f;
	int rc = ipc_recv(pair.reply, buf, sizeof(buf), IPC_FD_MUST | IPC_SEQPACKET, deadline, &f);

	if (rc == 0)
		*why = "it ended before answering";
	else if (rc < 0)
		*why = f.why != NULL ? f.why : errno == ETIMEDOUT ? "no answer in time" : "reading the answer failed";
	else if (f.type != IPC_AUTH_REPLY)
		*why = "a record of another channel", rc = -1;
	else if (!is_spare(f.fd))
		*why = "the answer came back with another socket", rc = -1;
	else
		rc = auth_wire_reply_parse(buf, f.len, reply, why) == 0 ? 1 : -1;
	explicit_bzero(buf, sizeof(buf));
	if (rc == 1)
		pair.spare = f.fd;
	else if (f.fd >= 0)
		close(f.fd);
	return rc == 1 ? 0 : -1;
}

/* ask - send REQ and read the answer; TEMPFAIL on any trouble, with the reason logged once. */
static enum auth_result ask(const struct auth_wire_req *req, struct auth_user *out)
{
	int64_t deadline = ipc_deadline(AUTH_CLIENT_TIMEOUT_MS);
	struct auth_wire_reply reply;
	enum auth_result res;
	const char *why = NULL;

	if (make_pair() < 0) {
		log_err("auth: asking the auth worker about %s: socketpair: %s", LOG_Q(req->user), strerror(errno));
		return AUTH_TEMPFAIL;
	}
	/* A full channel: the worker is behind (or between a death and its restart): wait for room, not forever. */
	if (ipc_send(client_end, IPC_AUTH_REQ, req, sizeof(*req), pair.spare, deadline) < 0) {
		log_err("auth: asking the auth worker about %s: %s", LOG_Q(req->user), strerror(errno));
		drop_pair();
		return AUTH_TEMPFAIL;
	}
	close_end(&pair.spare); /* the worker holds the only other copy: its end, or its death, ends the wait */
	if (recv_reply(deadline, &reply, &why) < 0) {
		log_err("auth: the auth worker gave no answer about %s: %s", LOG_Q(req->user), why);
		drop_pair();
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
	drop_pair(); /* a forked child must not read the monitor's answers, nor write them */
	close_end(&client_end);
	close_end(&worker_end);
}
