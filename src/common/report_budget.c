/* report_budget.c - the reports a protocol child may pass on: a real transaction's, in its order. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "common/report_budget.h"

void report_budget_init(struct report_budget *b, unsigned max_denied)
{
	memset(b, 0, sizeof(*b));
	b->max_denied = max_denied;
}

/* fits - whether EVENT may follow what B has passed on so far; updates B when it does. */
static bool fits(struct report_budget *b, enum session_event event)
{
	switch (event) {
	case SESSION_TXN_BEGIN:
		if (b->in_txn || b->txns >= REPORT_BUDGET_TXNS)
			return false;
		b->txns++;
		b->in_txn = true;
		b->handed_off = b->relayed = false;
		return true;
	case SESSION_TXN_HANDOFF:
		if (!b->in_txn || b->handed_off)
			return false;
		return b->handed_off = true;
	case SESSION_MSG_RELAYED:
	case SESSION_HOP_DEFERRED:
	case SESSION_HOP_FAILED:
		/* relayed: the hand-off's one outcome is in, whichever it was */
		if (!b->handed_off || b->relayed)
			return false;
		return b->relayed = true;
	case SESSION_TLS_FAILED:
	case SESSION_TLS_TIMEOUT:
		if (b->tls)
			return false;
		return b->tls = true;
	case SESSION_RELAYDB_ERROR:
		if (b->db_errors >= REPORT_BUDGET_DB_ERRORS)
			return false;
		b->db_errors++;
		return true;
	case SESSION_TXN_END:
		if (!b->in_txn)
			return false;
		b->in_txn = false;
		return true;
	case SESSION_CLIENT_KNOWN:
		if (b->known)
			return false;
		return b->known = true;
	case SESSION_MSG_DENIED:
		if (b->denied >= b->max_denied)
			return false;
		b->denied++;
		return true;
	default:
		return false; /* logins are the monitor's own to report */
	}
}

bool report_budget_take(struct report_budget *b, enum session_event event)
{
	if (fits(b, event))
		return true;
	b->dropped++;
	return false;
}
