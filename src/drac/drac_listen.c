/* drac_listen.c - relay.drac_listen: its forms, and binding the UDP and TCP sockets of a fixed address. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net.h"
#include "drac/drac.h"

/* TCP connections waiting for the worker; DRAC clients connect, call once or a few times, close. */
#define DRAC_BACKLOG 64

/* split_host_port - "host:port", "[v6]:port" or "*:port" into LA. 0 or -1 with *WHY. */
static int split_host_port(const char *text, struct listen_addr *la, const char **why)
{
	const char *host = text, *port, *end;
	size_t hlen;

	if (*text == '[') {
		if ((end = strchr(text, ']')) == NULL || end[1] != ':')
			return *why = "expected [IPv6]:port", -1;
		host = text + 1;
		hlen = (size_t)(end - host);
		port = end + 2;
	} else {
		if ((end = strrchr(text, ':')) == NULL)
			return *why = "expected rpcbind, host:port or [IPv6]:port", -1;
		hlen = (size_t)(end - text);
		port = end + 1;
		if (memchr(text, ':', hlen) != NULL)
			return *why = "write IPv6 addresses in brackets: [::1]:port", -1;
	}
	char *stop;
	long p = strtol(port, &stop, 10);
	if (*port == '\0' || *stop != '\0' || p < 1 || p > 65535)
		return *why = "port must be a number from 1 to 65535", -1;
	if (hlen >= sizeof(la->host))
		return *why = "host name too long", -1;
	if (hlen == 1 && host[0] == '*')
		hlen = 0;
	memcpy(la->host, host, hlen);
	la->host[hlen] = '\0';
	snprintf(la->port, sizeof(la->port), "%ld", p);
	return 0;
}

int drac_listen_parse(const char *text, enum drac_mode *mode, struct listen_addr *la, const char **why)
{
	memset(la, 0, sizeof(*la));
	if (text[0] == '\0') {
		*mode = DRAC_OFF;
		return 0;
	}
	if (strcmp(text, DRAC_LISTEN_RPCBIND) == 0) {
		*mode = DRAC_RPCBIND;
		return 0;
	}
	*mode = DRAC_FIXED;
	return split_host_port(text, la, why);
}

enum drac_mode drac_mode_of(const struct config *cfg)
{
	struct listen_addr la;
	enum drac_mode mode;
	const char *why;

	if (drac_listen_parse(conf(cfg)->relay.drac_listen, &mode, &la, &why) < 0)
		return DRAC_OFF;
	return mode;
}

/* bind_ai - one socket on AI (IPv6 any: dual stack), listening when it is a stream; -1 with errno. */
static int bind_ai(const struct addrinfo *ai, bool any)
{
	int one = 1, zero = 0, e;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	    (ai->ai_socktype != SOCK_STREAM || listen(fd, DRAC_BACKLOG) == 0))
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int drac_bind(const struct listen_addr *la, int sotype, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = sotype, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	const char *proto = sotype == SOCK_DGRAM ? "udp" : "tcp";
	bool any = la->host[0] == '\0';
	char where[300];
	int rc, fd = -1, e = EADDRNOTAVAIL;

	hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
	rc = getaddrinfo(any ? NULL : la->host, la->port, &hints, &res);
	if (rc != 0 && any) {
		hints.ai_family = AF_INET; /* a host without IPv6 */
		rc = getaddrinfo(NULL, la->port, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "DRAC %s %s: %s", proto, net_addr_text(la, where, sizeof(where)),
			 gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		if ((fd = bind_ai(ai, any)) < 0)
			e = errno;
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot listen for DRAC on %s %s: %s", proto,
			 net_addr_text(la, where, sizeof(where)), strerror(e));
	return fd;
}
