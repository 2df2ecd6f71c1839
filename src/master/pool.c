/* pool.c - the master's reused session processes (server.process_reuse): which are idle, which serve. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/pool.h"

void pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		pool_drop(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int pool_spawn_socket(int sv[2])
{
	/* SEQPACKET: a connection's record arrives whole or not at all, and a closed end reads as the end. */
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

int pool_add(struct pool *p, pid_t pid, int fd, const struct service *svc)
{
	if (p->n == p->cap) {
		size_t cap = p->cap != 0 ? p->cap * 2 : 16;
		struct pool_member *v = realloc(p->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct pool_member){ .pid = pid, .fd = fd, .svc = svc, .served = 1, .busy = true };
	return 0;
}

struct pool_member *pool_take(struct pool *p, const struct service *svc)
{
	struct pool_member *best = NULL;

	for (size_t i = 0; i < p->n; i++) {
		struct pool_member *m = &p->v[i];
		if (m->svc == svc && !m->busy && m->fd >= 0 && (best == NULL || m->idle_since_ms < best->idle_since_ms))
			best = m;
	}
	if (best != NULL) {
		best->busy = true;
		best->served++;
	}
	return best;
}

void pool_drop(struct pool_member *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->busy = false;
}

static struct pool_member *find(struct pool *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid == pid)
			return &p->v[i];
	return NULL;
}

bool pool_done(struct pool *p, pid_t pid, unsigned reuse, int64_t now_ms)
{
	struct pool_member *m = find(p, pid);

	if (m == NULL || !m->busy)
		return false;
	m->busy = false;
	m->idle_since_ms = now_ms;
	if (m->retiring || m->served >= reuse)
		pool_drop(m);
	return true;
}

bool pool_reaped(struct pool *p, pid_t pid)
{
	struct pool_member *m = find(p, pid);

	if (m == NULL)
		return false;
	pool_drop(m);
	*m = p->v[--p->n];
	return true;
}

void pool_retire_all(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].busy)
			p->v[i].retiring = true;
		else
			pool_drop(&p->v[i]);
	}
}

long pool_trim(struct pool *p, int64_t now_ms, int64_t idle_ms)
{
	long next = -1;

	for (size_t i = 0; i < p->n; i++) {
		struct pool_member *m = &p->v[i];
		if (m->busy || m->fd < 0)
			continue;
		int64_t due = m->idle_since_ms + idle_ms;
		if (due <= now_ms)
			pool_drop(m);
		else if (next < 0 || due - now_ms < next)
			next = (long)(due - now_ms);
	}
	return next;
}

void pool_close_inherited(const struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].fd >= 0)
			close(p->v[i].fd);
}

size_t pool_count(const struct pool *p, size_t *idle)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i].busy && p->v[i].fd >= 0)
			n++;
	if (idle != NULL)
		*idle = n;
	return p->n;
}
