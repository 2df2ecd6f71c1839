/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * privsep.h - split a session into a privileged monitor and an unprivileged protocol child.
 *
 * The child parses everything the network sends, as server.user; it asks the monitor (which keeps
 * root) to check credentials through size-checked records over a socketpair. The monitor never
 * reads the network. For POP3 the monitor then becomes the post-login process as the mailbox owner.
 */
#ifndef POPGATE_PRIVSEP_H
#define POPGATE_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "auth/auth.h"
#include "common/lineio.h"
#include "common/session.h"

enum privsep_mech {
	PRIVSEP_PASSWORD = 1,   /* USER/PASS, AUTH PLAIN, AUTH LOGIN */
	PRIVSEP_APOP,           /* secret = 32 hex digest, challenge = the greeting's timestamp */
};

/* A credential check request from the child. */
struct privsep_request {
	enum privsep_mech mech;
	char user[AUTH_NAME_MAX];
	char secret[AUTH_PASS_MAX];
	char challenge[256];
	char proto[16];                 /* "pop3", "pop3s", "smtp", "smtps" for the relay hook and logs */
	bool tls;                       /* the client's connection is encrypted (the child's word: logs only) */
};

struct privsep;

/*
 * privsep_fork - create the socketpair and fork. In the child (return 0) privileges are already
 * dropped to server.user; in the monitor (return 1) nothing changed. -1 on failure (logged).
 */
int privsep_fork(struct session_ctx *ctx, struct privsep **ps);

/* privsep_free - close the channel (either side) and free; sets *ps to NULL. */
void privsep_free(struct privsep **ps);

/* Child side: ask the monitor to check REQ. AUTH_OK fills *user. The failure delay is served by the monitor. */
enum auth_result privsep_check(struct privsep *ps, const struct privsep_request *req, struct auth_user *user);

/*
 * Monitor side: serve requests until the child exits or a check succeeds with STOP_ON_SUCCESS.
 * Returns 1 with *user filled after a success (POP3 then runs the post-login phase), 0 when the
 * child finished (exited, or in a reused pair said it is done with the connection), -1 on a broken
 * channel. Every success records the relay authorization.
 */
int privsep_serve(struct privsep *ps, bool stop_on_success, struct auth_user *user);

/*
 * Child side, POP3 after AUTH_OK: hand the client over to the monitor (now the post-login
 * process). A plain connection is passed as the socket itself plus the unread input, and the
 * child returns 0. A TLS connection cannot move between processes, so the child hands over one
 * end of a socket pair of its own instead, with the unread plaintext, and relays bytes between
 * TLS and the other end until either side closes; the channel stays free for the next connection.
 */
int privsep_handover(struct privsep *ps, struct lio *client);

/*
 * Monitor side, after privsep_serve returned 1 and privileges were dropped to the user: the
 * connection to continue the session on, with the child's unread input already queued. The
 * child is not trusted to hand it over: NULL when nothing came by DEADLINE (ipc_deadline).
 */
struct lio *privsep_take_connection(struct privsep *ps, int64_t deadline);

/* privsep_tls_proxied - monitor side: the connection taken over is the child's relay of a TLS session. */
bool privsep_tls_proxied(const struct privsep *ps);

/* privsep_child_pid - the child's pid (monitor side). */
pid_t privsep_child_pid(const struct privsep *ps);

/* privsep_channel - the socketpair end of this side (to hand the connection over after login). */
int privsep_channel(const struct privsep *ps);

/*
 * A reused pair (src/privsep/reuse.c): the monitor takes connections from the master and passes
 * each to the same protocol child, which says when it is done with it.
 */

/* privsep_pass_connection - monitor side: a new connection, CTX's, to the child; its budget afresh. 0 or -1. */
int privsep_pass_connection(struct privsep *ps, int fd);

/* privsep_next_connection - child side: wait for the next connection into CTX. 1, 0 when there is none to come, -1. */
int privsep_next_connection(struct privsep *ps);

/* privsep_connection_done - child side: this connection is over, everything it reported was sent before. 0 or -1. */
int privsep_connection_done(struct privsep *ps);

/* privsep_child_gone - monitor side: the child's end of the channel closed; the pair cannot go on. */
bool privsep_child_gone(const struct privsep *ps);

/* privsep_drop_to_user - become UID/GID (setgroups, setgid, setuid; verified). 0 or -1. */
int privsep_drop_to(uid_t uid, gid_t gid, const char *name);

/*
 * privsep_resolve_server_user - look server.user (and server.group) and server.login_user (the
 * protocol children's user) up now and remember the ids
 * for CFG, so processes forked afterwards switch without an NSS lookup. 0 or -1.
 */
int privsep_resolve_server_user(const struct config *cfg);

/* privsep_drop_to_server_user - become server.user with its groups (no-op when not root). 0 or -1. */
int privsep_drop_to_server_user(const struct config *cfg);

#endif
