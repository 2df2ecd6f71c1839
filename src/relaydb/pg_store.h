/* pg_store.h - the PostgreSQL store seen from outside the relay database: schema commands and its state for /metrics. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PG_STORE_H
#define POPGATE_PG_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

/* What the lookup worker last saw of the store (relay.db_dir/pg-status). */
struct pg_store_status {
	bool up;
	unsigned long queued;           /* logins waiting in the local queue */
	long long last_us;              /* latency of the last query */
	unsigned long long queries;     /* queries answered since the worker started */
	unsigned long long total_us;    /* their summed latency */
};

/* pg_store_status_write - store S in DIR's status file (replaced whole). 0 or -1. */
int pg_store_status_write(const char *dir, const struct pg_store_status *s);

/* pg_store_status_read - S from CFG's relay.db_dir: 0, or -1 when there is none (not postgresql, or not yet). */
int pg_store_status_read(const struct config *cfg, struct pg_store_status *s);

/*
 * pg_store_schema - popgatectl db init (INIT) or db upgrade: create the tables, or bring them from
 * the version found to the current one. *FROM gets the version found (0: none), *TO the result.
 * 0, or -1 with ERR set.
 */
int pg_store_schema(const struct config *cfg, bool init, int *from, int *to, char *err, size_t errlen);

#endif
