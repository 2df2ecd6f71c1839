/* pg_sql.c - the PostgreSQL backend's schema and statements, and the text they take and give. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relaydb/pg_cache.h"
#include "relaydb/pg_int.h"

/*
 * Version 1. The address is the canonical text the Berkeley DB key, DRAC and the MTA maps use;
 * times are timestamptz so that expiry is decided by the database's one clock (expires > now()).
 */
const char *const pg_sql_schema[] = {
	"CREATE TABLE IF NOT EXISTS popgate_schema (version integer NOT NULL)",
	"CREATE TABLE IF NOT EXISTS relay_auth ("
	" address text PRIMARY KEY,"
	" username text NOT NULL DEFAULT '',"
	" protocol text NOT NULL,"
	" node text NOT NULL,"
	" first timestamptz NOT NULL,"
	" last timestamptz NOT NULL,"
	" expires timestamptz NOT NULL,"
	" logins bigint NOT NULL DEFAULT 1)",
	"CREATE INDEX IF NOT EXISTS relay_auth_expires ON relay_auth (expires)",
	"CREATE INDEX IF NOT EXISTS relay_auth_username ON relay_auth (username)",
	NULL,
};

/*
 * Version 2: every change of a row notifies PG_NOTIFY_CHANNEL with its address, whoever makes it
 * (popgatectl, the admin page, a login on any node, psql), so that each lookup worker's cache
 * drops it; a TRUNCATE notifies an empty payload (everything changed). Needs PostgreSQL 11.
 */
const char *const pg_sql_schema_v2[] = {
	"CREATE OR REPLACE FUNCTION popgate_relay_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" IF TG_OP = 'TRUNCATE' THEN PERFORM pg_notify('" PG_NOTIFY_CHANNEL "', ''); RETURN NULL; END IF;"
	" IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('" PG_NOTIFY_CHANNEL "', OLD.address); END IF;"
	" IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('" PG_NOTIFY_CHANNEL "', NEW.address); END IF;"
	" RETURN NULL;"
	" END $$",
	"DROP TRIGGER IF EXISTS relay_auth_notify ON relay_auth",
	"CREATE TRIGGER relay_auth_notify AFTER INSERT OR UPDATE OR DELETE ON relay_auth"
	" FOR EACH ROW EXECUTE FUNCTION popgate_relay_notify()",
	"DROP TRIGGER IF EXISTS relay_auth_notify_truncate ON relay_auth",
	"CREATE TRIGGER relay_auth_notify_truncate AFTER TRUNCATE ON relay_auth"
	" FOR EACH STATEMENT EXECUTE FUNCTION popgate_relay_notify()",
	NULL,
};

const char pg_sql_listen[] = "LISTEN " PG_NOTIFY_CHANNEL;
const char pg_sql_unlisten[] = "UNLISTEN *";
const char pg_sql_ping[] = "SELECT 1";

const char pg_sql_version[] = "SELECT max(version) FROM popgate_schema";

/*
 * A login. A queued login written late must not undo a newer one from another node, so the row
 * keeps whichever of the two is more recent; logins counts both.
 */
#define PG_UPSERT \
	"INSERT INTO relay_auth AS r (address, username, protocol, node, first, last, expires, logins)" \
	" VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), to_timestamp($5::bigint)," \
	" to_timestamp($5::bigint + $6::bigint), 1)" \
	" ON CONFLICT (address) DO UPDATE SET" \
	" username = CASE WHEN EXCLUDED.last >= r.last THEN EXCLUDED.username ELSE r.username END," \
	" protocol = CASE WHEN EXCLUDED.last >= r.last THEN EXCLUDED.protocol ELSE r.protocol END," \
	" node = CASE WHEN EXCLUDED.last >= r.last THEN EXCLUDED.node ELSE r.node END," \
	" expires = CASE WHEN EXCLUDED.last >= r.last THEN EXCLUDED.expires ELSE r.expires END," \
	" last = GREATEST(r.last, EXCLUDED.last)," \
	" logins = r.logins + 1"

const char pg_sql_upsert[] = PG_UPSERT;

/*
 * A queued login written again. Its first attempt may have been applied by the server after we
 * stopped waiting for it (at relay.store_timeout, just before statement_timeout): the same login
 * found in the row (same last, node, user, protocol) is not counted twice.
 */
const char pg_sql_replay[] = PG_UPSERT
	" WHERE NOT (r.last = EXCLUDED.last AND r.node = EXCLUDED.node AND r.username = EXCLUDED.username"
	" AND r.protocol = EXCLUDED.protocol)";

