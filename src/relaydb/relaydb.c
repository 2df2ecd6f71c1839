/* relaydb.c - the relay database's front: picks the backend (relay.backend) and checks keys for it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

int relaydb_open(const struct config *cfg, struct relaydb **dbp, char *err, size_t errlen)
{
	return relaydb_open_backend(cfg, conf(cfg)->relay.backend, dbp, err, errlen);
}

int relaydb_open_backend(const struct config *cfg, const char *backend, struct relaydb **dbp, char *err,
			 size_t errlen)
{
	*dbp = NULL;
	if (strcmp(backend, "postgresql") == 0)
		return relaydb_pg_open(cfg, dbp, err, errlen);
	if (strcmp(backend, "bdb") == 0)
		return relaydb_bdb_open(cfg, dbp, err, errlen);
	snprintf(err, errlen, "unknown relay backend %s (bdb or postgresql)", backend);
	return -1;
}

void relaydb_close(struct relaydb **dbp)
{
	struct relaydb *db = *dbp;

	*dbp = NULL;
	if (db != NULL)
		db->ops->close(db);
}

void relaydb_node_name(const struct config *cfg, char *out, size_t size)
{
	const char *name = conf(cfg)->server.hostname;

	if (name[0] != '\0') {
		snprintf(out, size, "%s", name);
		return;
	}
	if (gethostname(out, size) < 0)
		snprintf(out, size, "localhost");
	out[size - 1] = '\0';
}

const char *relaydb_backend_name(const struct relaydb *db)
{
	return db->ops->name;
}

int relaydb_authorize(struct relaydb *db, const char *ip, const char *user, const char *proto,
		      long long ttl, time_t now)
{
	char canon[IP_TEXT_MAX];

	if (ip == NULL || ip_canonical(ip, canon) < 0 || ttl <= 0 || ttl > INT32_MAX || now < 0) {
		log_err("relaydb: authorize %s: invalid address or ttl", ip != NULL ? ip : "(null)");
		return -1;
	}
	return db->ops->authorize(db, canon, user != NULL ? user : "", proto != NULL ? proto : "", ttl, now);
}

int relaydb_get(struct relaydb *db, const char *ip, struct relay_entry *e)
{
	char canon[IP_TEXT_MAX];

	if (ip == NULL || ip_canonical(ip, canon) < 0)
		return 0;
	return db->ops->get(db, canon, e);
}

int relaydb_del(struct relaydb *db, const char *ip)
{
	char canon[IP_TEXT_MAX];

	if (ip == NULL || ip_canonical(ip, canon) < 0)
		return 0;
	return db->ops->del(db, canon);
}

int relaydb_put(struct relaydb *db, const struct relay_entry *e)
{
	struct relay_entry copy = *e;

	if (ip_canonical(e->ip, copy.ip) < 0 || e->expires < 0 || e->last < 0 || e->first < 0) {
		log_err("relaydb: put %s: invalid address or times", e->ip);
		return -1;
	}
	return db->ops->put(db, &copy);
}

long relaydb_flush(struct relaydb *db)
{
	return db->ops->flush(db);
}

long relaydb_sweep(struct relaydb *db, time_t now, long long timeout)
{
	return db->ops->sweep(db, now, timeout);
}

int relaydb_foreach(struct relaydb *db, int (*fn)(const struct relay_entry *e, void *arg), void *arg)
{
	return db->ops->foreach(db, fn, arg);
}

void relaydb_tick(struct relaydb *db, time_t now)
{
	if (db != NULL && db->ops->tick != NULL)
		db->ops->tick(db, now);
}

bool relaydb_busy(struct relaydb *db)
{
	return db != NULL && db->ops->busy != NULL && db->ops->busy(db);
}
