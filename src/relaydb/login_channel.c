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
#include "common/ipc.h"
#include "common/ipc_reply.h"
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
	int sv[2], size = LOGIN_CHANNEL_BUFFER;

	if (ipc_pair(SOCK_DGRAM, sv) < 0)
		return -1;
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

/* This process's answer pair, kept between records (common/ipc_reply.h says how that stays safe). */
static struct ipc_reply_pair pair = IPC_REPLY_PAIR_INIT;

/*
 * ask_once - one request, answered on the pair: the worker's result (0 or -1), -2 when the answer
 * socket closed unanswered (the worker died with it: ask again), -3 on a timeout or error. The
 * pair is kept only after a well-formed answer that handed its socket back.
 */
static int ask_once(int chan, const struct relay_login_req *req, int64_t deadline)
{
	struct relay_login_rep rep;
	struct ipc_frame f;
	const char *why = NULL;
	int rc;

	/* A full channel: the worker is restarting or busy, and the records before ours go first. */
	if (ipc_reply_ready(&pair) < 0 || ipc_reply_send(&pair, chan, IPC_RELAY_LOGIN, req, sizeof(*req), deadline) < 0)
		return -3;
	rc = ipc_reply_recv(&pair, &rep, sizeof(rep), deadline, &f);
	if (rc == 0)
		return -2;
	if (rc != 1)
		return -3;
	if (f.type != IPC_RELAY_LOGIN_REP || f.len != sizeof(rep) || (rep.result != 0 && rep.result != -1)) {
		ipc_reply_drop(&pair, &f);
		errno = EPROTO;
		return -3;
	}
	if (!ipc_reply_keep(&pair, &f, &why))
		log_debug("relaydb: the lookup worker's answer to the login of %s: %s", req->ip, why);
	return rep.result; /* the record is written whichever socket came back */
}

void relay_login_forget(void)
{
	ipc_reply_drop(&pair, NULL);
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
	int64_t deadline;
	int rc;

	if (chan < 0)
		return RELAY_LOGIN_NO_ANSWER;
	memset(&req, 0, sizeof(req));
	copy_field(req.ip, sizeof(req.ip), ip);
	copy_field(req.user, sizeof(req.user), user);
	copy_field(req.proto, sizeof(req.proto), proto);
	deadline = ipc_deadline(wait_ms);
	while ((rc = ask_once(chan, &req, deadline)) == -2 && ipc_ms_left(deadline) > 0)
		log_debug("relaydb: the lookup worker ended before recording the login of %s; asking its successor", ip);
	if (rc == -2)
		errno = ETIMEDOUT; /* every worker asked ended unanswered, the last at the deadline */
	return rc >= -1 ? rc : RELAY_LOGIN_NO_ANSWER;
}

/* A record as received: the request, who sent it, and the socket to answer on (-1: none). */
struct login_record {
	struct relay_login_req req;
	struct ucred who;
	int reply_fd;
};

/* receive - the next record on CHAN: 1 taken, 0 none waiting, -1 a malformed one (dropped and logged). */
static int receive(int chan, struct login_record *rec)
{
	struct ipc_frame f;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->reply_fd = -1;
	rc = ipc_recv(chan, &rec->req, sizeof(rec->req), IPC_FD_MUST | IPC_DGRAM, IPC_NOW, &f);
	if (rc < 0 && errno != EPROTO && errno != EMSGSIZE)
		return 0;
	if (f.has_cred)
		rec->who = f.cred;
	if (rc == 1 && f.type == IPC_RELAY_LOGIN && f.len == sizeof(rec->req)) {
		rec->reply_fd = f.fd;
		return 1;
	}
	log_warn("relaydb: a malformed login record (%s) from pid %ld uid %ld dropped",
		 f.why != NULL ? f.why : f.type != IPC_RELAY_LOGIN ? "a record of another channel" : "of the wrong size",
		 (long)rec->who.pid, (long)rec->who.uid);
	if (f.fd >= 0)
		close(f.fd);
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
	struct relay_login_rep rep = { .result = -1 };
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
		/* The answer socket goes back with the answer, for the sender's next record. */
		(void)ipc_send(rec->reply_fd, IPC_RELAY_LOGIN_REP, &rep, sizeof(rep), rec->reply_fd, IPC_NOW);
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
