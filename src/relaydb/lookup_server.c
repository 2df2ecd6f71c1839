/* lookup_server.c - the relay-lookup worker: one open database, answering sessions' lookups. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "relaydb/login_channel.h"
#include "relaydb/lookup.h"
#include "relaydb/lookup_wire.h"
#include "relaydb/relaydb_int.h"
#include "relaydb/socketmap.h"

/*
 * Sessions connect at their first relay check and stay until they end. Past this many the worker
 * refuses new ones, and those sessions read the database themselves.
 */
#define LOOKUPD_CLIENTS_MAX 1024

/* How often a database that failed to open is tried again, and the stop flag looked at. */
#define LOOKUPD_RETRY_MS 1000

/* fds[0] is the listening socket, fds[1] the login channel; lookup.sock's clients follow. */
#define LOOKUPD_FIRST_CLIENT 2

/* A refused login record on lookup.sock is logged at most this often, with the count since. */
#define LOOKUPD_REFUSAL_LOG_SECS 60

struct lookupd {
	const struct config *cfg;
	struct relaydb *db;
	time_t retry_at;                 /* next open attempt when db is NULL */
	bool reported;                   /* the open failure was logged */
	struct pollfd fds[LOOKUPD_FIRST_CLIENT + LOOKUPD_CLIENTS_MAX + 1 + SOCKETMAP_CLIENTS_MAX];
	nfds_t n;                        /* ours; the socketmap's entries follow them for each poll */
	struct socketmap *sm;            /* relay.socketmap_listen, or NULL */
	unsigned long refused;           /* login records refused on lookup.sock since the last note */
	time_t refusal_logged;
};

/*
 * listen_socket - bind PATH for SOCK_SEQPACKET clients. Bound under a temporary name and renamed
 * over the old one, so a restarting worker never leaves sessions without a socket to try. 0660 in
 * server.state_dir/login, which is setgid to server.login_user's group (master_prepare_dirs): the
 * protocol children reach it through that group, and no one else but server.user.
 */
