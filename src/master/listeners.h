/* listeners.h - the master's bound sockets, per service, and rebinding on reload. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_LISTENERS_H
#define POPGATE_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/config.h"
#include "master/services.h"

struct listener {
	int fd;
	const struct service *svc;     /* NULL for the admin page, the socketmap and DRAC */
	bool socketmap;                /* relay.socketmap_listen's, served by the relay lookup worker */
	struct listen_addr addr;
	int drac;                      /* relay.drac_listen's: SOCK_DGRAM or SOCK_STREAM; else 0 */
	/* Bound to one address (not a wildcard): every connection's local address, known without asking. */
	struct sockaddr_storage local;
	socklen_t local_len;           /* 0: a wildcard; accept asks the kernel each time */
};

struct listener_set {
	size_t n;
	struct listener *v;
};

/*
 * listeners_bind - bind every listener CFG names. On reload pass the OLD set: sockets whose
 * address is unchanged move over instead of being rebound. 0, or -1 with the reason in ERR.
 */
int listeners_bind(const struct config *cfg, struct listener_set *old, struct listener_set *out,
		   struct cfg_error *err);

/* listeners_close - close every socket and free the set. */
void listeners_close(struct listener_set *set);

/* listeners_admin_fds - the admin page's sockets into FDS (up to MAX); returns how many. */
size_t listeners_admin_fds(const struct listener_set *set, int *fds, size_t max);

/* listeners_socketmap_fd - the socketmap's inet listener, or -1. */
int listeners_socketmap_fd(const struct listener_set *set);

/* listeners_drac_fds - relay.drac_listen's UDP and TCP sockets (-1 when it names no fixed address). */
void listeners_drac_fds(const struct listener_set *set, int *udp, int *tcp);

/* listeners_describe - "pop3 127.0.0.1:110, smtp *:25, ..." for the ready line. */
void listeners_describe(const struct listener_set *set, char *out, size_t cap);

#endif
