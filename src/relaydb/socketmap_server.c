/* socketmap_server.c - the socketmap connections inside the relay lookup worker's poll loop. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/socketmap.h"

/* One MTA connection; requests may arrive pipelined, so the buffer holds up to one whole request. */
struct sm_conn {
	int fd;
	time_t idle_until;           /* closed when nothing arrives by then */
	size_t len;
	char buf[SOCKETMAP_REQUEST_MAX + 16];
	char peer[IP_TEXT_MAX];      /* for the log; "local" on the unix socket */
};

struct socketmap {
	const struct config *cfg;
	int listen_fd;
	bool is_unix;
	char path[108];              /* the unix socket we bound, removed at close */
	long long idle;              /* relay.socketmap_idle_timeout */
	size_t n;
	struct sm_conn conns[SOCKETMAP_CLIENTS_MAX];
};

/*
 * bind_unix - listen on PATH. The worker binds it itself, as server.user: the socket then belongs
 * to the user that serves it, sits in a directory that user may write (like relay.db_dir's
 * lookup.sock) and is made again whenever the worker restarts. Any local user may connect (0666):
 * the directory's permissions decide who reaches it.
 */
static int bind_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 || listen(fd, 128) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

struct socketmap *socketmap_open(const struct config *cfg, int listen_fd)
{
	struct socketmap_where w;
	const char *why = NULL;
	struct socketmap *sm;

	if (socketmap_where_parse(conf(cfg)->relay.socketmap_listen, &w, &why) <= 0) {
		if (why != NULL)
			log_err("relaydb: relay.socketmap_listen: %s", why);
		return NULL;
	}
	if (w.is_unix && (listen_fd = bind_unix(w.path)) < 0) {
		log_err("relaydb: socketmap: cannot listen on %s: %s", w.path, strerror(errno));
		return NULL;
	}
	if (listen_fd < 0)
		return NULL; /* the master could not give us its socket: it logged why */
	if ((sm = calloc(1, sizeof(*sm))) == NULL) {
		log_err("relaydb: socketmap: out of memory");
		if (w.is_unix)
			close(listen_fd);
		return NULL;
	}
	sm->cfg = cfg;
	sm->listen_fd = listen_fd;
	sm->is_unix = w.is_unix;
	snprintf(sm->path, sizeof(sm->path), "%s", w.path);
	sm->idle = conf(cfg)->relay.socketmap_idle_timeout;
	log_info("relaydb: socketmap listening on %s", conf(cfg)->relay.socketmap_listen);
	return sm;
}

static void drop(struct socketmap *sm, size_t i)
{
	close(sm->conns[i].fd);
	sm->conns[i] = sm->conns[--sm->n];
}

void socketmap_close(struct socketmap **smp)
{
	struct socketmap *sm = *smp;

	if (sm == NULL)
		return;
	while (sm->n > 0)
		drop(sm, sm->n - 1);
	close(sm->listen_fd);
	if (sm->is_unix)
		unlink(sm->path);
	free(sm);
	*smp = NULL;
}

size_t socketmap_pollfds(struct socketmap *sm, struct pollfd *pfd, size_t max)
{
	size_t n = 0;

	if (max == 0)
		return 0;
	pfd[n++] = (struct pollfd){ .fd = sm->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < sm->n && n < max; i++)
		pfd[n++] = (struct pollfd){ .fd = sm->conns[i].fd, .events = POLLIN };
	return n;
}

/* admitted - whether the peer of FD may ask; PEER gets its text. Unix peers are local. */
static bool admitted(struct socketmap *sm, int fd, char peer[IP_TEXT_MAX])
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ip_addr ip;

	if (sm->is_unix) {
		snprintf(peer, IP_TEXT_MAX, "local");
		return true;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 || ip_from_sockaddr((struct sockaddr *)&ss, &ip) < 0)
		return false;
	ip_format(&ip, peer);
	return cidr_list_match(&conf(sm->cfg)->relay.socketmap_clients, &ip) != NULL;
}

