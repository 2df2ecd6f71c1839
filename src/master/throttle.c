/* throttle.c - a bounded table of failed-login counts per client address and user name. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/throttle.h"

struct throttle {
	unsigned n, cap;
	struct throttle_row *v;
};

struct throttle *throttle_new(unsigned cap)
{
	struct throttle *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->v = calloc(cap, sizeof(*t->v))) == NULL) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	return t;
}

void throttle_free(struct throttle **tp)
{
	if (*tp == NULL)
		return;
	free((*tp)->v);
	free(*tp);
	*tp = NULL;
}

static bool same_ip(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

static struct throttle_row *find(struct throttle *t, const struct ip_addr *ip, const char *user)
{
	for (unsigned i = 0; i < t->n; i++)
		if (same_ip(&t->v[i].ip, ip) && strcmp(t->v[i].user, user) == 0)
			return &t->v[i];
	return NULL;
}

/* drop - remove row I (the order of rows does not matter). */
static void drop(struct throttle *t, unsigned i)
{
	t->v[i] = t->v[--t->n];
}

/* expire - forget the pairs whose latest failure is WINDOW or more seconds old. */
static void expire(struct throttle *t, time_t now, long long window)
{
	for (unsigned i = 0; i < t->n;)
		if (now - t->v[i].last >= window)
			drop(t, i);
		else
			i++;
}

void throttle_fail(struct throttle *t, const struct ip_addr *ip, const char *user, time_t now)
{
	char name[SESSION_PENALTY_NAME];
	struct throttle_row *s;

	snprintf(name, sizeof(name), "%s", user != NULL ? user : "");
	if ((s = find(t, ip, name)) == NULL) {
		if (t->n < t->cap) {
			s = &t->v[t->n++];
		} else { /* full: reuse the slot idle longest, so a flood of addresses or names cannot grow us */
			s = &t->v[0];
			for (unsigned i = 1; i < t->n; i++)
				if (t->v[i].last < s->last)
					s = &t->v[i];
		}
		memset(s, 0, sizeof(*s));
		s->ip = *ip;
		memcpy(s->user, name, sizeof(name));
		s->first = now;
	}
	s->failures++;
	s->last = now;
}

void throttle_ok(struct throttle *t, const struct ip_addr *ip, const char *user)
{
	struct throttle_row *s = find(t, ip, user != NULL ? user : "");

	if (s != NULL)
		drop(t, (unsigned)(s - t->v));
}

unsigned throttle_failures(struct throttle *t, const struct ip_addr *ip, time_t now, long long window)
{
	unsigned sum = 0;

	expire(t, now, window);
	for (unsigned i = 0; i < t->n; i++)
		if (same_ip(&t->v[i].ip, ip))
			sum += t->v[i].failures;
	return sum;
}

unsigned throttle_penalties(struct throttle *t, const struct ip_addr *ip, time_t now, long long window,
			    struct session_penalty *out, unsigned max)
{
	unsigned n = 0;

	expire(t, now, window);
	for (unsigned i = 0; i < t->n && n < max; i++)
		if (same_ip(&t->v[i].ip, ip)) {
			memcpy(out[n].user, t->v[i].user, sizeof(out[n].user));
			out[n++].failures = t->v[i].failures;
		}
	return n;
}

static int by_failures(const void *a, const void *b)
{
	const struct throttle_row *x = a, *y = b;

	return x->failures != y->failures ? (x->failures < y->failures ? 1 : -1) : (x->last < y->last) - (x->last > y->last);
}

size_t throttle_list(struct throttle *t, time_t now, long long window, struct throttle_row *out, size_t max)
{
	expire(t, now, window);
	qsort(t->v, t->n, sizeof(*t->v), by_failures);
	size_t n = t->n < max ? t->n : max;
	memcpy(out, t->v, n * sizeof(*out));
	return n;
}

unsigned throttle_unlock(struct throttle *t, const struct ip_addr *ip)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < t->n;)
		if (same_ip(&t->v[i].ip, ip)) {
			drop(t, i);
			removed++;
		} else {
			i++;
		}
	return removed;
}
