/* login_channel.c - logins to record, from session monitors and popgate-dracd to the lookup worker. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/fdpass.h"
#include "relaydb/login_channel.h"
#include "relaydb/lookup_wire.h"
#include "relaydb/relaydb_int.h"

/*
 * Records taken per call of relay_login_serve: a burst of logins must not keep the worker from
 * the SMTP sessions' look-ups; the rest wait for its next poll.
 */
#define LOGIN_SERVE_BATCH 64

/*
 * Bytes the channel may hold: a record with its descriptor costs about a kilobyte of socket
 * memory, and while the worker restarts every login of those seconds waits in it.
 */
#define LOGIN_CHANNEL_BUFFER (1024 * 1024)

int relay_login_channel_open(int *rd, int *wr)
{
	int sv[2], on = 1, size = LOGIN_CHANNEL_BUFFER;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
		int saved = errno;

		close(sv[0]);
		close(sv[1]);
		errno = saved;
		return -1;
	}
	/*
	 * Nobody reads the senders' end (answers come on sockets of their own). Shut, it also tells
	 * the master's copy apart for a root-run benchmark (bench/login-record-bench): it polls RDHUP.
	 */
	(void)shutdown(sv[1], SHUT_RD);
	/* Past the sysctl cap while still root; the default otherwise, which is only smaller. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	*rd = sv[0];
	*wr = sv[1];
	return 0;
}

/* ms_left - milliseconds from now to DEADLINE (CLOCK_MONOTONIC), 0 when it has passed. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : (int)ms;
}

/* wait_for - poll FD for EVENTS until DEADLINE: 1 ready, 0 the deadline passed, -1 an error. */
static int wait_for(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, ms_left(deadline));
	while (r < 0 && errno == EINTR);
	return r;
}

/* send_request - REQ with REPLY_FD attached onto CHAN, waiting for room until DEADLINE; 0 or -1. */
static int send_request(int chan, const struct relay_login_req *req, int reply_fd, const struct timespec *deadline)
{
	while (fdpass_send(chan, req, sizeof(*req), reply_fd, MSG_DONTWAIT) < 0) {
		if (errno != EAGAIN)
			return -1;
		/* Full: the worker is restarting or busy, and the records before ours go first. */
		if (wait_for(chan, POLLOUT, deadline) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/*
 * ask_once - one request on a fresh answer socket: the worker's result (0 or -1), -2 when the
 * answer socket closed unanswered (the worker died with it: ask again), -3 on a timeout or error.
 */
static int ask_once(int chan, const struct relay_login_req *req, const struct timespec *deadline)
{
	struct relay_login_rep rep;
	int sv[2], rc = -3;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -3;
	if (send_request(chan, req, sv[1], deadline) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -3;
	}
	close(sv[1]); /* in flight now: the worker holds the only other copy once it takes it */
	if (wait_for(sv[0], POLLIN, deadline) == 1) {
		do
			n = recv(sv[0], &rep, sizeof(rep), MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			rc = -2;
		else if (n == (ssize_t)sizeof(rep) && rep.magic == RELAY_LOGIN_MAGIC && (rep.result == 0 || rep.result == -1))
			rc = rep.result;
	}
	close(sv[0]);
	return rc;
}

/* copy_field - TEXT into the fixed field DST of SIZE bytes, cut to fit (as the database cuts it). */
static void copy_field(char *dst, size_t size, const char *text)
{
	size_t n = text != NULL ? strnlen(text, size - 1) : 0;

	if (n > 0)
		memcpy(dst, text, n);
	dst[n] = '\0';
}

int relay_login_send(int chan, const char *ip, const char *user, const char *proto, int wait_ms)
{
	struct relay_login_req req;
	struct timespec deadline;
	int rc;

	if (chan < 0)
		return RELAY_LOGIN_NO_ANSWER;
	memset(&req, 0, sizeof(req));
	req.magic = RELAY_LOGIN_MAGIC;
	copy_field(req.ip, sizeof(req.ip), ip);
	copy_field(req.user, sizeof(req.user), user);
	copy_field(req.proto, sizeof(req.proto), proto);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while ((rc = ask_once(chan, &req, &deadline)) == -2 && ms_left(&deadline) > 0)
		log_debug("relaydb: the lookup worker ended before recording the login of %s; asking its successor", ip);
	return rc >= -1 ? rc : RELAY_LOGIN_NO_ANSWER;
}

/* A record as received: the request, who sent it, and the socket to answer on (-1: none). */
struct login_record {
	struct relay_login_req req;
	struct ucred who;
	int reply_fd;
};

/* take_control - the sender's credentials and the one descriptor from MSG; false unless exactly one came. */
static bool take_control(struct msghdr *msg, struct login_record *rec)
{
	bool ok = true;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&rec->who, CMSG_DATA(c), sizeof(rec->who));
		} else if (c->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (rec->reply_fd < 0)
					rec->reply_fd = fd;
				else {
					close(fd); /* a sender of ours sends one */
					ok = false;
				}
			}
		}
	}
	return ok && rec->reply_fd >= 0 && (msg->msg_flags & MSG_CTRUNC) == 0;
}

