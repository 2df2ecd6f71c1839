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

struct relay_lookup {
	const struct config *cfg;
	int fd;                 /* connected to the worker, or -1 */
	bool worker_failed;     /* it did not answer: refuse at once until LK is freed */
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
 * is missing: popgated's master makes it before anything, so no worker will come. 0, or -1 with
 * errno set.
 */
static int worker_connect(struct relay_lookup *lk)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	int64_t deadline;
	int fd, err;

	if (relay_lookup_path(lk->cfg, sa.sun_path, sizeof(sa.sun_path)) < 0 ||
	    relay_lookup_dir(lk->cfg, dir, sizeof(dir)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (access(dir, F_OK) < 0)
		return -1;
	deadline = ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS);
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

/* ask_once - one question on LK's connection (made if needed) by DEADLINE: 0, or -1 with errno set. */
static int ask_once(struct relay_lookup *lk, const struct relay_lookup_req *req, struct relay_lookup_rep *rep,
		    int64_t deadline)
{
	if (lk->fd < 0 && worker_connect(lk) < 0)
		return -1;
	if (ipc_send(lk->fd, IPC_RELAY_LOOKUP, req, sizeof(*req), -1, deadline) < 0 ||
	    wait_answer(lk->fd, rep, deadline) < 0)
		return -1;
	return 0;
}

/* ask_worker - relaydb_get through the worker: 1, 0 or -1 as it answered, -1 too when it did not answer. */
static int ask_worker(struct relay_lookup *lk, const char *canon, struct relay_entry *e)
{
	struct relay_lookup_req req;
	struct relay_lookup_rep rep;
	size_t n = strlen(canon);
	bool reused = lk->fd >= 0;

	if (lk->worker_failed)
		return -1;
	if (n >= sizeof(req.ip))
		return -1; /* relay_check_lists made CANON: never so long */
	memset(&req, 0, sizeof(req));
	memcpy(req.ip, canon, n + 1);
	if (ask_once(lk, &req, &rep, ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS)) < 0) {
		/*
		 * A connection made for an earlier question whose worker has ended since (it was
		 * restarted: killed, or gone for being stuck in the database): ask its successor.
		 */
		if (!reused || (errno != EPIPE && errno != ECONNRESET))
			goto failed;
		close(lk->fd);
		lk->fd = -1;
		if (ask_once(lk, &req, &rep, ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS)) < 0)
			goto failed;
	}
	if (rep.found == 1)
		*e = rep.entry;
	return rep.found;
failed:
	/*
	 * Once per session: the protocol child cannot read the database (server.login_user owns none
	 * of it), so every relay check it makes from here on is a temporary failure.
	 */
	log_err("relaydb: the lookup worker did not answer (%s); relaying refused with a temporary failure "
		"for the rest of this transaction", errno != 0 ? strerror(errno) : "no answer");
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	lk->worker_failed = true;
	return -1;
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
	errno = 0;
	found = ask_worker(lk, canon, e);
	/* The worker already applied the note of unrecorded logins, which is in relay.db_dir. */
	return relay_entry_answer(lk->cfg, found, e, now);
}
