/* drac_import.h - take over an existing DRAC installation's dracd.db: what was imported, what was not and why. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_DRAC_IMPORT_H
#define POPGATE_DRAC_IMPORT_H

#include <time.h>

#include "relaydb/relaydb.h"

/* Why a dracd.db record was not imported (each reported by key, counted apart from the expired). */
enum drac_skip {
	DRAC_SKIP_NOT_ADDRESS,   /* the key is no IPv4/IPv6 address */
	DRAC_SKIP_NETWORK,       /* a CIDR key wider than one address: belongs in relay.allow */
	DRAC_SKIP_BAD_VALUE,     /* the value is not a time in epoch seconds */
	DRAC_SKIP_COUNT
};

/* What an import did, for the summary line. */
struct drac_report {
	long imported;           /* written to the relay database */
	long kept;               /* the relay database already held a later expiry for the address */
	long expired;            /* valid records whose time has passed */
	long skipped[DRAC_SKIP_COUNT];
};

enum drac_result {
	DRAC_OK,
	DRAC_BAD_FILE,           /* missing, unreadable, not a Berkeley DB, or DB 1.85: logged with the fix */
	DRAC_DB_ERROR,           /* the relay database failed (locked, full, damaged): try again */
};

/* Called for each record not imported: KEY is printable (escaped), REASON a sentence fragment. */
typedef void (*drac_skip_fn)(void *arg, const char *key, enum drac_skip why, const char *reason);

/*
 * relaydb_import_drac - copy the unexpired records of the DRAC map PATH (key: an address as text,
 * with or without a NUL, "IPv6:" spelling, or "ADDR/32" / "ADDR/128" from -DCIDR_KEY builds) into DB
 * under protocol "drac". The value is the expiry in epoch seconds, as rpc.dracd writes it (the
 * login time plus its -e limit) and as popgate's own export map does; a past one is expired
 * (rpc.dracd sweeps only every tenth of its limit). SKIP_FN (may be NULL) hears of every skipped key.
 */
enum drac_result relaydb_import_drac(struct relaydb *db, const char *path, time_t now,
				     struct drac_report *rep, drac_skip_fn skip_fn, void *arg);

/* drac_skip_name - a short name of WHY for the summary ("not an address", "network", "bad value"). */
const char *drac_skip_name(enum drac_skip why);

#endif
