/* session.h - what the master hands a forked worker: the connection, its client and its limits. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SESSION_H
#define POPGATE_SESSION_H

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/types.h>
#include <openssl/ssl.h>

#include "common/penalty.h"
#include "common/cidr.h"
#include "common/config.h"
#include "common/log.h"

/* Events a session reports to the master (for throttling, counters and the admin page). */
enum session_event {
	SESSION_AUTH_OK = 1,
	SESSION_AUTH_FAIL,
	SESSION_MSG_RELAYED,
	SESSION_MSG_DENIED,
	SESSION_TXN_BEGIN,   /* a mail transaction got its first recipient: push this session out last */
	SESSION_TXN_END,     /* that transaction is over (delivered, refused, reset or abandoned) */
	SESSION_TXN_HANDOFF, /* its message is complete and goes to the next hop: never push it out now */
	SESSION_CLIENT_KNOWN, /* the client may relay (relay.allow, POP-before-SMTP): never push it out */
	SESSION_PROXY_CLIENT, /* a *_proxy session's real client, from its PROXY header: answered by a signal */
	SESSION_HOP_DEFERRED, /* the next hop deferred a handed-off message (4xx, timeout, no connection): 451 */
	SESSION_HOP_FAILED,   /* the next hop refused it for good (5xx): 554; MSG_RELAYED is its acceptance */
	SESSION_TLS_FAILED,   /* a server TLS handshake failed (STLS, STARTTLS or implicit TLS) */
	SESSION_TLS_TIMEOUT,  /* a server TLS handshake ran out of tls.handshake_timeout */
	SESSION_RELAYDB_ERROR, /* opening, reading or writing the relay database failed (stats_report.h);
				  the one event a worker may report too */
	SESSION_CONN_DONE,    /* a reused session process is done with its connection and waits for another */
	SESSION_CONN_PASSED,  /* ... it is free again, the session lives on in process `other` (its mailbox process) */
	SESSION_PASSED_DONE,  /* the session it passed to process `other` is over */
	SESSION_PAIR_CHILD,   /* a reused monitor's protocol child is now process `other` (make_room's to kill) */
};

/* One accepted connection, as seen by the process that serves it. */
struct session_ctx {
	const struct config *cfg;
	int fd;                          /* the connected socket */
	bool implicit_tls;               /* accepted on a *.listen_tls listener: handshake first */
	bool proxied_tls;                /* a PROXY header says the client spoke TLS to the balancer */
	SSL_CTX *tls;                    /* server context, or NULL when [tls] is not configured */
	struct ip_addr client;           /* peer address, IPv4-mapped unmapped */
	char client_ip[IP_TEXT_MAX];     /* its canonical text */
	int client_port;
	char local_ip[IP_TEXT_MAX];
	int local_port;
	const char *hostname;            /* server.hostname, or the system's name */
	unsigned recent_auth_failures;   /* failed logins from client_ip known to the master at fork */
	struct session_penalty penalties[SESSION_PENALTY_USERS]; /* the same per user name tried (penalty.h) */
	unsigned npenalties;
	int report_fd;                   /* where session_report() writes; -1 when none */
	int dispatch_fd;                 /* a reused session process: where its connections come from; else -1 */
	int login_fd;                    /* the login channel to the relay lookup worker
					    (relaydb/login_channel.h), the monitor's alone; -1 when none */
	/*
	 * In a protocol child, which reads the network and so holds no descriptor of the master's
	 * channel: its reports go to the monitor, which passes on those a child may make.
	 */
	int (*report_via)(void *arg, enum session_event event);
	void *report_arg;
	pid_t session_pid;               /* the master's direct child serving this connection */
	pid_t passed_pid;                /* a reused monitor: the process its connection went on in, else 0 */
	const char *proto;               /* "pop3", "pop3s", "smtp", "smtps" */
	const char *busy_reply;          /* the protocol's temporary failure in clear; NULL under implicit TLS */
	char id[LOG_SESSION_ID_MAX];     /* session_make_id's, in every log line of the connection */
	const int *stress;               /* nonzero while the master is under stress (read-only shared
					    memory, read with __atomic_load_n); NULL when there is none */
};

/* A service's entry point: runs in a freshly forked process, still privileged; returns an exit status. */
typedef int (*service_main_fn)(struct session_ctx *ctx);

/* session_report - tell the master about EVENT for this session's client. Never blocks long; best effort. */
void session_report(const struct session_ctx *ctx, enum session_event event, const char *user);

/*
 * session_proxy_start - on a *_proxy listener, before anything else: read the PROXY header within
 * server.proxy_timeout, take the client it names as this session's (address, port, local end,
 * TLS at the balancer) and have the master apply the per-address limits and the lockout to it.
 * 0 to serve the session; -1 to end it, after sending ctx->busy_reply or LOCKED_REPLY (either may
 * be NULL) when the master refused the client. Logged here or by the master.
 */
int session_proxy_start(struct session_ctx *ctx, const char *locked_reply);

/*
 * session_fork_failed - the session could not start its protocol child (or another process it
 * needs before the greeting): log it once, give the client the protocol's temporary failure where
 * one can be said in clear, and close the connection.
 */
void session_fork_failed(struct session_ctx *ctx, const char *what);

/* session_reap - wait for CHILD, after sending it SIG when not 0. Its exit status, or 1 if it was killed. */
int session_reap(pid_t child, int sig);

/*
 * session_reap_within - wait at most MS for CHILD to exit, SIGKILL it then (at once when MS is 0),
 * and reap it: a process told to go (its channel closed) that does not, as a subverted one might
 * not, must not hold its parent. Its exit status, or 1 if it was killed.
 */
int session_reap_within(pid_t child, int ms);

/*
 * session_make_id - a new session id into ID: 12 hex digits, a random start plus a counter, so
 * that ids never repeat within one run of popgated and hardly ever across runs. For the master.
 */
void session_make_id(char id[LOG_SESSION_ID_MAX]);

#endif
