/* bdb_backend.c - the Berkeley DB backend: one btree record per canonical client IP. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/* Every handle this process holds, one per directory (see struct relaydb). */
static struct relaydb *open_handles;

int relaydb_bdb_open(const struct config *cfg, struct relaydb **dbp, char *err, size_t errlen)
{
	const char *dir = conf(cfg)->relay.db_dir;
	struct relaydb *db;

	*dbp = NULL;
	if (dir[0] == '\0' || strlen(dir) >= sizeof(db->home)) {
		snprintf(err, errlen, "relay.db_dir: %s", dir[0] == '\0' ? "not set" : "path too long");
		return -1;
	}
	for (db = open_handles; db != NULL; db = db->next) {
		if (strcmp(db->home, dir) == 0) {
			db->refs++;
			*dbp = db;
			return 0;
		}
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(db->home, dir, strlen(dir) + 1);
	db->ops = &relaydb_bdb_ops;
	relaydb_node_name(cfg, db->node, sizeof(db->node));
	if (relaydb_env_open(db, err, errlen) < 0) {
		stats_note_relaydb_error();
		free(db);
		return -1;
	}
	db->refs = 1;
	db->next = open_handles;
	open_handles = db;
	*dbp = db;
	return 0;
}

/* bdb_close - drop one reference; the last one closes the environment. */
static void bdb_close(struct relaydb *db)
{
	if (--db->refs > 0)
		return;
	for (struct relaydb **pp = &open_handles; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == db) {
			*pp = db->next;
			break;
		}
	}
	relaydb_env_close(db);
	free(db);
}

/* key_of - the DBT of CANON (already canonical: ::ffff:192.0.2.1 and 192.0.2.1 are one record). */
static void key_of(const char *canon, DBT *key)
{
	memset(key, 0, sizeof(*key));
	key->data = (void *)canon;
	key->size = (u_int32_t)strlen(canon);
}

/* read_entry - fetch and decode KEY inside TXN (may be NULL): 1, 0 absent, -1 with the error in *ERR. */
static int read_entry(struct relaydb *db, DB_TXN *txn, DBT *key, u_int32_t flags, struct relay_entry *e,
		      int *err)
{
	uint8_t buf[RELAY_RECORD_MAX];
	DBT val;
	int ret;

	memset(&val, 0, sizeof(val));
	val.data = buf;
	val.ulen = sizeof(buf);
	val.flags = DB_DBT_USERMEM;
	ret = db->db->get(db->db, txn, key, &val, flags);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return *err = ret, -1;
	if (relay_record_decode(buf, val.size, key->data, key->size, e) < 0)
		return *err = DB_VERIFY_BAD, -1;
	snprintf(e->node, sizeof(e->node), "%s", db->node);  /* one node: every record is ours */
	return 1;
}

