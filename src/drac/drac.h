/* drac.h - the DRAC RPC service's pieces popgated and popgatectl share: its listeners and dracd.allow. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_DRAC_H
#define POPGATE_DRAC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

/* relay.drac_listen's word for "take free ports and register them with rpcbind". */
#define DRAC_LISTEN_RPCBIND "rpcbind"

/* How relay.drac_listen asks to be served. */
enum drac_mode {
	DRAC_OFF,        /* empty: no DRAC worker */
	DRAC_RPCBIND,    /* free ports, registered with rpcbind by the worker */
	DRAC_FIXED,      /* host:port bound by the master, UDP and TCP, not registered */
};

/*
 * drac_listen_parse - relay.drac_listen's TEXT: the mode, and for DRAC_FIXED the address in *LA.
 * 0, or -1 with a reason in *WHY.
 */
int drac_listen_parse(const char *text, enum drac_mode *mode, struct listen_addr *la, const char **why);

/* drac_mode_of - the mode CFG asks for (DRAC_OFF when relay.drac_listen does not parse). */
enum drac_mode drac_mode_of(const struct config *cfg);

/*
 * drac_bind - a socket of SOTYPE (SOCK_DGRAM or SOCK_STREAM, listening) bound to LA, non-blocking
 * and close-on-exec; "" host means every IPv6 and IPv4 address. The socket, or -1 with ERR set.
 */
int drac_bind(const struct listen_addr *la, int sotype, char *err, size_t errlen);

/*
 * drac_allow_line - one line of an rpc.dracd dracd.allow ("netmask netaddr", # comments) as a
 * network in OUT ("192.0.2.0/24"). 1 a network, 0 a blank or comment line, -1 bad (reason in *WHY).
 */
int drac_allow_line(const char *line, char *out, size_t cap, const char **why);

#endif
