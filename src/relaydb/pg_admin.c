/* pg_admin.c - the PostgreSQL store's schema (popgatectl db init and db upgrade) and its status file. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relaydb/pg_int.h"
#include "relaydb/pg_lib.h"
#include "relaydb/pg_store.h"

/* Schema changes may wait for locks longer than a login's query should: their own deadline. */
#define PG_ADMIN_TIMEOUT_MS 30000

/* status_path - DIR's status file into BUF. 0 or -1. */
static int status_path(const char *dir, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dir, PG_STATUS_FILE);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int pg_store_status_write(const char *dir, const struct pg_store_status *s)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], buf[256];
	int fd, n;

	if (status_path(dir, path, sizeof(path)) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	n = snprintf(buf, sizeof(buf), "%d %lu %lld %llu %llu\n", s->up ? 1 : 0, s->queued, s->last_us,
		     s->queries, s->total_us);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (write(fd, buf, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int pg_store_status_read(const struct config *cfg, struct pg_store_status *s)
{
	char path[PATH_MAX];
	int up = 0;
	FILE *f;
	int n;

	memset(s, 0, sizeof(*s));
	if (strcmp(conf(cfg)->relay.backend, "postgresql") != 0 ||
	    status_path(conf(cfg)->relay.db_dir, path, sizeof(path)) < 0 || (f = fopen(path, "re")) == NULL)
		return -1;
	n = fscanf(f, "%d %lu %lld %llu %llu", &up, &s->queued, &s->last_us, &s->queries, &s->total_us);
	fclose(f);
	s->up = up == 1;
	return n == 5 ? 0 : -1;
}

/* run - one statement; 0, or -1 with ERR set. */
static int run(struct pg_conn *pc, const char *sql, char *err, size_t errlen)
{
	bool lost;
	PGresult *r = pg_conn_exec(pc, sql, 0, NULL, &lost);

	if (r == NULL) {
		snprintf(err, errlen, "%s", pc->err);
		return -1;
	}
	pq.PQclear(r);
	return 0;
}

/* version - the schema version found: 0 when there is no popgate_schema table. */
static int version(struct pg_conn *pc, char *err, size_t errlen)
{
	bool lost;
	PGresult *r = pg_conn_exec(pc, "SELECT to_regclass('popgate_schema') IS NOT NULL", 0, NULL, &lost);
	int v = 0;

	if (r == NULL)
		return snprintf(err, errlen, "%s", pc->err), -1;
	if (strcmp(pq.PQgetvalue(r, 0, 0), "t") != 0) {
		pq.PQclear(r);
		return 0;
	}
	pq.PQclear(r);
	if ((r = pg_conn_exec(pc, pg_sql_version, 0, NULL, &lost)) == NULL)
		return snprintf(err, errlen, "%s", pc->err), -1;
	if (!pq.PQgetisnull(r, 0, 0))
		v = atoi(pq.PQgetvalue(r, 0, 0));
	pq.PQclear(r);
	return v;
}

/* steps - run the NULL-terminated STEPS. 0 or -1 (the connection is closed: the transaction goes with it). */
static int steps(struct pg_conn *pc, const char *const *sql, char *err, size_t errlen)
{
	for (size_t i = 0; sql[i] != NULL; i++)
		if (run(pc, sql[i], err, errlen) < 0)
			return -1;
	return 0;
}

/* create - the schema from version FROM (0: nothing) to the current one, in one transaction. 0 or -1. */
static int create(struct pg_conn *pc, int from, char *err, size_t errlen)
{
	char set[96];

	if (run(pc, "BEGIN", err, errlen) < 0 || (from < 1 && steps(pc, pg_sql_schema, err, errlen) < 0) ||
	    (from < 2 && steps(pc, pg_sql_schema_v2, err, errlen) < 0))
		return -1;
	snprintf(set, sizeof(set), "INSERT INTO popgate_schema (version) VALUES (%d)", PG_SCHEMA_VERSION);
	if (run(pc, "DELETE FROM popgate_schema", err, errlen) < 0 || run(pc, set, err, errlen) < 0)
		return -1;
	return run(pc, "COMMIT", err, errlen);
}

/* change - bring the schema from version *FROM to PG_SCHEMA_VERSION (INIT: only from nothing). 0 or -1. */
static int change(struct pg_conn *pc, bool init, int from, char *err, size_t errlen)
{
	if (from > PG_SCHEMA_VERSION) {
		snprintf(err, errlen, "the schema is version %d, newer than this popgate (%d)", from, PG_SCHEMA_VERSION);
		return -1;
	}
	if (init && from != 0) {
		snprintf(err, errlen, "the schema exists already (version %d): use popgatectl db upgrade", from);
		return -1;
	}
	if (!init && from == 0) {
		snprintf(err, errlen, "no popgate schema in this database: use popgatectl db init");
		return -1;
	}
	/* Each version's steps run from the one before (create), all in one transaction. */
	return from < PG_SCHEMA_VERSION ? create(pc, from, err, errlen) : 0;
}

int pg_store_schema(const struct config *cfg, bool init, int *from, int *to, char *err, size_t errlen)
{
	struct pg_conn pc = { .timeout_ms = PG_ADMIN_TIMEOUT_MS };
	int rc = -1;

	*from = *to = 0;
	if (strcmp(conf(cfg)->relay.backend, "postgresql") != 0) {
		snprintf(err, errlen, "relay.backend is not postgresql");
		return -1;
	}
	if ((pc.conninfo = strdup(conf(cfg)->relay.postgresql)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pg_conn_connect(&pc) < 0)
		snprintf(err, errlen, "%s", pc.err);
	else if ((*from = version(&pc, err, errlen)) >= 0 && change(&pc, init, *from, err, errlen) == 0) {
		*to = PG_SCHEMA_VERSION;
		rc = 0;
	}
	pg_conn_close(&pc);
	free(pc.conninfo);
	return rc;
}
