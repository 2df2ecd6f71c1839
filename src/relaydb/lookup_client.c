/* lookup_client.c - a session's relay checks, asked of the relay-lookup worker. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "relaydb/lookup.h"
#include "relaydb/lookup_wire.h"

/* The question asked ahead of need (relay_lookup_prefetch) whose answer is not read yet: at most one. */
enum relay_ahead {
	AHEAD_NONE,
	AHEAD_PENDING, /* asked for the current transaction */
	AHEAD_STALE,   /* asked for a transaction that has ended: its answer is read and dropped */
};

struct relay_lookup {
	const struct config *cfg;
	int fd;                 /* connected to the worker, or -1 */
	bool worker_failed;     /* it did not answer: refuse at once until LK is freed */
	enum relay_ahead ahead;
	char ahead_ip[IP_TEXT_MAX]; /* the canonical address asked ahead */
};

int relay_lookup_dir(const struct config *cfg, char *buf, size_t len)
{
	struct sockaddr_un sa;
	const char *dir = conf(cfg)->server.state_dir;
	int n;

	if (dir[0] == '\0')
		return -1;
	n = snprintf(buf, len, "%s/%s", dir, RELAY_LOOKUP_DIR);
	/* Room for the socket's name after it, in a unix socket address. */
	if (n < 0 || (size_t)n >= len || (size_t)n + 1 + strlen(RELAY_LOOKUP_SOCKET) >= sizeof(sa.sun_path))
		return -1;
	return 0;
}

int relay_lookup_path(const struct config *cfg, char *buf, size_t len)
{
	size_t n;

	if (relay_lookup_dir(cfg, buf, len) < 0)
		return -1;
	n = strlen(buf);
	if (snprintf(buf + n, len - n, "/%s", RELAY_LOOKUP_SOCKET) >= (int)(len - n))
		return -1;
	return 0;
}

struct relay_lookup *relay_lookup_new(const struct config *cfg)
{
	struct relay_lookup *lk = calloc(1, sizeof(*lk));

	if (lk == NULL)
		return NULL;
	lk->cfg = cfg;
	lk->fd = -1;
	return lk;
}

void relay_lookup_free(struct relay_lookup **lk)
{
	if (*lk == NULL)
		return;
	if ((*lk)->fd >= 0)
		close((*lk)->fd);
	free(*lk);
	*lk = NULL;
}

bool relay_lookup_failed(const struct relay_lookup *lk)
{
	return lk->worker_failed;
}

/*
 * worker_connect - connect to the worker's socket. A worker that is starting (the master forks it
 * as it starts serving) or restarting has no socket yet, or a dead one's: tried again every
 * RELAY_LOOKUP_RETRY_MS for up to RELAY_LOOKUP_TIMEOUT_MS. Not when even the socket's directory
 * is missing: popgated's master makes it before anything, so no worker will come. Tried until
 * DEADLINE (once for IPC_NOW). 0, or -1 with errno set.
 */
static int worker_connect(struct relay_lookup *lk, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	int fd, err;

	if (relay_lookup_path(lk->cfg, sa.sun_path, sizeof(sa.sun_path)) < 0 ||
	    relay_lookup_dir(lk->cfg, dir, sizeof(dir)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (access(dir, F_OK) < 0)
		return -1;
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			lk->fd = fd;
			return 0;
		}
		err = errno;
		close(fd);
		if ((err != ENOENT && err != ECONNREFUSED) || ipc_ms_left(deadline) == 0) {
			errno = err;
			return -1;
		}
		(void)poll(NULL, 0, RELAY_LOOKUP_RETRY_MS);
	}
}

/* wait_answer - the worker's answer to a question by DEADLINE; -1 on timeout, EOF or a bad record. */
static int wait_answer(int fd, struct relay_lookup_rep *rep, int64_t deadline)
{
	struct ipc_frame f;
	int rc = ipc_recv(fd, rep, sizeof(*rep), IPC_SEQPACKET, deadline, &f);

	if (rc == 0)
		errno = ECONNRESET; /* the log says why, not a stale errno */
	if (rc != 1)
		return -1;
	if (f.type != IPC_RELAY_LOOKUP_REP || f.len != sizeof(*rep) || rep->found < -1 || rep->found > 1) {
		errno = EPROTO;
		return -1;
	}
	rep->entry.ip[sizeof(rep->entry.ip) - 1] = '\0';
	rep->entry.user[sizeof(rep->entry.user) - 1] = '\0';
	rep->entry.proto[sizeof(rep->entry.proto) - 1] = '\0';
	return 0;
}

/* send_question - one question on LK's connection (made if needed) by DEADLINE: 0, or -1 with errno set. */
static int send_question(struct relay_lookup *lk, const struct relay_lookup_req *req, int64_t deadline)
{
	if (lk->fd < 0 && worker_connect(lk, deadline) < 0)
		return -1;
	return ipc_send(lk->fd, IPC_RELAY_LOOKUP, req, sizeof(*req), -1, deadline);
}

/* ask_once - one question and its answer by DEADLINE: 0, or -1 with errno set. */
static int ask_once(struct relay_lookup *lk, const struct relay_lookup_req *req, struct relay_lookup_rep *rep,
		    int64_t deadline)
{
	if (send_question(lk, req, deadline) < 0 || wait_answer(lk->fd, rep, deadline) < 0)
		return -1;
	return 0;
}

