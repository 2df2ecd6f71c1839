/* pg_conn.c - one libpq connection whose connect and every query end by a deadline (async API and poll). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "relaydb/pg_int.h"
#include "relaydb/pg_lib.h"

/* now_us - a monotonic clock in microseconds. */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* wait_fd - wait until C's socket is readable (or writable when WRITE) or DEADLINE passes. 0, or -1 (timeout). */
static int wait_fd(PGconn *c, bool write, long long deadline)
{
	struct pollfd p = { .fd = pq.PQsocket(c), .events = write ? POLLOUT : POLLIN };

	for (;;) {
		long long left = deadline - now_us();
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
	long long deadline = now_us() + pc->timeout_ms * 1000;
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

void *pg_conn_exec(struct pg_conn *pc, const char *sql, int n, const char *const *params, bool *lost)
{
	long long start = now_us(), deadline = start + pc->timeout_ms * 1000;
	PGresult *r;
	ExecStatusType st;
	const char *state;

	*lost = true;
	if (pc->c == NULL) {
		snprintf(pc->err, sizeof(pc->err), "not connected");
		return NULL;
	}
	/*
	 * A query past its deadline is abandoned with its connection (the server cancels it soon
	 * after, see server_deadline), and the next request connects again.
	 */
	if (pq.PQsendQueryParams(pc->c, sql, n, NULL, params, NULL, NULL, 0) == 0 ||
	    send_all(pc->c, deadline) < 0 || (r = collect(pc->c, deadline)) == NULL) {
		fail(pc, now_us() >= deadline ? "query: relay.store_timeout passed" : "query");
		return NULL;
	}
	pc->ok_at_us = now_us();
	pc->last_us = pc->ok_at_us - start;
	pc->queries++;
	pc->total_us += (unsigned long long)pc->last_us;
	st = pq.PQresultStatus(r);
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
