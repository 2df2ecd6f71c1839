/* pg_lib.h - libpq, loaded with dlopen only by processes that use the PostgreSQL backend. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PG_LIB_H
#define POPGATE_PG_LIB_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * The libpq functions popgate calls. Debian's libpq brings libldap, Kerberos and GnuTLS with it:
 * linked, they would be mapped in every popgated process even with relay.backend = bdb (and
 * GnuTLS belongs to popgate-admind alone), so libpq is opened at the first PostgreSQL connection.
 */
#define PG_LIB_FUNCS(X) \
	X(PGconn *, PQconnectStart, (const char *conninfo)) \
	X(PostgresPollingStatusType, PQconnectPoll, (PGconn *conn)) \
	X(ConnStatusType, PQstatus, (const PGconn *conn)) \
	X(int, PQsocket, (const PGconn *conn)) \
	X(int, PQsetnonblocking, (PGconn *conn, int arg)) \
	X(void, PQfinish, (PGconn *conn)) \
	X(char *, PQerrorMessage, (const PGconn *conn)) \
	X(int, PQsendQueryParams, (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, \
				   const char *const *paramValues, const int *paramLengths, \
				   const int *paramFormats, int resultFormat)) \
	X(int, PQsendPrepare, (PGconn *conn, const char *stmtName, const char *query, int nParams, \
			       const Oid *paramTypes)) \
	X(int, PQsendQueryPrepared, (PGconn *conn, const char *stmtName, int nParams, \
				     const char *const *paramValues, const int *paramLengths, \
				     const int *paramFormats, int resultFormat)) \
	X(int, PQflush, (PGconn *conn)) \
	X(int, PQisBusy, (PGconn *conn)) \
	X(int, PQconsumeInput, (PGconn *conn)) \
	X(PGresult *, PQgetResult, (PGconn *conn)) \
	X(void, PQclear, (PGresult *res)) \
	X(ExecStatusType, PQresultStatus, (const PGresult *res)) \
	X(char *, PQresultErrorMessage, (const PGresult *res)) \
	X(char *, PQresultErrorField, (const PGresult *res, int fieldcode)) \
	X(int, PQntuples, (const PGresult *res)) \
	X(int, PQnfields, (const PGresult *res)) \
	X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num)) \
	X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num)) \
	X(char *, PQcmdTuples, (PGresult *res)) \
	X(PGnotify *, PQnotifies, (PGconn *conn)) \
	X(void, PQfreemem, (void *ptr))

#define PG_LIB_MEMBER(ret, name, args) ret (*name) args;
struct pg_lib {
	PG_LIB_FUNCS(PG_LIB_MEMBER)
};
#undef PG_LIB_MEMBER

/* The loaded functions: call them as pq.PQclear(r). Valid once pg_lib_load succeeded. */
extern struct pg_lib pq;

/* pg_lib_load - open libpq (once per process). 0, or -1 with ERR set. */
int pg_lib_load(char *err, size_t errlen);

#endif