static void accept_all(struct socketmap *sm, time_t now)
{
	int fd;

	while ((fd = accept4(sm->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		char peer[IP_TEXT_MAX];

		if (!admitted(sm, fd, peer)) {
			log_msg(LOG_NOTICE, "relaydb: socketmap: %s is not in relay.socketmap_clients: connection closed", peer);
			close(fd);
			continue;
		}
		if (sm->n >= SOCKETMAP_CLIENTS_MAX) {
			log_warn("relaydb: socketmap: %d connections already: closing %s's", SOCKETMAP_CLIENTS_MAX, peer);
			close(fd);
			continue;
		}
		sm->conns[sm->n] = (struct sm_conn){ .fd = fd, .idle_until = now + sm->idle };
		snprintf(sm->conns[sm->n].peer, IP_TEXT_MAX, "%s", peer);
		sm->n++;
	}
}

/* reply - send one answer; false when the client does not take it (it must read its replies). */
static bool reply(struct sm_conn *c, enum socketmap_status st, const char *text)
{
	char out[SOCKETMAP_REPLY_MAX];
	size_t n = socketmap_reply(st, text, out, sizeof(out));

	return n > 0 && send(c->fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n;
}

/* answer_one - the reply to one request payload. */
static bool answer_one(struct socketmap *sm, struct sm_conn *c, const char *data, size_t dlen,
		       struct relaydb *(*db_fn)(void *arg), void *arg)
{
	char canon[IP_TEXT_MAX], value[96];
	enum socketmap_status st;
	int kind = socketmap_request(data, dlen, canon);

	if (kind < 0)
		return reply(c, SOCKETMAP_PERM, "malformed request: expected NAME KEY");
	if (kind == 0)
		return reply(c, SOCKETMAP_NOTFOUND, NULL);
	st = socketmap_answer(sm->cfg, db_fn(arg), canon, time(NULL), value, sizeof(value));
	return reply(c, st, value);
}

/* serve_conn - read what C sent and answer every whole request in it; false when C must go. */
static bool serve_conn(struct socketmap *sm, struct sm_conn *c, time_t now,
		       struct relaydb *(*db_fn)(void *arg), void *arg)
{
	ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	const char *data;
	size_t dlen, used, off = 0;

	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (r == 0)
		return false;
	c->len += (size_t)r;
	c->idle_until = now + sm->idle;
	for (;;) {
		switch (socketmap_frame(c->buf + off, c->len - off, SOCKETMAP_REQUEST_MAX, &data, &dlen, &used)) {
		case SOCKETMAP_FRAME_OK:
			if (!answer_one(sm, c, data, dlen, db_fn, arg))
				return false;
			off += used;
			continue;
		case SOCKETMAP_FRAME_MORE:
			memmove(c->buf, c->buf + off, c->len - off);
			c->len -= off;
			return true;
		case SOCKETMAP_FRAME_TOO_LONG:
			log_msg(LOG_NOTICE, "relaydb: socketmap: %s sent a request over %d bytes: connection closed", c->peer,
				   SOCKETMAP_REQUEST_MAX);
			reply(c, SOCKETMAP_PERM, "request too long");
			return false;
		case SOCKETMAP_FRAME_BAD:
			log_msg(LOG_NOTICE, "relaydb: socketmap: %s sent something that is not a netstring: connection closed",
				   c->peer);
			reply(c, SOCKETMAP_PERM, "not a netstring");
			return false;
		}
	}
}

void socketmap_serve(struct socketmap *sm, const struct pollfd *pfd, size_t n,
		     struct relaydb *(*db_fn)(void *arg), void *arg)
{
	time_t now = time(NULL);

	/* Entries 1..n-1 are conns[0..n-2] as they were at poll time; backwards, so a drop skips nobody. */
	for (size_t i = n; i-- > 1;) {
		struct sm_conn *c = &sm->conns[i - 1];
		short ev = pfd[i].revents;

		if (ev == 0)
			continue;
		if ((ev & POLLIN) ? !serve_conn(sm, c, now, db_fn, arg) : (ev & (POLLERR | POLLHUP | POLLNVAL)) != 0)
			drop(sm, i - 1);
	}
	for (size_t i = sm->n; i-- > 0;)
		if (sm->conns[i].idle_until <= now)
			drop(sm, i);
	if (n > 0 && (pfd[0].revents & POLLIN))
		accept_all(sm, now);
}
