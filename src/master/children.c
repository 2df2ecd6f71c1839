/* children.c - a bounded table of running sessions, for limits, reports and shutdown. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "master/children.h"

struct children {
	size_t n, cap;
	size_t evicted;   /* entries killed to make room and not reaped yet */
	uint64_t started; /* sessions started so far: the order of arrival */
	struct child *v;
};

struct children *children_new(size_t cap)
{
	struct children *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->v = calloc(cap, sizeof(*c->v));
	if (c->v == NULL) {
		free(c);
		return NULL;
	}
	c->cap = cap;
	return c;
}

void children_free(struct children **cp)
{
	if (*cp == NULL)
		return;
	free((*cp)->v);
	free(*cp);
	*cp = NULL;
}

int children_reserve(struct children *c, size_t cap)
{
	struct child *v;

	if (cap <= c->cap)
		return 0;
	v = realloc(c->v, cap * sizeof(*v));
	if (v == NULL)
		return -1;
	c->v = v;
	c->cap = cap;
	return 0;
}

/*
 * A session younger than this that has named no recipient is not pushed out while an older
 * stranger's transaction could go instead: a client arriving under stress needs a few
 * milliseconds to log in or name its recipient, and attackers holding transactions, who reconnect
 * the moment they are cut, would otherwise push out every newcomer before it had said a word.
 */
#define CHILD_NEWCOMER_GRACE_MS 2000

int children_add(struct children *c, pid_t pid, const struct ip_addr *ip, const char *ip_text,
		 const char *sid, const struct service *svc)
{
	/* Sessions evicted but not reaped yet may briefly take the table past max_connections. */
	if (c->n == c->cap && children_reserve(c, c->cap * 2) < 0)
		return -1;
	struct child *ch = &c->v[c->n++];
	ch->pid = pid;
	ch->ip = *ip;
	memcpy(ch->ip_text, ip_text, sizeof(ch->ip_text));
	snprintf(ch->sid, sizeof(ch->sid), "%s", sid);
	ch->svc = svc;
	ch->seq = ++c->started;
	ch->born_ms = mono_ms();
	ch->proven = false;
	ch->txn = CHILD_TXN_NONE;
	ch->evicted = false;
	ch->proxy_pending = svc != NULL && svc->proxy;
	ch->passed = false;
	ch->group = pid;
	return 0;
}

/*
 * find - the session whose process PID serves it, PASSED: one a monitor passed on, or not. Kept
 * apart, so that a monitor naming a pid that is not its mailbox process's (a subverted one may)
 * can never have a report or a reap of that pid's own session taken for it.
 */
static struct child *find_as(const struct children *c, pid_t pid, bool passed)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].pid == pid && c->v[i].passed == passed)
			return &c->v[i];
	return NULL;
}

static struct child *find(const struct children *c, pid_t pid)
{
	return find_as(c, pid, false);
}

/* take - remove CH from the table, its record into OUT if given. */
static void take(struct children *c, struct child *ch, struct child *out)
{
	if (out != NULL)
		*out = *ch;
	if (ch->evicted)
		c->evicted--;
	*ch = c->v[--c->n]; /* order does not matter: move the last into the hole */
}

bool children_remove(struct children *c, pid_t pid, struct child *out)
{
	struct child *ch = find(c, pid);

	if (ch == NULL)
		return false;
	take(c, ch, out);
	return true;
}

const struct child *children_pass(struct children *c, pid_t pid, pid_t to)
{
	struct child *ch = find(c, pid);

	/* TO is alive (its monitor reaps it only after reporting its end): no other passed record has its pid. */
	if (ch == NULL || to <= 0 || find_as(c, to, true) != NULL)
		return NULL;
	ch->pid = to;
	ch->group = pid;
	ch->passed = true;
	return ch;
}

bool children_remove_passed(struct children *c, pid_t group, pid_t pid, struct child *out)
{
	struct child *ch = find_as(c, pid, true);

	if (ch == NULL || ch->group != group)
		return false;
	take(c, ch, out);
	return true;
}