/* An authorization copied whole from another backend; a row with a later last login stays. */
const char pg_sql_put[] =
	"INSERT INTO relay_auth AS r (address, username, protocol, node, first, last, expires, logins)"
	" VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), to_timestamp($6::bigint),"
	" to_timestamp($7::bigint), $8::bigint)"
	" ON CONFLICT (address) DO UPDATE SET username = EXCLUDED.username, protocol = EXCLUDED.protocol,"
	" node = EXCLUDED.node, first = EXCLUDED.first, last = EXCLUDED.last, expires = EXCLUDED.expires,"
	" logins = EXCLUDED.logins WHERE EXCLUDED.last >= r.last";

#define PG_COLUMNS \
	"address, username, protocol, node, extract(epoch FROM first)::bigint," \
	" extract(epoch FROM last)::bigint, extract(epoch FROM expires)::bigint, logins," \
	" expires > now()"

const char pg_sql_get[] = "SELECT " PG_COLUMNS " FROM relay_auth WHERE address = $1";
const char pg_sql_page_first[] = "SELECT " PG_COLUMNS " FROM relay_auth ORDER BY address LIMIT $1";
const char pg_sql_page_next[] =
	"SELECT " PG_COLUMNS " FROM relay_auth WHERE address > $2 ORDER BY address LIMIT $1";
const char pg_sql_del[] = "DELETE FROM relay_auth WHERE address = $1";
const char pg_sql_flush[] = "DELETE FROM relay_auth";
const char pg_sql_sweep_lock[] = "SELECT pg_try_advisory_lock(" PG_SWEEP_LOCK_KEY ")";
const char pg_sql_sweep_unlock[] = "SELECT pg_advisory_unlock(" PG_SWEEP_LOCK_KEY ")";
const char pg_sql_sweep_batch[] =
	"DELETE FROM relay_auth WHERE address IN (SELECT address FROM relay_auth"
	" WHERE expires <= to_timestamp($1::bigint) OR (protocol <> 'manual' AND $3::bigint > 0"
	" AND last <= to_timestamp($1::bigint - $3::bigint)) LIMIT $2)";

void pg_upsert_params(struct pg_upsert_params *p, const struct pgq_item *it, const char *node)
{
	snprintf(p->now, sizeof(p->now), "%lld", (long long)it->now);
	snprintf(p->ttl, sizeof(p->ttl), "%lld", (long long)it->ttl);
	p->values[0] = it->ip;
	p->values[1] = it->user;
	p->values[2] = it->proto;
	p->values[3] = node;
	p->values[4] = p->now;
	p->values[5] = p->ttl;
}

/* number - COL as a whole decimal number into *OUT. 0 or -1. */
static int number(const char *col, long long *out)
{
	char *end;

	if (col == NULL || col[0] == '\0')
		return -1;
	errno = 0;
	*out = strtoll(col, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* text - copy COL into DST of SIZE; -1 when it does not fit (never cut a key or a name). */
static int text(char *dst, size_t size, const char *col)
{
	size_t n = col != NULL ? strlen(col) : 0;

	if (n >= size)
		return -1;
	memcpy(dst, col != NULL ? col : "", n);
	dst[n] = '\0';
	return 0;
}

int pg_entry_from_text(const char *const cols[PG_COLS], time_t now, struct relay_entry *e)
{
	long long first, last, expires, logins;

	memset(e, 0, sizeof(*e));
	if (text(e->ip, sizeof(e->ip), cols[PG_COL_ADDRESS]) < 0 ||
	    text(e->user, sizeof(e->user), cols[PG_COL_USER]) < 0 ||
	    text(e->proto, sizeof(e->proto), cols[PG_COL_PROTO]) < 0 ||
	    text(e->node, sizeof(e->node), cols[PG_COL_NODE]) < 0 ||
	    number(cols[PG_COL_FIRST], &first) < 0 || number(cols[PG_COL_LAST], &last) < 0 ||
	    number(cols[PG_COL_EXPIRES], &expires) < 0 || number(cols[PG_COL_LOGINS], &logins) < 0 ||
	    cols[PG_COL_LIVE] == NULL)
		return -1;
	e->first = first;
	e->last = last;
	e->expires = expires;
	e->logins = logins < 0 ? 0 : logins > UINT32_MAX ? UINT32_MAX : (uint32_t)logins;
	/* The database's clock wins: a row it calls expired is expired here too. */
	if (strcmp(cols[PG_COL_LIVE], "t") != 0 && e->expires > (int64_t)now)
		e->expires = now;
	return 0;
}
