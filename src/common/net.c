/* net.c - bind the listeners popgate.conf names. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net.h"

/* Enough for a burst of connections while the master forks; the kernel caps it at somaxconn. */
#define LISTEN_BACKLOG 1024

const char *net_addr_text(const struct listen_addr *la, char *out, size_t cap)
{
	if (la->host[0] == '\0')
		snprintf(out, cap, "*:%s", la->port);
	else if (strchr(la->host, ':') != NULL)
		snprintf(out, cap, "[%s]:%s", la->host, la->port);
	else
		snprintf(out, cap, "%s:%s", la->host, la->port);
	return out;
}

/* bind_one - a listening socket on AI, or -1 with errno set. */
static int bind_one(const struct addrinfo *ai, bool dual_stack)
{
	int one = 1, zero = 0;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &zero : &one, sizeof(int));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int net_listen(const struct listen_addr *la, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char where[300];
	bool any = la->host[0] == '\0';
	int rc, fd = -1, e = 0;

	if (any)
		hints.ai_family = AF_INET6; /* one dual-stack socket; IPv4-only hosts fall back below */
	rc = getaddrinfo(any ? NULL : la->host, la->port, &hints, &res);
	if (rc != 0 && any) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(NULL, la->port, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", net_addr_text(la, where, sizeof(where)), gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = bind_one(ai, any);
		if (fd < 0)
			e = errno;
	}
	if (fd < 0 && any && e == EAFNOSUPPORT) {
		struct addrinfo *v4 = NULL;
		hints.ai_family = AF_INET;
		if (getaddrinfo(NULL, la->port, &hints, &v4) == 0) {
			fd = bind_one(v4, false);
			e = errno;
			freeaddrinfo(v4);
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", net_addr_text(la, where, sizeof(where)),
			 strerror(e));
		errno = e;
	}
	return fd;
}
