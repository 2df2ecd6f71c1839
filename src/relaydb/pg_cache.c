/*
 * pg_cache.c - the relay lookup worker's table of the PostgreSQL store's authorizations: a hash
 * by canonical address, each entry holding its row compactly (names at their own length), so
 * that an RCPT is answered without a round trip to the server. pg_cache_sync.c fills it and
 * keeps it fresh; pg_backend.c asks it first.
 */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relaydb/pg_cache.h"
#include "relaydb/pg_int.h"

/* Buckets of an empty table; it doubles whenever it holds more addresses than buckets. */
#define PGC_BUCKETS_MIN 1024u

struct pgc_node {
	struct pgc_node *next;
	int64_t first, last, expires;
	uint32_t logins;
	char ip[IP_TEXT_MAX];
	uint8_t ulen, plen;       /* TEXT: user NUL proto NUL node NUL */
	char text[];
};

/* hash - FNV-1a of the canonical address. */
static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static struct pgc_node **slot(const struct pgc *c, const char *canon)
{
	return &c->buckets[hash(canon) & (c->nbuckets - 1)];
}

/* find - the link that points at CANON's node, or at the NULL ending its chain. */
static struct pgc_node **find(const struct pgc *c, const char *canon)
{
	struct pgc_node **p = slot(c, canon);

	while (*p != NULL && strcmp((*p)->ip, canon) != 0)
		p = &(*p)->next;
	return p;
}

int pgc_init(struct pgc *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
	if (max == 0)
		return 0;
	c->nbuckets = PGC_BUCKETS_MIN;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	return c->buckets != NULL ? 0 : -1;
}

void pgc_clear(struct pgc *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		while (c->buckets[i] != NULL) {
			struct pgc_node *n = c->buckets[i];

			c->buckets[i] = n->next;
			free(n);
		}
	}
	c->n = 0;
	c->complete = false;
	c->loading = false;
}

void pgc_free(struct pgc *c)
{
	if (c->buckets != NULL)
		pgc_clear(c);
	free(c->buckets);
	c->buckets = NULL;
	c->nbuckets = 0;
}

/* grow - double the buckets when the chains get long; a failed allocation keeps them as they are. */
static void grow(struct pgc *c)
{
	size_t nb = c->nbuckets * 2;
	struct pgc_node **b;

	if (c->n <= c->nbuckets || (b = calloc(nb, sizeof(*b))) == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		while (c->buckets[i] != NULL) {
			struct pgc_node *n = c->buckets[i];
			size_t j = hash(n->ip) & (nb - 1);

			c->buckets[i] = n->next;
			n->next = b[j];
			b[j] = n;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

/* make - a node for E. NULL when out of memory. */
static struct pgc_node *make(const struct relay_entry *e)
{
	size_t ul = strlen(e->user), pl = strlen(e->proto), nl = strlen(e->node);
	struct pgc_node *n = malloc(sizeof(*n) + ul + pl + nl + 3);

	if (n == NULL)
		return NULL;
	n->next = NULL;
	n->first = e->first;
	n->last = e->last;
	n->expires = e->expires;
	n->logins = e->logins;
	memcpy(n->ip, e->ip, sizeof(n->ip));
	n->ip[sizeof(n->ip) - 1] = '\0';
	n->ulen = (uint8_t)ul;   /* RELAY_USER_MAX and RELAY_PROTO_MAX are under 256 */
	n->plen = (uint8_t)pl;
	memcpy(n->text, e->user, ul + 1);
	memcpy(n->text + ul + 1, e->proto, pl + 1);
	memcpy(n->text + ul + pl + 2, e->node, nl + 1);
	return n;
}

/* store - put E's node in place of CANON's old one. 0, or -1 when the table is full or memory is out (cleared). */
static int store(struct pgc *c, const struct relay_entry *e)
{
	struct pgc_node **p, *n;

	if (c->nbuckets == 0)
		return -1;
	p = find(c, e->ip);
	if (*p == NULL && c->n >= c->max) {
		pgc_clear(c);  /* a table that misses rows answers wrongly: none at all */
		return -1;
	}
	if ((n = make(e)) == NULL) {
		pgc_clear(c);
		return -1;
	}
	if (*p != NULL) {
		n->next = (*p)->next;
		free(*p);
	} else {
		c->n++;
	}
	*p = n;
	grow(c);
	return 0;
}

int pgc_put(struct pgc *c, const struct relay_entry *e)
{
	return store(c, e);
}

void pgc_forget(struct pgc *c, const char *canon)
{
	struct pgc_node **p, *n;

	if (c->nbuckets == 0 || (n = *(p = find(c, canon))) == NULL)
		return;
	*p = n->next;
	free(n);
	c->n--;
}

int pgc_get(const struct pgc *c, const char *canon, struct relay_entry *e)
{
	const struct pgc_node *n;

	if (c->nbuckets == 0 || !c->complete)
		return -1;
	if ((n = *find(c, canon)) == NULL)
		return 0;
	memset(e, 0, sizeof(*e));
	memcpy(e->ip, n->ip, sizeof(e->ip));
	memcpy(e->user, n->text, (size_t)n->ulen + 1);
	memcpy(e->proto, n->text + n->ulen + 1, (size_t)n->plen + 1);
	snprintf(e->node, sizeof(e->node), "%s", n->text + n->ulen + n->plen + 2);
	e->first = n->first;
	e->last = n->last;
	e->expires = n->expires;
	e->logins = n->logins;
	return 1;
}

bool pgc_valid(const struct pgc *c, const struct pg_conn *pc)
{
	return c->complete && pc->c != NULL && c->gen == pc->gen;
}
