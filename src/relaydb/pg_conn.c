/* pg_conn.c - one libpq connection whose connect and every query end by a deadline (async API and poll). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "relaydb/pg_int.h"
#include "relaydb/pg_lib.h"

/* wait_fd - wait until C's socket is readable (or writable when WRITE) or DEADLINE passes. 0, or -1 (timeout). */
static int wait_fd(PGconn *c, bool write, long long deadline)
{
	struct pollfd p = { .fd = pq.PQsocket(c), .events = write ? POLLOUT : POLLIN };

	for (;;) {
		long long left = deadline - mono_us();
		int rc;

		if (left <= 0 || p.fd < 0)
			return -1;
		rc = poll(&p, 1, (int)((left + 999) / 1000));
		if (rc > 0)
			return 0;
		if (rc == 0 || errno != EINTR)
			return -1;
	}
}

/* fail - note WHY (and libpq's message) in ERR and close the connection. */
static void fail(struct pg_conn *pc, const char *why)
{
	const char *msg = pc->c != NULL ? pq.PQerrorMessage(pc->c) : "";
	size_t n;

	snprintf(pc->err, sizeof(pc->err), "%s%s%s", why, msg[0] != '\0' ? ": " : "", msg);
	for (char *p = pc->err; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';   /* libpq's messages span lines; the log takes one */
	n = strlen(pc->err);
	while (n > 0 && (pc->err[n - 1] == '\n' || pc->err[n - 1] == ' '))
		pc->err[--n] = '\0';
	pg_conn_close(pc);
}

/*
 * server_deadline - make the server end each statement a little after we stop waiting for it
 * (statement_timeout, which also bounds lock waits): a statement abandoned at our deadline must
 * not apply minutes later, when a lock is released, after its login was queued or its
 * revocation reported failed. 0, or -1 (connection closed).
 */
static int server_deadline(struct pg_conn *pc)
{
	char sql[64];
	bool lost;
	void *r;

	snprintf(sql, sizeof(sql), "SET statement_timeout = %lld", pc->timeout_ms + PG_SERVER_SLACK_MS);
	if ((r = pg_conn_exec(pc, sql, 0, NULL, &lost)) == NULL) {
		pg_conn_close(pc);
		return -1;
	}
	pq.PQclear(r);
	return 0;
}

int pg_conn_connect(struct pg_conn *pc)
{
	long long deadline = mono_us() + pc->timeout_ms * 1000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	pg_conn_close(pc);
	if (pg_lib_load(pc->err, sizeof(pc->err)) < 0)
		return -1;
	/* Host names are resolved inside PQconnectStart, before any deadline: give addresses. */
	if ((pc->c = pq.PQconnectStart(pc->conninfo)) == NULL) {
		snprintf(pc->err, sizeof(pc->err), "out of memory");
		return -1;
	}
	if (pq.PQstatus(pc->c) == CONNECTION_BAD) {
		fail(pc, "connect");
		return -1;
	}
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED) {
			fail(pc, "connect");
			return -1;
		}
		if (wait_fd(pc->c, st == PGRES_POLLING_WRITING, deadline) < 0) {
			fail(pc, "connect: relay.store_timeout passed");
			return -1;
		}
		st = pq.PQconnectPoll(pc->c);
	}
	if (pq.PQsetnonblocking(pc->c, 1) < 0) {
		fail(pc, "set non-blocking");
		return -1;
	}
	pc->gen++;
	return server_deadline(pc);
}

void pg_conn_close(struct pg_conn *pc)
{
	if (pc->c != NULL)
		pq.PQfinish(pc->c);
	pc->c = NULL;
	pc->nprepared = 0; /* prepared statements live and die with their connection */
}

/* send_all - flush the query out within DEADLINE. 0 or -1. */
static int send_all(PGconn *c, long long deadline)
{
	int rc;

	while ((rc = pq.PQflush(c)) == 1) {
		if (wait_fd(c, true, deadline) < 0)
			return -1;
	}
	return rc;
}

/* collect - read results until libpq has no more, within DEADLINE; keeps the last. NULL on timeout or loss. */
static PGresult *collect(PGconn *c, long long deadline)
{
	PGresult *last = NULL, *r;

	for (;;) {
		while (pq.PQisBusy(c)) {
			if (wait_fd(c, false, deadline) < 0 || pq.PQconsumeInput(c) == 0) {
				pq.PQclear(last);
				return NULL;
			}
		}
		if ((r = pq.PQgetResult(c)) == NULL)
			return last;
		pq.PQclear(last);
		last = r;
	}
}

