/* net.h - listening sockets for the configured host:port listeners. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_NET_H
#define POPGATE_NET_H

#include <stddef.h>

#include "common/config.h"

/*
 * net_listen - bind and listen on LA ("" host: every IPv6 and IPv4 address). Returns the socket
 * (non-blocking, close-on-exec) or -1 with the reason in ERR and errno set.
 */
int net_listen(const struct listen_addr *la, char *err, size_t errlen);

/* net_addr_text - "host:port" of LA for messages ("*:110", "[::1]:110"). */
const char *net_addr_text(const struct listen_addr *la, char *out, size_t cap);

#endif