/* disconnect - close LK's connection; an answer still owed on it is forgotten with it. */
static void disconnect(struct relay_lookup *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	lk->ahead = AHEAD_NONE;
}

/*
 * worker_failed - the worker did not answer by the deadline: logged once per LK (the protocol child
 * cannot read the database, server.login_user owns none of it), and every relay check on LK is a
 * temporary failure from here on.
 */
static void worker_failed(struct relay_lookup *lk)
{
	log_err("relaydb: the lookup worker did not answer (%s); relaying refused with a temporary failure "
		"for the rest of this transaction", errno != 0 ? strerror(errno) : "no answer");
	disconnect(lk);
	lk->worker_failed = true;
}

/* question_for - the question for the canonical address CANON into *REQ; -1 when it cannot be one. */
static int question_for(const char *canon, struct relay_lookup_req *req)
{
	size_t n = strlen(canon);

	if (n >= sizeof(req->ip))
		return -1; /* relay_check_lists made CANON: never so long */
	memset(req, 0, sizeof(*req));
	memcpy(req->ip, canon, n + 1);
	return 0;
}

/* ask_worker - relaydb_get through the worker: 1, 0 or -1 as it answered, -1 too when it did not answer. */
static int ask_worker(struct relay_lookup *lk, const char *canon, struct relay_entry *e)
{
	struct relay_lookup_req req;
	struct relay_lookup_rep rep;
	bool reused = lk->fd >= 0;

	if (lk->worker_failed || question_for(canon, &req) < 0)
		return -1;
	if (ask_once(lk, &req, &rep, ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS)) < 0) {
		/*
		 * A connection made for an earlier question whose worker has ended since (it was
		 * restarted: killed, or gone for being stuck in the database): ask its successor.
		 */
		if (!reused || (errno != EPIPE && errno != ECONNRESET)) {
			worker_failed(lk);
			return -1;
		}
		disconnect(lk);
		if (ask_once(lk, &req, &rep, ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS)) < 0) {
			worker_failed(lk);
			return -1;
		}
	}
	if (rep.found == 1)
		*e = rep.entry;
	return rep.found;
}

/*
 * take_ahead - read the answer still owed on LK's connection. True when it answers the current
 * transaction's question for CANON with an entry, which goes to *E. A worker that does not answer
 * by the deadline has failed; a connection that broke is closed, for ask_worker to make anew.
 */
static bool take_ahead(struct relay_lookup *lk, const char *canon, struct relay_entry *e)
{
	struct relay_lookup_rep rep;
	bool ours = lk->ahead == AHEAD_PENDING && strcmp(lk->ahead_ip, canon) == 0;

	if (lk->ahead == AHEAD_NONE)
		return false;
	lk->ahead = AHEAD_NONE;
	errno = 0;
	if (wait_answer(lk->fd, &rep, ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS)) < 0) {
		if (errno == ETIMEDOUT)
			worker_failed(lk);
		else
			disconnect(lk);
		return false;
	}
	if (!ours || rep.found != 1)
		return false;
	*e = rep.entry;
	return true;
}

void relay_lookup_prefetch(struct relay_lookup *lk, const char *ip)
{
	struct relay_lookup_req req;
	struct relay_lookup_rep rep;
	char canon[IP_TEXT_MAX];
	enum relay_reason reason;

	if (lk->worker_failed || relay_check_lists(lk->cfg, ip, canon, &reason) || question_for(canon, &req) < 0)
		return;
	if (lk->ahead != AHEAD_NONE) {
		/* One question at a time: the last one's answer, if it is here; if not, none asked ahead now. */
		if (wait_answer(lk->fd, &rep, IPC_NOW) < 0) {
			if (errno == EAGAIN)
				return;
			disconnect(lk);
		}
		lk->ahead = AHEAD_NONE;
	}
	/* Not waiting for a worker that is starting: the RCPT that needs the answer will. */
	if (send_question(lk, &req, IPC_NOW) < 0) {
		disconnect(lk);
		return;
	}
	lk->ahead = AHEAD_PENDING;
	memcpy(lk->ahead_ip, canon, sizeof(canon));
}

void relay_lookup_end_transaction(struct relay_lookup *lk)
{
	if (lk->ahead == AHEAD_PENDING)
		lk->ahead = AHEAD_STALE;
}

enum relay_reason relay_lookup_check(struct relay_lookup *lk, const char *ip, time_t now, struct relay_entry *e)
{
	struct relay_entry local;
	char canon[IP_TEXT_MAX];
	enum relay_reason reason;
	int found;

	if (e == NULL)
		e = &local;
	memset(e, 0, sizeof(*e));
	if (relay_check_lists(lk->cfg, ip, canon, &reason))
		return reason;
	/* An answer asked ahead stands when it authorizes; any other is asked again, now. */
	if (take_ahead(lk, canon, e) && (reason = relay_entry_answer(lk->cfg, 1, e, now)) == RELAY_AUTHORIZED)
		return reason;
	memset(e, 0, sizeof(*e));
	errno = 0;
	found = ask_worker(lk, canon, e);
	/* The worker already applied the note of unrecorded logins, which is in relay.db_dir. */
	return relay_entry_answer(lk->cfg, found, e, now);
}