/* receive - the next record on CHAN: 1 taken, 0 none waiting, -1 a malformed one (dropped and logged). */
static int receive(int chan, struct login_record *rec)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char data[sizeof(rec->req) + 1];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	memset(rec, 0, sizeof(*rec));
	rec->reply_fd = -1;
	do
		n = recvmsg(chan, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return 0;
	if (take_control(&msg, rec) && n == (ssize_t)sizeof(rec->req)) {
		memcpy(&rec->req, data, sizeof(rec->req));
		if (rec->req.magic == RELAY_LOGIN_MAGIC)
			return 1;
	}
	log_warn("relaydb: a malformed login record (%zd bytes) from pid %ld uid %ld dropped", n, (long)rec->who.pid,
		 (long)rec->who.uid);
	if (rec->reply_fd >= 0)
		close(rec->reply_fd);
	return -1;
}

/* still_waiting - whether the sender still waits on the answer socket FD (it gave up: hung up). */
static bool still_waiting(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) == 0;
}

/* record_one - record REC into DB (NULL: no database) and answer it. */
static void record_one(const struct config *cfg, struct relaydb *db, struct login_record *rec)
{
	struct relay_login_rep rep = { .magic = RELAY_LOGIN_MAGIC, .result = -1 };
	struct relay_login_req *q = &rec->req;

	q->ip[sizeof(q->ip) - 1] = '\0';
	q->user[sizeof(q->user) - 1] = '\0';
	q->proto[sizeof(q->proto) - 1] = '\0';
	if (!still_waiting(rec->reply_fd)) {
		/* Its session already said "not recorded": recording it now would make that untrue. */
		log_session(LOG_NOTICE, "relay", q->ip, q->user, "authorization not recorded",
			    "the session (pid %ld) stopped waiting for the lookup worker", (long)rec->who.pid);
	} else {
		if (db == NULL) {
			log_session(LOG_ERR, "relay", q->ip, q->user, "authorization not recorded",
				    "the lookup worker cannot open the relay database");
			relaydb_unrecorded_note(conf(cfg)->relay.db_dir, time(NULL));
		} else {
			rep.result = relaydb_login_apply(cfg, db, q->ip, q->user, q->proto, time(NULL)) < 0 ? -1 : 0;
		}
		if (rep.result == 0)
			log_debug("relaydb: authorized %s (user %s, %s) for session pid %ld uid %ld", q->ip, q->user,
				  q->proto, (long)rec->who.pid, (long)rec->who.uid);
		(void)send(rec->reply_fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	close(rec->reply_fd);
}

void relay_login_serve(const struct config *cfg, int chan, struct relaydb *db)
{
	struct login_record rec;
	int r;

	for (int i = 0; i < LOGIN_SERVE_BATCH && (r = receive(chan, &rec)) != 0; i++)
		if (r == 1)
			record_one(cfg, db, &rec);
}
