/* pg_cache.h - the relay lookup worker's copy of the PostgreSQL store, kept fresh by LISTEN/NOTIFY. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PG_CACHE_H
#define POPGATE_PG_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "relaydb/relaydb.h"

struct pg_conn;
struct pgc_node;

/*
 * The table: the store's authorizations by canonical address, each as its row last read. An
 * address a notification named is taken out (its next lookup asks the store, which is the same
 * as for an address the table never held). COMPLETE: the whole table was loaded on connection
 * GEN after its LISTEN, so what is here is what the store holds, but for notifications in flight.
 */
struct pgc {
	struct pgc_node **buckets;
	size_t nbuckets;          /* a power of two */
	size_t n;                 /* addresses held */
	size_t max;               /* relay.store_cache_max: past it the table is given up */
	bool complete;
	bool loading;             /* LISTENing on connection GEN, pages read up to CURSOR */
	char cursor[IP_TEXT_MAX];
	unsigned long gen;        /* pg_conn.gen the table is valid for */
};

/* pgc_init - an empty table for at most MAX addresses (0: no cache). 0 or -1. */
int pgc_init(struct pgc *c, size_t max);

/* pgc_clear - forget every address; the table is no longer complete (nor being loaded). */
void pgc_clear(struct pgc *c);

/* pgc_free - release the table's memory. */
void pgc_free(struct pgc *c);

/* pgc_put - E (E->ip canonical) as its row now reads. 0, or -1 when the table is full (cleared). */
int pgc_put(struct pgc *c, const struct relay_entry *e);

/* pgc_forget - CANON changed in the store, or has no row: its next lookup asks the store. */
void pgc_forget(struct pgc *c, const char *canon);

/*
 * pgc_get - CANON from the table: 1 found (E set, expired or not, as relaydb_get), 0 not held
 * (no row, or one changed since it was read), -1 the table is incomplete.
 */
int pgc_get(const struct pgc *c, const char *canon, struct relay_entry *e);

/*
 * pgc_valid - whether the table answers for connection PC: complete, and loaded on the
 * connection that is still open (a connection lost is notifications lost).
 */
bool pgc_valid(const struct pgc *c, const struct pg_conn *pc);

/*
 * pgc_load_step - one step of loading C from PC: the first LISTENs (before any page is read, so
 * that a change committed meanwhile is notified), each reads one page of PG_PAGE_ROWS rows.
 * 2 more to read; 0 loaded (complete); 1 not usable (schema older than 2, or more rows than
 * C->max: ERR says which); -1 a query failed (ERR; PC closed when the connection was lost).
 */
int pgc_load_step(struct pgc *c, struct pg_conn *pc, char *err, size_t errlen);

/*
 * pgc_poll - read what the server sent without waiting and apply its notifications. 0, or -1
 * when the connection is gone (PC closed, ERR set): the table is then no longer valid.
 */
int pgc_poll(struct pgc *c, struct pg_conn *pc);

/* The channel the relay_auth trigger notifies, each payload one changed address (pg_sql.c). */
#define PG_NOTIFY_CHANNEL "popgate_relay"

#endif
