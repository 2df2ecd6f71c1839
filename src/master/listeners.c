/* listeners.c - bind the listeners of every service; carry unchanged ones across a reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net.h"
#include "drac/drac.h"
#include "master/listeners.h"

static bool same_addr(const struct listen_addr *a, const struct listen_addr *b)
{
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}

/* take_old - steal OLD's socket for ADDR and SVC (DRAC: of that socket type), or -1. */
static int take_old(struct listener_set *old, const struct service *svc, const struct listen_addr *addr, int drac)
{
	for (size_t i = 0; old != NULL && i < old->n; i++) {
		struct listener *l = &old->v[i];
		if (l->fd >= 0 && l->svc == svc && l->drac == drac && same_addr(&l->addr, addr)) {
			int fd = l->fd;
			l->fd = -1;
			return fd;
		}
	}
	return -1;
}

/* add_all - bind the listeners of KEY for SVC into OUT. */
static int add_all(const struct config *cfg, const char *key, const struct service *svc,
		   struct listener_set *old, struct listener_set *out, struct cfg_error *err)
{
	const struct listen_list *ll = cfg_listen(cfg, key);
	char why[400];

	for (size_t i = 0; i < ll->n; i++) {
		for (size_t j = 0; j < out->n; j++) {
			if (same_addr(&out->v[j].addr, &ll->v[i])) {
				cfg_fail(cfg, key, err, "%s is already used by another listener",
					 net_addr_text(&ll->v[i], why, sizeof(why)));
				return -1;
			}
		}
		int fd = take_old(old, svc, &ll->v[i], 0);
		if (fd < 0)
			fd = net_listen(&ll->v[i], why, sizeof(why));
		if (fd < 0) {
			cfg_fail(cfg, key, err, "%s", why);
			return -1;
		}
		out->v[out->n++] = (struct listener){ .fd = fd, .svc = svc, .addr = ll->v[i] };
	}
	return 0;
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

	if (drac_listen_parse(cfg_str(cfg, "relay.drac_listen"), &mode, &la, &why) < 0) {
		cfg_fail(cfg, "relay.drac_listen", err, "%s", why);
		return -1;
	}
	for (size_t t = 0; mode == DRAC_FIXED && t < 2; t++) {
		int fd = take_old(old, NULL, &la, types[t]);
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
			if (old->v[j].fd < 0 && old->v[j].svc == l->svc && old->v[j].drac == l->drac &&
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
	size_t total = cfg_listen(cfg, "admin.listen")->n + 2; /* 2: DRAC's UDP and TCP */

	for (const struct service *s = services; s->name != NULL; s++)
		total += cfg_listen(cfg, s->listen_key)->n;
	out->n = 0;
	out->v = calloc(total + 1, sizeof(*out->v));
	if (out->v == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	for (const struct service *s = services; s->name != NULL; s++)
		if (add_all(cfg, s->listen_key, s, old, out, err) < 0)
			goto fail;
	if (add_all(cfg, "admin.listen", NULL, old, out, err) < 0 || add_drac(cfg, old, out, err) < 0)
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
		if (set->v[i].svc == NULL && set->v[i].drac == 0)
			fds[n++] = set->v[i].fd;
	return n;
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
		int n = snprintf(out + used, cap - used, "%s%s %s", i > 0 ? ", " : "",
				 set->v[i].svc != NULL ? set->v[i].svc->name :
				 set->v[i].drac == SOCK_DGRAM ? "drac/udp" : set->v[i].drac ? "drac/tcp" : "admin",
				 net_addr_text(&set->v[i].addr, addr, sizeof(addr)));
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
