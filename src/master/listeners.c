/* listeners.c - bind the listeners of every service; carry unchanged ones across a reload. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "drac/drac.h"
#include "master/listeners.h"
#include "relaydb/socketmap.h"

static bool same_addr(const struct listen_addr *a, const struct listen_addr *b)
{
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}

/* take_old - steal OLD's socket for ADDR and SVC (the socketmap's; DRAC: of that socket type), or -1. */
static int take_old(struct listener_set *old, const struct service *svc, bool socketmap, int drac,
		    const struct listen_addr *addr)
{
	for (size_t i = 0; old != NULL && i < old->n; i++) {
		struct listener *l = &old->v[i];
		if (l->fd >= 0 && l->svc == svc && l->socketmap == socketmap && l->drac == drac &&
		    same_addr(&l->addr, addr)) {
			int fd = l->fd;
			l->fd = -1;
			return fd;
		}
	}
	return -1;
}

/*
 * At start a previous popgated may be a moment from gone: killed, its processes die with it, but
 * each takes a few milliseconds to let go of its copy of the listening sockets. An address still
 * in use is tried again for this long before start-up fails; a reload does not wait.
 */
#define START_RETRY_MS 5000
#define START_RETRY_STEP_MS 100

/* listen_at_start - net_listen, trying an address in use again for START_RETRY_MS. */
static int listen_at_start(const struct listen_addr *la, char *why, size_t cap)
{
	const struct timespec step = { 0, START_RETRY_STEP_MS * 1000000L };

	for (int waited = 0;; waited += START_RETRY_STEP_MS) {
		int fd = net_listen(la, why, cap);
		if (fd >= 0 || errno != EADDRINUSE || waited >= START_RETRY_MS)
			return fd;
		if (waited == 0)
			log_info("%s; trying again for up to %d s", why, START_RETRY_MS / 1000);
		nanosleep(&step, NULL);
	}
}

/* pin_local - L's bound address when it is one address, not a wildcard: its connections' local address. */
static void pin_local(struct listener *l)
{
	socklen_t len = sizeof(l->local);
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&l->local;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&l->local;

	l->local_len = 0;
	if (getsockname(l->fd, (struct sockaddr *)&l->local, &len) < 0 || len > sizeof(l->local))
		return;
	if ((l->local.ss_family == AF_INET && v4->sin_addr.s_addr != htonl(INADDR_ANY)) ||
	    (l->local.ss_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)))
		l->local_len = len;
}

/* add_one - bind ADDR (from KEY) for SVC, or the socketmap, into OUT (OLD is NULL at start). */
static int add_one(const struct config *cfg, const char *key, const struct service *svc, bool socketmap,
		   const struct listen_addr *addr, struct listener_set *old, struct listener_set *out,
		   struct cfg_error *err)
{
	char why[400];
	int fd;

	for (size_t j = 0; j < out->n; j++) {
		if (same_addr(&out->v[j].addr, addr)) {
			cfg_fail(cfg, key, err, "%s is already used by another listener",
				 net_addr_text(addr, why, sizeof(why)));
			return -1;
		}
	}
	if ((fd = take_old(old, svc, socketmap, 0, addr)) < 0)
		fd = old == NULL ? listen_at_start(addr, why, sizeof(why)) : net_listen(addr, why, sizeof(why));
	if (fd < 0) {
		cfg_fail(cfg, key, err, "%s", why);
		return -1;
	}
	out->v[out->n] = (struct listener){ .fd = fd, .svc = svc, .socketmap = socketmap, .addr = *addr };
	pin_local(&out->v[out->n++]);
	return 0;
}

/* add_all - bind the listeners of KEY for SVC into OUT. */
static int add_all(const struct config *cfg, const char *key, const struct service *svc,
		   struct listener_set *old, struct listener_set *out, struct cfg_error *err)
{
	const struct listen_list *ll = cfg_listen_named(cfg, key);

	for (size_t i = 0; i < ll->n; i++)
		if (add_one(cfg, key, svc, false, &ll->v[i], old, out, err) < 0)
			return -1;
	return 0;
}

/*
 * add_socketmap - relay.socketmap_listen's inet socket, bound here like every other; a unix: path
 * is bound by the lookup worker itself (socketmap_server.c says why).
 */
static int add_socketmap(const struct config *cfg, struct listener_set *old, struct listener_set *out,
			 struct cfg_error *err)
{
	const char *key = "relay.socketmap_listen", *why = "";
	struct socketmap_where w;
	int rc = socketmap_where_parse(cfg_str_named(cfg, key), &w, &why);

