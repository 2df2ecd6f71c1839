/*
 * pg_cache_sync.c - filling the lookup worker's cache (pg_cache.c) from the PostgreSQL store and
 * keeping it fresh: LISTEN, then the whole table read page by page (a page per step, so that the
 * worker answers lookups between them, asking the store until the last page); each notification
 * the relay_auth trigger sends takes its address out, so the next lookup of it asks the store.
 */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relaydb/pg_cache.h"
#include "relaydb/pg_int.h"
#include "relaydb/pg_lib.h"

/* Reads of a connection's input in one poll: enough to see the server's goodbye and then its close. */
#define PGC_POLL_READS 4

/* schema_version - the store's schema version, or -1 (*LOST: the connection went). */
static int schema_version(struct pg_conn *pc, bool *lost)
{
	PGresult *r = pg_conn_exec(pc, pg_sql_version, 0, NULL, lost);
	int v;

	if (r == NULL)
		return -1;
	v = pq.PQntuples(r) == 1 && !pq.PQgetisnull(r, 0, 0) ? atoi(pq.PQgetvalue(r, 0, 0)) : 0;
	pq.PQclear(r);
	return v;
}

/* add_page - R's rows into C; *LAST gets the last address. 1 when it was a full page, 0 the last, -1 full. */
static int add_page(struct pgc *c, const PGresult *r, char last[IP_TEXT_MAX])
{
	int rows = pq.PQntuples(r);
	struct relay_entry e;

	for (int i = 0; i < rows; i++) {
		const char *cols[PG_COLS];

		for (int k = 0; k < PG_COLS; k++)
			cols[k] = pq.PQgetisnull(r, i, k) ? NULL : pq.PQgetvalue(r, i, k);
		if (pq.PQnfields(r) != PG_COLS || pg_entry_from_text(cols, time(NULL), &e) < 0)
			continue;   /* a row that does not fit is never found by a query either */
		if (pgc_put(c, &e) < 0)
			return -1;
		snprintf(last, IP_TEXT_MAX, "%s", e.ip);
	}
	return rows == PG_PAGE_ROWS ? 1 : 0;
}

/* read_page - the page after C->cursor into C. 1 more to read, 0 the last, 2 full (more than C->max), -1 failed. */
static int read_page(struct pgc *c, struct pg_conn *pc, bool *lost)
{
	char limit[16];
	const char *params[2] = { limit, c->cursor };
	bool first = c->cursor[0] == '\0';
	PGresult *r;
	int more;

	snprintf(limit, sizeof(limit), "%d", PG_PAGE_ROWS);
	if ((r = pg_conn_exec(pc, first ? pg_sql_page_first : pg_sql_page_next, first ? 1 : 2, params, lost)) == NULL)
		return -1;
	more = add_page(c, r, c->cursor);
	pq.PQclear(r);
	return more < 0 ? 2 : more;
}

/* begin - check the schema and LISTEN on PC: 0, 1 not usable (ERR), -1 failed (*LOST). */
static int begin(struct pgc *c, struct pg_conn *pc, bool *lost, char *err, size_t errlen)
{
	PGresult *r;
	int v;

	pgc_clear(c);
	if ((v = schema_version(pc, lost)) < 0)
		return -1;
	if (v < 2) {
		snprintf(err, errlen, "schema version %d sends no notifications: run popgatectl db upgrade", v);
		return 1;
	}
	if ((r = pg_conn_exec(pc, pg_sql_listen, 0, NULL, lost)) == NULL)
		return -1;
	pq.PQclear(r);
	c->loading = true;
	c->gen = pc->gen;
	c->cursor[0] = '\0';
	return 0;
}

int pgc_load_step(struct pgc *c, struct pg_conn *pc, char *err, size_t errlen)
{
	bool lost = false;
	PGresult *r;
	int rc;

	if (c->max == 0 || pc->c == NULL) {
		pgc_clear(c);
		snprintf(err, errlen, c->max == 0 ? "relay.store_cache_max is 0" : "not connected");
		return c->max == 0 ? 1 : -1;
	}
	if ((!c->loading || c->gen != pc->gen) && (rc = begin(c, pc, &lost, err, errlen)) != 0)
		goto stop;
	if ((rc = read_page(c, pc, &lost)) == 1)
		return 2;
	if (rc == 2) {
		snprintf(err, errlen, "more than relay.store_cache_max = %zu authorizations", c->max);
		pgc_clear(c);
		if ((r = pg_conn_exec(pc, pg_sql_unlisten, 0, NULL, &lost)) != NULL)
			pq.PQclear(r);
		return 1;
	}
	if (rc < 0)
		goto stop;
	c->loading = false;
	c->complete = true;
	/* What changed while the pages were read, and was not read yet, is taken out now. */
	return pgc_poll(c, pc) == 0 ? 0 : -1;
stop:
	if (rc < 0)
		snprintf(err, errlen, "%s", pc->err);
	pgc_clear(c);
	return rc < 0 && lost ? -1 : 1;
}

/* readable - whether the socket of C has input waiting. */
static bool readable(void *c)
{
	struct pollfd p = { .fd = pq.PQsocket(c), .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

/* apply - one notification: its address changed (an empty payload: everything did). */
static void apply(struct pgc *c, const PGnotify *n)
{
	/* While loading too: a page read already may hold the row that changed. */
	if ((!c->complete && !c->loading) || strcmp(n->relname, PG_NOTIFY_CHANNEL) != 0)
		return;
	if (n->extra == NULL || n->extra[0] == '\0')
		pgc_clear(c);      /* a TRUNCATE: loaded again at the next tick */
	else
		pgc_forget(c, n->extra);
}

int pgc_poll(struct pgc *c, struct pg_conn *pc)
{
	PGnotify *n;

	if (pc->c == NULL) {
		pgc_clear(c);
		return -1;
	}
	for (int i = 0; i < PGC_POLL_READS; i++) {
		if (pq.PQconsumeInput(pc->c) == 0 || pq.PQstatus(pc->c) != CONNECTION_OK) {
			snprintf(pc->err, sizeof(pc->err), "connection lost: %s", pq.PQerrorMessage(pc->c));
			pc->err[strcspn(pc->err, "\n")] = '\0';
			pg_conn_close(pc);
			pgc_clear(c);
			return -1;
		}
		if (!readable(pc->c))
			break;
	}
	while ((n = pq.PQnotifies(pc->c)) != NULL) {
		apply(c, n);
		pq.PQfreemem(n);
	}
	return 0;
}
