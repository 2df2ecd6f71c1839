/* pool.c - the master's reused session processes (server.process_reuse): which are idle, which serve. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

struct pool_member *pool_find(struct pool *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid == pid)
			return &p->v[i];
	return NULL;
}

bool pool_done(struct pool *p, pid_t pid, unsigned reuse, int64_t now_ms)
{
	struct pool_member *m = pool_find(p, pid);

	if (m == NULL || !m->busy)
		return false;
	m->busy = false;
	m->idle_since_ms = now_ms;
	if (m->retiring || m->served >= reuse)
		pool_drop(m);
	return true;
}

/* parent_of - PID's parent as /proc says, or -1 (gone, or hidden: /proc mounted with hidepid). */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	long ppid;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so count from its last ')'. */
	char *rp = strrchr(buf, ')');
	if (rp == NULL || sscanf(rp + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

void pool_set_child(struct pool *p, pid_t pid, pid_t child)
{
	struct pool_member *m = pool_find(p, pid);

	if (m != NULL)
		m->child = child > 0 ? child : 0;
}

/* child_pidfd - a pidfd of member PID's protocol child, checked to be the monitor's child; -1. */
static int child_pidfd(struct pool *p, pid_t pid)
{
	struct pool_member *m = pool_find(p, pid);
	int fd;

	if (m == NULL || m->child <= 0)
		return -1;
	/* Opened first, checked second: a pid reused in between leaves a pidfd that reaches nobody. */
	if ((fd = (int)syscall(SYS_pidfd_open, m->child, 0)) < 0)
		return -1;
	if (parent_of(m->child) != pid) {
		close(fd);
		return -1;
	}
	return fd;
}

bool pool_child_killable(struct pool *p, pid_t pid)
{
	int fd = child_pidfd(p, pid);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool pool_kill_child(struct pool *p, pid_t pid)
{
	int fd = child_pidfd(p, pid);
	bool ok;

	if (fd < 0)
		return false;
	ok = syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0;
	close(fd);
	return ok;
}

bool pool_reaped(struct pool *p, pid_t pid)
{
	struct pool_member *m = pool_find(p, pid);

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