/* await - flush what was sent and collect its result by DEADLINE: the result, or NULL (connection closed). */
static PGresult *await(struct pg_conn *pc, long long deadline)
{
	PGresult *r;

	/*
	 * A query past its deadline is abandoned with its connection (the server cancels it soon
	 * after, see server_deadline), and the next request connects again.
	 */
	if (send_all(pc->c, deadline) < 0 || (r = collect(pc->c, deadline)) == NULL) {
		fail(pc, mono_us() >= deadline ? "query: relay.store_timeout passed" : "query");
		return NULL;
	}
	return r;
}

/* note_answer - the server answered a query sent at START: its latency for /metrics. */
static void note_answer(struct pg_conn *pc, long long start)
{
	pc->ok_at_us = mono_us();
	pc->last_us = pc->ok_at_us - start;
	pc->queries++;
	pc->total_us += (unsigned long long)pc->last_us;
}

/* outcome - R when it succeeded; else NULL with ERR set, *LOST said, and a lost connection closed. */
static PGresult *outcome(struct pg_conn *pc, PGresult *r, bool *lost)
{
	ExecStatusType st = pq.PQresultStatus(r);
	const char *state;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*lost = false;
		return r;
	}
	snprintf(pc->err, sizeof(pc->err), "%s", pq.PQresultErrorMessage(r));
	pc->err[strcspn(pc->err, "\n")] = '\0';
	/* Cancelled by statement_timeout: as slow as a query past our own deadline. */
	state = pq.PQresultErrorField(r, PG_DIAG_SQLSTATE);
	*lost = pq.PQstatus(pc->c) != CONNECTION_OK || (state != NULL && strcmp(state, "57014") == 0);
	pq.PQclear(r);
	if (*lost)
		pg_conn_close(pc);
	return NULL;
}

/* connected - whether PC has a connection to send on; ERR says so when not. */
static bool connected(struct pg_conn *pc)
{
	if (pc->c != NULL)
		return true;
	snprintf(pc->err, sizeof(pc->err), "not connected");
	return false;
}

/* answer - the result of a query SENT (libpq's 1, or 0 when it could not) at START, by DEADLINE. */
static void *answer(struct pg_conn *pc, int sent, long long start, long long deadline, bool *lost)
{
	PGresult *r;

	if (sent == 0) {
		fail(pc, "query");
		return NULL;
	}
	if ((r = await(pc, deadline)) == NULL)
		return NULL;
	note_answer(pc, start);
	return outcome(pc, r, lost);
}

void *pg_conn_exec(struct pg_conn *pc, const char *sql, int n, const char *const *params, bool *lost)
{
	long long start = mono_us(), deadline = start + pc->timeout_ms * 1000;

	*lost = true;
	if (!connected(pc))
		return NULL;
	return answer(pc, pq.PQsendQueryParams(pc->c, sql, n, NULL, params, NULL, NULL, 0), start, deadline, lost);
}

/* statement_name - the name SQL is prepared under on this connection; false when it is not yet. */
static bool statement_name(const struct pg_conn *pc, const char *sql, char *name, size_t size)
{
	for (int i = 0; i < pc->nprepared; i++) {
		if (pc->prepared[i] == sql) {
			snprintf(name, size, "popgate_%d", i);
			return true;
		}
	}
	return false;
}

/* prepare - prepare SQL (N parameters) on this connection by DEADLINE, NAME set. 0, or -1 (ERR, *LOST). */
static int prepare(struct pg_conn *pc, const char *sql, int n, long long deadline, char *name, size_t size,
		   bool *lost)
{
	PGresult *r;

	snprintf(name, size, "popgate_%d", pc->nprepared);
	if (pq.PQsendPrepare(pc->c, name, sql, n, NULL) == 0) {
		fail(pc, "prepare");
		return -1;
	}
	if ((r = await(pc, deadline)) == NULL || (r = outcome(pc, r, lost)) == NULL)
		return -1;
	pq.PQclear(r);
	pc->prepared[pc->nprepared++] = sql;
	return 0;
}

void *pg_conn_exec_prepared(struct pg_conn *pc, const char *sql, int n, const char *const *params, bool *lost)
{
	long long start = mono_us(), deadline = start + pc->timeout_ms * 1000;
	char name[32];

	*lost = true;
	if (!connected(pc))
		return NULL;
	if (!statement_name(pc, sql, name, sizeof(name))) {
		if (pc->nprepared == PG_PREPARED_MAX) /* more statements than the table holds: parse it each time */
			return pg_conn_exec(pc, sql, n, params, lost);
		if (prepare(pc, sql, n, deadline, name, sizeof(name), lost) < 0)
			return NULL;
	}
	return answer(pc, pq.PQsendQueryPrepared(pc->c, name, n, params, NULL, NULL, 0), start, deadline, lost);
}