bool children_has_group(const struct children *c, pid_t group)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].passed && c->v[i].group == group)
			return true;
	return false;
}

bool children_remove_group(struct children *c, pid_t group, struct child *out)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].passed && c->v[i].group == group) {
			take(c, &c->v[i], out);
			return true;
		}
	return false;
}

const struct child *children_find(const struct children *c, pid_t pid)
{
	return find(c, pid);
}

size_t children_count(const struct children *c)
{
	return c->n;
}

size_t children_serving(const struct children *c)
{
	return c->n - c->evicted;
}

size_t children_count_ip(const struct children *c, const struct ip_addr *ip)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		if (!c->v[i].evicted && c->v[i].ip.family == ip->family &&
		    memcmp(c->v[i].ip.addr, ip->addr, 16) == 0)
			n++;
	return n;
}

void children_mark_proven(struct children *c, pid_t pid)
{
	struct child *ch = find(c, pid);

	if (ch != NULL)
		ch->proven = true;
}

bool children_proxied(struct children *c, pid_t pid, const struct ip_addr *ip, const char *ip_text)
{
	struct child *ch = find(c, pid);

	if (ch == NULL || !ch->proxy_pending)
		return false;
	ch->proxy_pending = false;
	if (ip != NULL) {
		ch->ip = *ip;
		snprintf(ch->ip_text, sizeof(ch->ip_text), "%s", ip_text);
	}
	return true;
}

void children_set_txn(struct children *c, pid_t pid, enum child_txn txn)
{
	struct child *ch = find(c, pid);

	if (ch != NULL)
		ch->txn = txn;
}

/* oldest_in - the oldest live, unproven session whose transaction stands at TXN that SPARE does not keep; NULL if none. */
static struct child *oldest_in(struct children *c, enum child_txn txn, children_spare_fn spare, void *arg)
{
	struct child *victim = NULL;

	for (size_t i = 0; i < c->n; i++) {
		struct child *ch = &c->v[i];
		if (!ch->proven && !ch->passed && ch->txn == txn && !ch->evicted &&
		    (victim == NULL || ch->seq < victim->seq) && (spare == NULL || !spare(arg, ch)))
			victim = ch;
	}
	return victim;
}

bool children_evict(struct children *c, children_spare_fn spare, void *arg, struct child *out)
{
	/*
	 * Strangers' unfinished transactions go last: inbound mail for our domains is worth more than
	 * a connection that has named no recipient, but it cannot be untouchable, or clients that name
	 * <postmaster> and then trickle a byte now and then would hold every slot for the session timeout.
	 * A newcomer in its grace period is spared while an older such transaction can go instead.
	 */
	struct child *victim = oldest_in(c, CHILD_TXN_NONE, spare, arg);
	struct child *stranger = oldest_in(c, CHILD_TXN_OPEN, spare, arg);

	if (victim == NULL || (stranger != NULL && stranger->seq < victim->seq &&
			       mono_ms() - victim->born_ms < CHILD_NEWCOMER_GRACE_MS))
		victim = stranger;
	if (victim == NULL)
		return false;
	victim->evicted = true;
	c->evicted++;
	*out = *victim;
	return true;
}

void children_tally(const struct children *c, struct children_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < c->n; i++) {
		const struct child *ch = &c->v[i];
		if (ch->evicted)
			continue;
		if (strcmp(ch->svc->family, "pop3") == 0)
			t->pop3++;
		else
			t->smtp++;
		if (ch->proven || ch->txn == CHILD_TXN_HANDOFF)
			t->protected++;
		else if (ch->txn == CHILD_TXN_OPEN)
			t->open_txn++;
	}
}

void children_signal(const struct children *c, int sig)
{
	for (size_t i = 0; i < c->n; i++)
		kill(-c->v[i].group, sig); /* each session's monitor leads its process group (monitor + child) */
}
