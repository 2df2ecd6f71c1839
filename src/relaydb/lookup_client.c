/* lookup_client.c - a session's relay checks: ask the relay-lookup worker, else read the database. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
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
	bool worker_failed;     /* stop asking it for the rest of the session */
	struct relaydb *db;     /* our own handle, opened only when the worker cannot answer */
};

int relay_lookup_path(const struct config *cfg, char *buf, size_t len)
{
	struct sockaddr_un sa;
	const char *dir = conf(cfg)->relay.db_dir;
	int n;

	if (dir[0] == '\0')
		return -1;
	n = snprintf(buf, len, "%s/%s", dir, RELAY_LOOKUP_SOCKET);
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(sa.sun_path))
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
	if ((*lk)->db != NULL)
		relaydb_close(&(*lk)->db);
	free(*lk);
	*lk = NULL;
}

/* worker_connect - connect to the worker's socket; -1 when it is not there (not an error). */
static int worker_connect(struct relay_lookup *lk)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (relay_lookup_path(lk->cfg, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	lk->fd = fd;
	return 0;
}

/* wait_answer - the worker's answer to a question by DEADLINE; -1 on timeout, EOF or a bad record. */
static int wait_answer(int fd, struct relay_lookup_rep *rep, int64_t deadline)
{
	struct ipc_frame f;
	int rc = ipc_recv(fd, rep, sizeof(*rep), 0, deadline, &f);

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

/* ask_worker - relaydb_get through the worker: 1, 0 or -1 as it answered; -2 when it did not answer. */
static int ask_worker(struct relay_lookup *lk, const char *canon, struct relay_entry *e)
{
	struct relay_lookup_req req;
	struct relay_lookup_rep rep;
	size_t n = strlen(canon);
	int64_t deadline = ipc_deadline(RELAY_LOOKUP_TIMEOUT_MS);

	if (lk->worker_failed || n >= sizeof(req.ip))
		return -2;
	if (lk->fd < 0 && worker_connect(lk) < 0)
		goto failed;
	memset(&req, 0, sizeof(req));
	memcpy(req.ip, canon, n + 1);
	if (ipc_send(lk->fd, IPC_RELAY_LOOKUP, &req, sizeof(req), -1, deadline) < 0 ||
	    wait_answer(lk->fd, &rep, deadline) < 0)
		goto failed;
	if (rep.found == 1)
		*e = rep.entry;
	return rep.found;
failed:
	/* Said at debug level only: the session reads the database itself, and nothing is refused. */
	log_debug("relaydb: the lookup worker did not answer (%s); reading the database directly",
		  errno != 0 ? strerror(errno) : "no answer");
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	lk->worker_failed = true;
	return -2;
}

/* read_database - relaydb_get with the session's own handle, opened on first use. */
static int read_database(struct relay_lookup *lk, const char *canon, struct relay_entry *e)
{
	char err[256];

	if (lk->db == NULL && relaydb_open(lk->cfg, &lk->db, err, sizeof(err)) < 0) {
		log_err("relaydb: cannot open the relay database: %s", err);
		lk->db = NULL;
		return -1;
	}
	return relaydb_get(lk->db, canon, e);
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
	if ((found = ask_worker(lk, canon, e)) == -2)
		found = read_database(lk, canon, e);
	return relay_entry_reason(lk->cfg, found, e, now);
}
