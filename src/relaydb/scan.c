/* scan.c - whole-database walks in Berkeley DB: foreach, sweep of expired entries, flush. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/* A walk that may delete: which records to remove and how many went. */
struct purge {
	bool all;        /* flush: every record */
	time_t now;      /* sweep: records expired at now (relay_entry_expired) */
	long long timeout; /* sweep: relay.timeout */
	long removed;
	bool done;       /* the cursor reached the end */
	char resume[IP_TEXT_MAX];  /* key to continue from in the next batch */
	size_t resume_len;
};

/* purge_wanted - whether the raw record VAL under KEY goes; a corrupt record always goes. */
static bool purge_wanted(const struct purge *pg, const DBT *key, const DBT *val)
{
	struct relay_entry e;

	if (pg->all)
		return true;
	if (relay_record_decode(val->data, val->size, key->data, key->size, &e) < 0)
		return true;
	return relay_entry_expired(&e, pg->now, pg->timeout);
}

/* purge_batch - one transaction removing up to RELAYDB_BATCH records; 0 or a DB error. */
static int purge_batch(struct relaydb *db, struct purge *pg)
{
	DB_TXN *txn = NULL;
	DBC *cur = NULL;
	DBT key, val;
	int ret, n = 0;
	long removed = 0;
	u_int32_t op = pg->resume_len > 0 ? DB_SET_RANGE : DB_FIRST;

	if ((ret = db->env->txn_begin(db->env, NULL, &txn, 0)) != 0)
		return ret;
	if ((ret = db->db->cursor(db->db, txn, &cur, 0)) != 0)
		goto fail;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = pg->resume;
	key.size = (u_int32_t)pg->resume_len;
	while ((ret = cur->get(cur, &key, &val, op | DB_RMW)) == 0) {
		op = DB_NEXT;
		if (n++ >= RELAYDB_BATCH * 4 || removed >= RELAYDB_BATCH) {
			/* Remember where to go on; that key is looked at again by the next batch. */
			if (key.size >= sizeof(pg->resume))
				key.size = sizeof(pg->resume) - 1;
			memmove(pg->resume, key.data, key.size);
			pg->resume_len = key.size;
			break;
		}
		if (purge_wanted(pg, &key, &val)) {
			if ((ret = cur->del(cur, 0)) != 0)
				goto fail;
			removed++;
		}
	}
	if (ret == DB_NOTFOUND) {
		pg->done = true;
		ret = 0;
	}
	if (ret != 0)
		goto fail;
	if ((ret = cur->close(cur)) != 0) {
		cur = NULL;
		goto fail;
	}
	if ((ret = txn->commit(txn, 0)) != 0)
		return ret;
	pg->removed += removed;
	return 0;
fail:
	if (cur != NULL)
		cur->close(cur);
	txn->abort(txn);
	return ret;
}

/* purge - run batches until the end, retrying a batch that lost a lock conflict. */
static long purge(struct relaydb *db, struct purge *pg, const char *what)
{
	int ret = 0, attempt = 0;

	while (!pg->done) {
		if (relaydb_ready(db) < 0)
			return -1;
		ret = purge_batch(db, pg);
		if (ret == 0) {
			attempt = 0;
			continue;
		}
		if (!relaydb_retryable(ret) || ++attempt > RELAYDB_RETRIES)
			break;
		relaydb_backoff(attempt);
	}
	if (!pg->done) {
		relaydb_failed(db, ret, what, NULL);
		return -1;
	}
	return pg->removed;
}

long bdb_flush(struct relaydb *db)
{
	struct purge pg;

	memset(&pg, 0, sizeof(pg));
	pg.all = true;
	return purge(db, &pg, "flush");
}

long bdb_sweep(struct relaydb *db, time_t now, long long timeout)
{
	struct purge pg;

	memset(&pg, 0, sizeof(pg));
	pg.now = now;
	pg.timeout = timeout;
	return purge(db, &pg, "sweep");
}

int bdb_foreach(struct relaydb *db, int (*fn)(const struct relay_entry *e, void *arg), void *arg)
{
	struct relay_entry e;
	DBC *cur = NULL;
	DBT key, val;
	int ret;

	if (relaydb_ready(db) < 0)
		return -1;
	/* No transaction: the cursor holds only the current page's lock, so writers are not held up. */
	if ((ret = db->db->cursor(db->db, NULL, &cur, 0)) != 0) {
		relaydb_failed(db, ret, "cursor", NULL);
		return -1;
	}
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	while ((ret = cur->get(cur, &key, &val, DB_NEXT)) == 0) {
		relaydb_watchdog_progress(); /* a long walk (a map rebuild) is not a stuck one */
		if (relay_record_decode(val.data, val.size, key.data, key.size, &e) < 0) {
			log_warn("relaydb: skipping a corrupt record (%u bytes)", val.size);
			continue;
		}
		snprintf(e.node, sizeof(e.node), "%s", db->node);
		if (fn(&e, arg) != 0) {
			ret = DB_NOTFOUND;
			break;
		}
	}
	cur->close(cur);
	if (ret != DB_NOTFOUND) {
		relaydb_failed(db, ret, "foreach", NULL);
		return -1;
	}
	return 0;
}
