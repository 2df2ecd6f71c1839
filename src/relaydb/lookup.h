/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lookup.h - relay checks through the long-lived lookup worker, which keeps the database open.
 *
 * Opening the Berkeley DB environment costs a session process more than everything else it does
 * for a one-message SMTP session (mapping six regions, the registry, the btree's meta page). The
 * relay-lookup worker opens it once and answers "what is IP's entry" over a unix socket in
 * server.state_dir/login, the one directory a protocol child (server.login_user) may enter. The
 * protocol child never opens the database itself: when the worker does not answer, its RCPT gets
 * a temporary failure, as an MTA's does when its policy service is down. Logins are recorded by
 * this worker alone, and reach it on a channel of their own (login_channel.h): lookup.sock is open
 * to the protocol children that read the network.
 */
#ifndef POPGATE_RELAYDB_LOOKUP_H
#define POPGATE_RELAYDB_LOOKUP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/config.h"
#include "relaydb/relaydb.h"

/* The socket's name, in RELAY_LOOKUP_DIR under server.state_dir. */
#define RELAY_LOOKUP_SOCKET "lookup.sock"
/* The directory of the sockets a protocol child may reach: server.user's, server.login_user's group, 2750. */
#define RELAY_LOOKUP_DIR "login"

/*
 * How long a session waits for the worker's socket (one starting or restarting has none yet), and
 * then for its answer, before its RCPT gets a temporary failure; and how often it tries the socket.
 */
#define RELAY_LOOKUP_TIMEOUT_MS 3000
#define RELAY_LOOKUP_RETRY_MS 20

/* A session's way to the relay decision: the lookup worker, asked over lookup.sock. */
struct relay_lookup;

/* relay_lookup_new - a lookup for CFG; connects and opens nothing yet. NULL when out of memory. */
struct relay_lookup *relay_lookup_new(const struct config *cfg);

/* relay_lookup_free - close what LK opened and set *LK to NULL. */
void relay_lookup_free(struct relay_lookup **lk);

/*
 * relay_lookup_check - relay_check_ip for IP at NOW, the database read by the worker. E (may be
 * NULL) gets the entry. A database the worker cannot read, or a worker that does not answer within
 * RELAY_LOOKUP_TIMEOUT_MS (logged once per LK; later checks on LK fail at once), is RELAY_DB_ERROR.
 */
enum relay_reason relay_lookup_check(struct relay_lookup *lk, const char *ip, time_t now, struct relay_entry *e);

/*
 * relay_lookup_prefetch - ask the worker about IP now, without waiting, so that the answer is there
 * when the transaction's first RCPT needs it (relay_lookup_check). Nothing is asked when the lists
 * decide alone, when LK's worker failed, when an earlier question is still unanswered, or when the
 * worker's socket is not there yet. The answer is taken only when it authorizes: any other is asked
 * again at the check, so a login recorded meanwhile counts.
 */
void relay_lookup_prefetch(struct relay_lookup *lk, const char *ip);

/* relay_lookup_end_transaction - the transaction ended: an answer asked ahead for it is not taken. */
void relay_lookup_end_transaction(struct relay_lookup *lk);

/* relay_lookup_failed - whether LK's worker did not answer, so that LK refuses every later check. */
bool relay_lookup_failed(const struct relay_lookup *lk);

/*
 * relay_lookup_path - the socket's path for CFG into BUF; -1 when server.state_dir is unset or the
 * path does not fit a unix socket address (then there is no worker and every relay look-up fails).
 */
int relay_lookup_path(const struct config *cfg, char *buf, size_t len);

/* relay_lookup_dir - the socket's directory for CFG into BUF; -1 as relay_lookup_path. */
int relay_lookup_dir(const struct config *cfg, char *buf, size_t len);

/*
 * relaydb_lookupd_run - the relay-lookup worker: serve lookups, the logins to record that arrive
 * on LOGIN_FD (the login channel's receiving end, login_channel.h; -1 for none), and the socketmap
 * on SOCKETMAP_FD (the inet listener of relay.socketmap_listen the master bound, -1 for none or a
 * unix: path), until *STOP is set. 0, or 1 on a setup error.
 */
int relaydb_lookupd_run(const struct config *cfg, int socketmap_fd, int login_fd, volatile sig_atomic_t *stop);

#endif
