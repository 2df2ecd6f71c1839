/* session_wire.h - the record a session sends the master on the report channel (an IPC_SESSION_REPORT frame). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SESSION_WIRE_H
#define POPGATE_SESSION_WIRE_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cidr.h"

/*
 * The master trusts nothing in it but the pid, which it maps to the client address it accepted
 * itself; a record naming no live session of its own is dropped.
 */
struct session_wire_report {
	uint32_t event;      /* enum session_event */
	pid_t session_pid;   /* the master's direct child serving the connection */
	char user[64];
	struct ip_addr client; /* SESSION_PROXY_CLIENT: the client a PROXY header named */
	uint32_t count;      /* SESSION_RELAYDB_ERROR from a worker: the errors it stands for (0: one) */
	pid_t other;         /* SESSION_CONN_PASSED, SESSION_PASSED_DONE, SESSION_PAIR_CHILD: the process named */
};

/*
 * The master's answer to SESSION_PROXY_CLIENT, queued to the session with sigqueue(): the session
 * holds no descriptor the master reads from or writes to but this channel, and a signal's sender
 * is stamped by the kernel as a datagram's is. The value is a verdict, and for PROXY_ADMIT the
 * failed logins from that client in the upper bits (PROXY_FAILURES_SHIFT).
 */
#define SESSION_PROXY_SIGNAL SIGUSR1
enum session_proxy_verdict {
	PROXY_ADMIT = 1,   /* serve the session */
	PROXY_BUSY,        /* refuse: server.max_connections_per_ip */
	PROXY_LOCKED,      /* refuse: the client is locked out after failed logins */
};
#define PROXY_VERDICT_MASK 0xff
#define PROXY_FAILURES_SHIFT 8

#endif
