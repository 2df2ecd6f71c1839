/* throttle.c - a bounded table of failed-login counts per client address. */
#include <stdlib.h>
#include <string.h>

#include "master/throttle.h"

struct slot {
	struct ip_addr ip;
	unsigned failures;
	time_t last;
};

struct throttle {
	unsigned n, cap;
	struct slot *v;
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

static struct slot *find(struct throttle *t, const struct ip_addr *ip)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->v[i].ip.family == ip->family && memcmp(t->v[i].ip.addr, ip->addr, 16) == 0)
			return &t->v[i];
	return NULL;
}

void throttle_fail(struct throttle *t, const struct ip_addr *ip, time_t now)
{
	struct slot *s = find(t, ip);

	if (s == NULL) {
		if (t->n < t->cap) {
			s = &t->v[t->n++];
		} else { /* full: reuse the slot idle longest, so a flood of addresses cannot grow us */
			s = &t->v[0];
			for (unsigned i = 1; i < t->n; i++)
				if (t->v[i].last < s->last)
					s = &t->v[i];
		}
		s->ip = *ip;
		s->failures = 0;
	}
	s->failures++;
	s->last = now;
}

void throttle_ok(struct throttle *t, const struct ip_addr *ip)
{
	struct slot *s = find(t, ip);

	if (s != NULL)
		*s = t->v[--t->n];
}

unsigned throttle_failures(struct throttle *t, const struct ip_addr *ip, time_t now, long long lockout)
{
	struct slot *s = find(t, ip);

	if (s == NULL)
		return 0;
	if (now - s->last >= lockout) {
		*s = t->v[--t->n];
		return 0;
	}
	return s->failures;
}
