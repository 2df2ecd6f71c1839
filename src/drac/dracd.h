/* dracd.h - popgate-dracd, the DRAC RPC worker: its limits and its entry point. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_DRACD_H
#define POPGATE_DRACD_H

#include <signal.h>
#include <stddef.h>

#include "common/config.h"

/* The protocol rpc.dracd speaks (DRAC's drac.x): program, versions, procedure, answers. */
#define DRAC_PROG 900101
#define DRAC_VERS_V4 1          /* DRACPROC_ADD(unsigned long ip_addr): IPv4, as a number */
#define DRAC_VERS_V6 2          /* DRACPROC_ADD(char ip_addr6[16]): IPv6, one XDR int per byte */
#define DRAC_PROC_ADD 1
enum drac_addstat { DRAC_ADD_SUCCESS = 0, DRAC_ADD_PERM = 1, DRAC_ADD_SYSERR = 2 };

/*
 * Limits. A call is about 60 bytes of RPC header plus 4 (v1) or 64 (v2) bytes of argument; AUTH_UNIX
 * credentials add at most 400 by RFC 5531, but nobody sends a DRAC call with sixteen groups.
 */
#define DRACD_MSG_MAX 400        /* largest request read, UDP datagram or TCP record */
#define DRACD_CONNS_MAX 64       /* TCP connections kept at once; more wait in the backlog */
#define DRACD_IDLE_SECS 30       /* a TCP connection without a request for this long is closed */
/* Adds per second and the burst allowed beyond it: far above what a site's mail servers send,
 * low enough that a flood from a trusted but broken client leaves the database to everyone else. */
#define DRACD_RATE 1000
#define DRACD_BURST 2000
#define DRACD_FD_MAX 1024        /* descriptors tracked for idleness; a higher one is closed at once */

/* The sockets the master bound for a fixed relay.drac_listen (-1 when none). */
struct dracd_socks {
	int udp;
	int tcp;
};

/*
 * dracd_run - serve DRAC calls until *STOP is set: on SOCKS when given, else on free ports registered
 * with rpcbind (unregistered before returning). 0, or 1 when the service could not start.
 */
int dracd_run(const struct config *cfg, const struct dracd_socks *socks, volatile sig_atomic_t *stop);

#endif