	if (rc < 0) {
		cfg_fail(cfg, key, err, "%s", why);
		return -1;
	}
	if (rc == 0 || w.is_unix)
		return 0;
	return add_one(cfg, key, NULL, true, &w.inet, old, out, err);
}

/* add_drac - relay.drac_listen's UDP and TCP sockets when it names an address (rpcbind: the worker's own). */
static int add_drac(const struct config *cfg, struct listener_set *old, struct listener_set *out,
		    struct cfg_error *err)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct listen_addr la;
	enum drac_mode mode;
	const char *why;
	char msg[400];

	if (drac_listen_parse(conf(cfg)->relay.drac_listen, &mode, &la, &why) < 0) {
		cfg_fail(cfg, "relay.drac_listen", err, "%s", why);
		return -1;
	}
	for (size_t t = 0; mode == DRAC_FIXED && t < 2; t++) {
		int fd = take_old(old, NULL, false, types[t], &la);
		if (fd < 0 && (fd = drac_bind(&la, types[t], msg, sizeof(msg))) < 0) {
			cfg_fail(cfg, "relay.drac_listen", err, "%s", msg);
			return -1;
		}
		out->v[out->n++] = (struct listener){ .fd = fd, .addr = la, .drac = types[t] };
	}
	return 0;
}

/* give_back - return sockets taken from OLD; close only the ones bound anew. */
static void give_back(struct listener_set *old, struct listener_set *out)
{
	for (size_t i = 0; i < out->n; i++) {
		struct listener *l = &out->v[i];
		for (size_t j = 0; old != NULL && j < old->n && l->fd >= 0; j++) {
			if (old->v[j].fd < 0 && old->v[j].svc == l->svc && old->v[j].socketmap == l->socketmap &&
			    old->v[j].drac == l->drac &&
			    same_addr(&old->v[j].addr, &l->addr)) {
				old->v[j].fd = l->fd;
				l->fd = -1;
			}
		}
	}
	listeners_close(out);
}

int listeners_bind(const struct config *cfg, struct listener_set *old, struct listener_set *out,
		   struct cfg_error *err)
{
	size_t total = conf(cfg)->admin.listen.n + 3; /* + the socketmap, DRAC's UDP and TCP */

	for (const struct service *s = services; s->name != NULL; s++)
		total += cfg_listen_named(cfg, s->listen_key)->n;
	out->n = 0;
	out->v = calloc(total + 1, sizeof(*out->v));
	if (out->v == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	for (const struct service *s = services; s->name != NULL; s++)
		if (add_all(cfg, s->listen_key, s, old, out, err) < 0)
			goto fail;
	if (add_all(cfg, "admin.listen", NULL, old, out, err) < 0 || add_socketmap(cfg, old, out, err) < 0 ||
	    add_drac(cfg, old, out, err) < 0)
		goto fail;
	return 0;
fail:
	give_back(old, out); /* a refused reload must leave every running listener open */
	return -1;
}

void listeners_close(struct listener_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].fd >= 0)
			close(set->v[i].fd);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

size_t listeners_admin_fds(const struct listener_set *set, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n && n < max; i++)
		if (set->v[i].svc == NULL && !set->v[i].socketmap && set->v[i].drac == 0)
			fds[n++] = set->v[i].fd;
	return n;
}

int listeners_socketmap_fd(const struct listener_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].socketmap)
			return set->v[i].fd;
	return -1;
}

void listeners_drac_fds(const struct listener_set *set, int *udp, int *tcp)
{
	*udp = *tcp = -1;
	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].drac == SOCK_DGRAM)
			*udp = set->v[i].fd;
		else if (set->v[i].drac == SOCK_STREAM)
			*tcp = set->v[i].fd;
	}
}

void listeners_describe(const struct listener_set *set, char *out, size_t cap)
{
	size_t used = 0;
	char addr[300];

	out[0] = '\0';
	for (size_t i = 0; i < set->n && used < cap; i++) {
		int n = snprintf(out + used, cap - used, "%s%s%s %s", i > 0 ? ", " : "",
				 set->v[i].svc != NULL ? set->v[i].svc->name : set->v[i].socketmap ? "socketmap" :
				 set->v[i].drac == SOCK_DGRAM ? "drac/udp" : set->v[i].drac ? "drac/tcp" : "admin",
				 set->v[i].svc != NULL && set->v[i].svc->proxy ? "+proxy" : "",
				 net_addr_text(&set->v[i].addr, addr, sizeof(addr)));
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
