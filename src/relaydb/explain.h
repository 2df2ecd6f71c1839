/* explain.h - "why can this client (not) send?": the whole relay decision for an address or a user, in words. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_RELAYDB_EXPLAIN_H
#define POPGATE_RELAYDB_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/blocks.h"
#include "relaydb/relaydb.h"

/* A user's authorizations named one by one; the rest are counted. */
#define RELAY_EXPLAIN_ENTRIES 8

/* Longest line of an explanation (a note and two times fit easily). */
#define RELAY_EXPLAIN_LINE 768

/* Everything the decision for IP and/or USER rests on, gathered once. */
struct relay_explain {
	char ip[IP_TEXT_MAX];           /* canonical; "" when only a user was asked about */
	char user[AUTH_NAME_MAX];       /* asked about, or the authorization's user; "" for none */
	long long timeout;              /* relay.timeout */
	enum relay_reason reason;       /* the decision for IP */
	char deny_net[IP_TEXT_MAX + 4]; /* the relay.deny network IP is in, "" */
	char allow_net[IP_TEXT_MAX + 4];/* the relay.allow network IP is in, "" */
	int found;                      /* IP's authorization: 1 found, 0 none, -1 database error */
	struct relay_entry entry;
	int blocked;                    /* USER's block: 1, 0, -1 the blocks file unreadable */
	struct auth_block block;
	bool by_user;                   /* USER's authorizations were looked up */
	int user_found;                 /* -1 database error, else how many */
	struct relay_entry user_entries[RELAY_EXPLAIN_ENTRIES];
};

/* Something the admin page saw lately (the master's event ring), for the lines that need it. */
struct relay_explain_seen {
	int64_t time;                   /* 0: nothing seen */
	char proto[16];
	char ip[IP_TEXT_MAX];
	char user[64];
	char what[48];
};

/*
 * relay_explain - gather the decision for IP (may be NULL) and USER (may be NULL; with IP alone,
 * the user of IP's authorization) at NOW. DB NULL: the database could not be opened. 0, or -1
 * when neither is given or IP is not an address.
 */
int relay_explain(const struct config *cfg, struct relaydb *db, const char *ip, const char *user, time_t now,
		  struct relay_explain *x);

/*
 * relay_explain_lines - X in words, one line at a time to EMIT, the same for popgatectl check, the
 * API and the page: the verdict, the lists, the authorization, the user's authorizations and block.
 */
void relay_explain_lines(const struct relay_explain *x, time_t now, void (*emit)(const char *line, void *arg),
			 void *arg);

/*
 * relay_explain_seen_lines - the last two lines: the latest login and relay attempt seen, LOGIN and
 * ATTEMPT (NULL: the caller cannot see them, which the lines say).
 */
void relay_explain_seen_lines(const struct relay_explain *x, const struct relay_explain_seen *login,
			      const struct relay_explain_seen *attempt, time_t now,
			      void (*emit)(const char *line, void *arg), void *arg);

/* relay_proto_words - a protocol as the helpdesk says it ("POP3 login", "added by hand", ...). */
const char *relay_proto_words(const char *proto);

/* relay_format_when - "2026-12-04 09:30:00 (5m ago)" / "(in 25m)" for T at NOW into BUF. */
void relay_format_when(int64_t t, time_t now, char *buf, size_t len);

#endif