static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strnlen(src, size - 1) : 0;

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* authorize_once - one transaction of relaydb_authorize; returns 0 or the Berkeley DB error. */
static int authorize_once(struct relaydb *db, DBT *key, const char *user, const char *proto,
			  long long ttl, time_t now)
{
	struct relay_entry e;
	uint8_t buf[RELAY_RECORD_MAX];
	DB_TXN *txn = NULL;
	DBT val;
	int ret, found;

	if ((ret = db->env->txn_begin(db->env, NULL, &txn, 0)) != 0)
		return ret;
	/* DB_RMW takes the write lock at once: two refreshes of one IP never both read the old count. */
	found = read_entry(db, txn, key, DB_RMW, &e, &ret);
	if (found < 0) {
		txn->abort(txn);
		return ret;
	}
	if (found == 0 || e.logins == UINT32_MAX) {
		memset(&e, 0, sizeof(e));
		e.first = now;
	}
	e.last = now;
	e.expires = (int64_t)now + ttl;
	e.logins++;
	copy_text(e.user, sizeof(e.user), user);
	copy_text(e.proto, sizeof(e.proto), proto);
	memset(&val, 0, sizeof(val));
	val.data = buf;
	val.size = (u_int32_t)relay_record_encode(&e, buf, sizeof(buf));
	if ((ret = db->db->put(db->db, txn, key, &val, 0)) != 0) {
		txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

static int bdb_authorize(struct relaydb *db, const char *kbuf, const char *user, const char *proto,
			 long long ttl, time_t now)
{
	DBT key;
	int ret = 0;

	key_of(kbuf, &key);
	for (int attempt = 0; attempt <= RELAYDB_RETRIES; attempt++) {
		if (attempt > 0)
			relaydb_backoff(attempt);
		if (relaydb_ready(db) < 0)
			return -1;
		ret = authorize_once(db, &key, user, proto, ttl, now);
		if (ret == 0)
			return 0;
		if (!relaydb_retryable(ret) && ret != DB_RUNRECOVERY)
			break;
		if (ret == DB_RUNRECOVERY)
			db->broken = true;
	}
	relaydb_failed(db, ret, "authorize", kbuf);
	return -1;
}

static int bdb_get(struct relaydb *db, const char *kbuf, struct relay_entry *e)
{
	DBT key;
	int ret = 0;

	key_of(kbuf, &key);
	for (int attempt = 0; attempt <= 1; attempt++) {
		if (relaydb_ready(db) < 0)
			return -1;
		int found = read_entry(db, NULL, &key, 0, e, &ret);

		if (found >= 0)
			return found;
		if (ret != DB_RUNRECOVERY)
			break;
		db->broken = true;  /* recovery ran elsewhere: reopen once and read again */
	}
	relaydb_failed(db, ret, ret == DB_VERIFY_BAD ? "corrupt record for" : "get", kbuf);
	return -1;
}

static int bdb_del(struct relaydb *db, const char *kbuf)
{
	DBT key;
	int ret = 0;

	key_of(kbuf, &key);
	for (int attempt = 0; attempt <= RELAYDB_RETRIES; attempt++) {
		if (attempt > 0)
			relaydb_backoff(attempt);
		if (relaydb_ready(db) < 0)
			return -1;
		ret = db->db->del(db->db, NULL, &key, DB_AUTO_COMMIT);
		if (ret == 0)
			return 1;
		if (ret == DB_NOTFOUND)
			return 0;
		if (!relaydb_retryable(ret))
			break;
	}
	relaydb_failed(db, ret, "del", kbuf);
	return -1;
}

/* put_once - one transaction of bdb_put; returns 0 or the Berkeley DB error, *WROTE whether E went in. */
static int put_once(struct relaydb *db, DBT *key, const struct relay_entry *e, bool *wrote)
{
	struct relay_entry cur;
	uint8_t buf[RELAY_RECORD_MAX];
	DB_TXN *txn = NULL;
	DBT val;
	int ret, found;

	*wrote = false;
	if ((ret = db->env->txn_begin(db->env, NULL, &txn, 0)) != 0)
		return ret;
	found = read_entry(db, txn, key, DB_RMW, &cur, &ret);
	if (found < 0 || (found == 1 && cur.last > e->last)) {
		txn->abort(txn);
		return found < 0 ? ret : 0;
	}
	memset(&val, 0, sizeof(val));
	val.data = buf;
	val.size = (u_int32_t)relay_record_encode(e, buf, sizeof(buf));
	if ((ret = db->db->put(db->db, txn, key, &val, 0)) != 0) {
		txn->abort(txn);
		return ret;
	}
	if ((ret = txn->commit(txn, 0)) == 0)
		*wrote = true;
	return ret;
}

static int bdb_put(struct relaydb *db, const struct relay_entry *e)
{
	bool wrote = false;
	DBT key;
	int ret = 0;

	key_of(e->ip, &key);
	for (int attempt = 0; attempt <= RELAYDB_RETRIES; attempt++) {
		if (attempt > 0)
			relaydb_backoff(attempt);
		if (relaydb_ready(db) < 0)
			return -1;
		if ((ret = put_once(db, &key, e, &wrote)) == 0)
			return wrote ? 1 : 0;
		if (!relaydb_retryable(ret))
			break;
	}
	relaydb_failed(db, ret, "put", e->ip);
	return -1;
}

const struct relaydb_ops relaydb_bdb_ops = {
	.name = "bdb",
	.authorize = bdb_authorize,
	.get = bdb_get,
	.del = bdb_del,
	.put = bdb_put,
	.flush = bdb_flush,
	.sweep = bdb_sweep,
	.foreach = bdb_foreach,
	.tick = NULL,
	.close = bdb_close,
};
