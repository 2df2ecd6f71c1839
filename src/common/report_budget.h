/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report_budget.h - how many reports a session's protocol child may have passed on to the master.
 *
 * The protocol child reads the network and is not trusted: subverted, it could send the monitor
 * reports without end, and the master's report channel (net.unix.max_dgram_qlen records, 512 by
 * default) would overflow and lose other sessions' records. The monitor therefore passes on only
 * what a real transaction produces, in its order: one TXN_BEGIN, then at most one TXN_HANDOFF, one
 * MSG_RELAYED after it and one TXN_END; one CLIENT_KNOWN a session; a MSG_DENIED per failed
 * command (the session ends after smtp.max_errors of them); and no more than
 * REPORT_BUDGET_TXNS transactions a session. A hand-off has one outcome: MSG_RELAYED, HOP_DEFERRED
 * or HOP_FAILED. A session ends at a failed TLS handshake, so it reports one (TLS_FAILED or
 * TLS_TIMEOUT); and at most REPORT_BUDGET_DB_ERRORS relay database errors.
 */
#ifndef POPGATE_REPORT_BUDGET_H
#define POPGATE_REPORT_BUDGET_H

#include <stdbool.h>

#include "common/session.h"

/*
 * Transactions a session may report. A transaction costs at most four records, so a session
 * passes on at most ~4100 plus its denials; a client relaying more messages than this over one
 * connection is still served, it only stops being counted (and make_room then takes it for idle,
 * which at worst costs its client a duplicate, never a message).
 */
#define REPORT_BUDGET_TXNS 1024
/* Relay database errors a session may report: a session asks the database a few times at most. */
#define REPORT_BUDGET_DB_ERRORS 16

struct report_budget {
	unsigned max_denied;   /* smtp.max_errors */
	unsigned txns;         /* TXN_BEGINs passed on */
	unsigned denied;       /* MSG_DENIEDs passed on */
	unsigned db_errors;    /* RELAYDB_ERRORs passed on */
	bool in_txn, handed_off, relayed, known, tls;
	unsigned long dropped; /* reports refused */
};

/* report_budget_init - a fresh session's budget; MAX_DENIED is smtp.max_errors. */
void report_budget_init(struct report_budget *b, unsigned max_denied);

/*
 * report_budget_take - whether the child's report of EVENT fits the budget (and is then counted).
 * False for one that does not, or for an event a protocol child never reports; b->dropped counts
 * those, so the caller logs the first.
 */
bool report_budget_take(struct report_budget *b, enum session_event event);

#endif
