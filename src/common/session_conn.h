/* session_conn.h - a connection handed to a reused session process, and its end told to the master. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SESSION_CONN_H
#define POPGATE_SESSION_CONN_H

/*
 * Protocol children a reused monitor forks in turn, each serving server.process_reuse connections,
 * before the master retires the pair: a fresh child bounds what a subverted one sees, as before,
 * while the monitor and its kept mailbox process, which read no network input, are not forked
 * again (a pair's forks, their page faults and exits cost ~0.15 ms a POP3 session at
 * process_reuse 100 on the 2-vCPU bench machine). So a monitor serves at most ten times as many.
 */
#define SESSION_MONITOR_CHILDREN 10

#include "common/session.h"

/*
 * session_conn_send - hand connection FD and what CTX knows of its client (address, ports, session
 * id, failed logins) over SOCK: from the master to a session's monitor, from a monitor to its
 * protocol child. 0, or -1 with errno (the receiver is gone: EPIPE or ECONNRESET).
 */
int session_conn_send(int sock, const struct session_ctx *ctx, int fd);

/*
 * session_conn_recv - wait on SOCK for the next connection and make it CTX's: the socket in
 * ctx->fd, the client, the ports, the id (also the log's), the failed logins. Whatever the last
 * connection left in those fields is overwritten. SOCK is a SOCK_SEQPACKET socket (the master's
 * pool pair, or the privsep channel). 1, 0 when SOCK's sender has closed it (no more connections),
 * -1 on a malformed record.
 */
int session_conn_recv(int sock, struct session_ctx *ctx);

/*
 * session_conn_done - tell the master the connection is over and this process is free; or, when
 * ctx->passed_pid is set, that the process is free and the session lives on in that process (a
 * POP3 mailbox process), whose end session_conn_tell(SESSION_PASSED_DONE) reports later. Unlike
 * other reports it waits for room in the channel: a lost one would hold the master's slot forever.
 * Sent after every report of the connection, on the same channel, so none of them can be taken
 * for the next client's. 0 or -1.
 */
int session_conn_done(const struct session_ctx *ctx);

/*
 * session_conn_tell - a record about this reused process's sessions that must not be lost, as
 * session_conn_done's: EVENT naming the process OTHER. A process is named only while it lives
 * (before its parent reaps it): the master may signal the one named, and the report channel keeps
 * every sender's records in the order they were sent. 0 or -1.
 */
int session_conn_tell(const struct session_ctx *ctx, enum session_event event, pid_t other);

/*
 * session_drop_channels - close what a less trusted process forked from a session must not hold:
 * the master's report channel, the connection dispatch socket and the login channel.
 */
void session_drop_channels(struct session_ctx *ctx);

#endif