static int listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0660) < 0 ||
	    listen(fd, 256) < 0 || rename(sa.sun_path, path) < 0) {
		int saved = errno;

		unlink(sa.sun_path);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static void drop_client(struct lookupd *ld, nfds_t i)
{
	close(ld->fds[i].fd);
	ld->fds[i] = ld->fds[--ld->n];
}

static void accept_clients(struct lookupd *ld)
{
	int fd;

	while ((fd = accept4(ld->fds[0].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (ld->n >= LOOKUPD_FIRST_CLIENT + LOOKUPD_CLIENTS_MAX) {
			close(fd); /* that session's RCPTs get a temporary failure */
			continue;
		}
		ld->fds[ld->n].fd = fd;
		ld->fds[ld->n].events = POLLIN;
		ld->fds[ld->n].revents = 0;
		ld->n++;
	}
}

/* database - the open database, or NULL (tried again at most once per LOOKUPD_RETRY_MS). */
static struct relaydb *database(struct lookupd *ld)
{
	char err[PATH_MAX + 128];
	time_t now = time(NULL);

	if (ld->db != NULL || now < ld->retry_at)
		return ld->db;
	if (relaydb_open(ld->cfg, &ld->db, err, sizeof(err)) < 0) {
		if (!ld->reported)
			log_err("relaydb: the lookup worker cannot open the database: %s", err);
		ld->reported = true;
		ld->db = NULL;
		ld->retry_at = now + LOOKUPD_RETRY_MS / 1000;
		return NULL;
	}
	if (ld->reported)
		log_info("relaydb: the lookup worker opened the database");
	ld->reported = false;
	return ld->db;
}

/*
 * refuse_login - a login record on lookup.sock from client I: the protocol children, which read
 * the network, connect there (as server.login_user), so a record there is a protocol
 * violation (sessions record logins on the login channel). Logged with the sender, then at most
 * once per LOOKUPD_REFUSAL_LOG_SECS with the count; the client is dropped.
 */
static void refuse_login(struct lookupd *ld, nfds_t i, const struct relay_login_req *req, size_t len)
{
	struct ucred who;
	time_t now = time(NULL);
	char ip[sizeof(req->ip)] = "";

	ld->refused++;
	if (ld->refusal_logged != 0 && now - ld->refusal_logged < LOOKUPD_REFUSAL_LOG_SECS)
		return;
	(void)ipc_peer_cred(ld->fds[i].fd, &who);
	if (len == sizeof(*req)) {
		memcpy(ip, req->ip, sizeof(ip));
		ip[sizeof(ip) - 1] = '\0';
	}
	log_warn("relaydb: protocol violation on %s: a login record (for %s) from pid %ld uid %ld refused; "
		 "logins are recorded only on the sessions' login channel (%lu refused since the last note)",
		 RELAY_LOOKUP_SOCKET, LOG_Q(ip), (long)who.pid, (long)who.uid, ld->refused);
	ld->refused = 0;
	ld->refusal_logged = now;
}

/* database_fn - database() for the socketmap server. */
static struct relaydb *database_fn(void *arg)
{
	return database(arg);
}

/* answer - read one question (or login to record) from client I and answer it; false when the client must go. */
static bool answer(struct lookupd *ld, nfds_t i)
{
	union {
		struct relay_lookup_req q;
		struct relay_login_req login;
	} in;
	struct relay_lookup_rep rep;
	struct relaydb *db;
	struct ipc_frame f;
	/* A descriptor sent along is closed, not a reason to drop the session: the old recv() did the same. */
	int rc = ipc_recv(ld->fds[i].fd, &in, sizeof(in), IPC_FD_MAY | IPC_SEQPACKET, IPC_NOW, &f);

	if (f.fd >= 0)
		close(f.fd);
	if (rc < 0)
		return errno == EAGAIN;
	if (rc == 1 && f.type == IPC_RELAY_LOGIN) {
		refuse_login(ld, i, &in.login, f.len);
		return false;
	}
	if (rc == 0 || f.type != IPC_RELAY_LOOKUP || f.len != sizeof(in.q))
		return false; /* the session ended (0), or it is not one of ours */
	in.q.ip[sizeof(in.q.ip) - 1] = '\0';
	memset(&rep, 0, sizeof(rep));
	rep.found = (db = database(ld)) != NULL ? relaydb_get(db, in.q.ip, &rep.entry) : -1;
	/* The note of unrecorded logins is in relay.db_dir, which the asking protocol child cannot read. */
	if (rep.found >= 0 && relay_entry_reason(ld->cfg, rep.found, &rep.entry, time(NULL)) == RELAY_DB_ERROR)
		rep.found = -1;
	if (ipc_send(ld->fds[i].fd, IPC_RELAY_LOOKUP_REP, &rep, sizeof(rep), -1, IPC_NOW) < 0)
		return false;
	/* After the answer went out: whoever reads this line knows the session has it. */
	log_debug("relaydb: looked up %s: %s", in.q.ip,
		  rep.found == 1 ? "entry" : rep.found == 0 ? "no entry" : "database error");
	return true;
}

static void serve_ready(struct lookupd *ld)
{
	/* Backwards, so dropping a client (the last one moves into its slot) skips nobody. */
	for (nfds_t i = ld->n - 1; i >= LOOKUPD_FIRST_CLIENT; i--) {
		short ev = ld->fds[i].revents;

		if (ev == 0)
			continue;
		if ((ev & POLLIN) ? !answer(ld, i) : (ev & (POLLERR | POLLHUP | POLLNVAL)) != 0)
			drop_client(ld, i);
	}
	if (ld->fds[1].revents & POLLIN) {
		/* A login is worth trying to open the database now, not at the next retry: the disk may be back. */
		ld->retry_at = 0;
		relay_login_serve(ld->cfg, ld->fds[1].fd, database(ld));
	}
	if (ld->fds[0].revents & POLLIN)
		accept_clients(ld);
}

/* poll_once - wait for our sockets and the socketmap's; the socketmap is served before our own fds move. */
static void poll_once(struct lookupd *ld)
{
	size_t nsm = ld->sm != NULL ? socketmap_pollfds(ld->sm, ld->fds + ld->n, 1 + SOCKETMAP_CLIENTS_MAX) : 0;
	int ready = poll(ld->fds, ld->n + nsm, relaydb_busy(ld->db) ? 0 : LOOKUPD_RETRY_MS);

	relaydb_watchdog_arm(); /* until the loop waits again: see watchdog.c */
	if (ld->sm != NULL)
		socketmap_serve(ld->sm, ld->fds + ld->n, ready > 0 ? nsm : 0, database_fn, ld);
	if (ready > 0)
		serve_ready(ld);
}

int relaydb_lookupd_run(const struct config *cfg, int socketmap_fd, int login_fd, volatile sig_atomic_t *stop)
{
	static struct lookupd ld; /* 12 KiB of pollfds: not on the stack */
	char path[PATH_MAX];
	int fd;

	memset(&ld, 0, sizeof(ld));
	ld.cfg = cfg;
	relaydb_pg_report_outages = true;  /* this worker speaks for the node about the shared store */
	relaydb_pg_cache = true;           /* and answers RCPTs from memory, kept fresh by NOTIFY */
	/* Every login's map change goes through here: keep the map open between them (map_update.c). */
	relay_map_keep_open(true);
	/*
	 * The socket first (its directory is the master's), so that sessions that come meanwhile wait
	 * for their answer while the database opens; "listening" is said once it is open, so that
	 * whoever waits for that line finds the worker out of relaydb_open.
	 */
	if (relay_lookup_path(cfg, path, sizeof(path)) < 0) {
		/* Logins still come on their channel. */
		log_warn("relaydb: no lookup socket: server.state_dir is unset or too long for a socket path; "
			 "every POP-before-SMTP look-up of the sessions fails");
		fd = -1;
	} else if ((fd = listen_socket(path)) < 0) {
		log_err("relaydb: the lookup worker cannot listen on %s: %s", path, strerror(errno));
		relay_map_keep_open(false);
		return 1;
	}
	/* A process killed inside the database must not leave this one waiting for good. */
	if (strcmp(conf(cfg)->relay.backend, "bdb") == 0)
		relaydb_watchdog_start("lookup worker");
	relaydb_watchdog_arm();
	database(&ld);
	relaydb_watchdog_disarm();
	if (fd >= 0)
		log_info("relaydb: lookup worker listening on %s", path);
	ld.fds[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	ld.fds[1] = (struct pollfd){ .fd = login_fd, .events = POLLIN }; /* poll skips a -1 */
	ld.n = LOOKUPD_FIRST_CLIENT;
	ld.sm = socketmap_open(cfg, socketmap_fd);
	while (!*stop) {
		poll_once(&ld);
		/* A shared store that was down: connect again and write the logins queued meanwhile. */
		relaydb_tick(ld.db, time(NULL));
		relaydb_watchdog_disarm();
	}
	socketmap_close(&ld.sm);
	while (ld.n > LOOKUPD_FIRST_CLIENT)
		drop_client(&ld, ld.n - 1);
	if (fd >= 0)
		close(fd);
	relay_map_keep_open(false);
	relaydb_close(&ld.db);
	return 0;
}
