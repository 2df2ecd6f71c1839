/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lookup.h - relay checks through the long-lived lookup worker, which keeps the database open.
 *
 * Opening the Berkeley DB environment costs a session process more than everything else it does
 * for a one-message SMTP session (mapping six regions, the registry, the btree's meta page). The
 * relay-lookup worker opens it once and answers "what is IP's entry" over a unix socket in
 * relay.db_dir. Look-ups only: an SMTP session that cannot reach it reads the database itself,
 * so for look-ups the worker is a speed-up, never a single point of failure. Logins are recorded
 * by this worker alone, and reach it on a channel of their own (login_channel.h): lookup.sock is
 * open to every server.user process, including the protocol children that read the network.
 */
#ifndef POPGATE_RELAYDB_LOOKUP_H
#define POPGATE_RELAYDB_LOOKUP_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "common/config.h"
#include "relaydb/relaydb.h"

/* The socket's name in relay.db_dir. */
#define RELAY_LOOKUP_SOCKET "lookup.sock"

/* How long a session waits for an answer before it reads the database itself. */
#define RELAY_LOOKUP_TIMEOUT_MS 3000

/* A session's way to the relay decision: the lookup worker, else its own database handle. */
struct relay_lookup;

/* relay_lookup_new - a lookup for CFG; connects and opens nothing yet. NULL when out of memory. */
struct relay_lookup *relay_lookup_new(const struct config *cfg);

/* relay_lookup_free - close what LK opened and set *LK to NULL. */
void relay_lookup_free(struct relay_lookup **lk);

/*
 * relay_lookup_check - relay_check_ip for IP at NOW, the database read through the worker when it
 * answers. E (may be NULL) gets the entry. A database that cannot be read is RELAY_DB_ERROR.
 */
enum relay_reason relay_lookup_check(struct relay_lookup *lk, const char *ip, time_t now, struct relay_entry *e);

/*
 * relay_lookup_path - the socket's path for CFG into BUF; -1 when relay.db_dir is unset or the path
 * does not fit a unix socket address (then there is no worker and sessions read the database).
 */
int relay_lookup_path(const struct config *cfg, char *buf, size_t len);

/*
 * relaydb_lookupd_run - the relay-lookup worker: serve lookups, the logins to record that arrive
 * on LOGIN_FD (the login channel's receiving end, login_channel.h; -1 for none), and the socketmap
 * on SOCKETMAP_FD (the inet listener of relay.socketmap_listen the master bound, -1 for none or a
 * unix: path), until *STOP is set. 0, or 1 on a setup error.
 */
int relaydb_lookupd_run(const struct config *cfg, int socketmap_fd, int login_fd, volatile sig_atomic_t *stop);

#endif
