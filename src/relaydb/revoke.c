/* revoke.c - remove every authorization a user's logins made (an admin blocked the account). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdlib.h>
#include <string.h>

#include "relaydb/relaydb.h"

/* Addresses gathered before deleting: relaydb_foreach's callback must not write. */
struct revoke_list {
	const char *user;
	char (*ip)[IP_TEXT_MAX];
	size_t n, cap;
	bool full;
};

static int gather(const struct relay_entry *e, void *arg)
{
	struct revoke_list *l = arg;
	char (*v)[IP_TEXT_MAX];

	if (strcmp(e->user, l->user) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->ip, cap * sizeof(*v))) == NULL) {
			l->full = true;
			return 1;
		}
		l->ip = v;
		l->cap = cap;
	}
	memcpy(l->ip[l->n++], e->ip, IP_TEXT_MAX);
	return 0;
}

long relaydb_revoke_user(const struct config *cfg, struct relaydb *db, const char *user, time_t now)
{
	struct revoke_list l = { .user = user };
	long removed = 0;

	if (user[0] == '\0')
		return 0;   /* "" is a manual entry without a user, never an account */
	if (relaydb_foreach(db, gather, &l) < 0 || l.full) {
		free(l.ip);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		int rc = relaydb_del(db, l.ip[i]);
		if (rc < 0) {
			removed = -1;
			break;
		}
		removed += rc;
		(void)relaydb_map_update(cfg, db, l.ip[i], now);
	}
	free(l.ip);
	return removed;
}
