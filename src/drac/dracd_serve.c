/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dracd_serve.c - the DRAC worker's transports and loop: libtirpc's UDP and TCP transports on the
 * master's sockets or on free ports registered with rpcbind, polled here so that the stop flag,
 * the TCP connection bound and idle connections are ours to enforce.
 */
#include <rpc/rpc.h>
#include <rpc/rpc_com.h>
#include <rpc/rpcb_clnt.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "drac/drac.h"
#include "drac/dracd.h"
#include "drac/dracd_int.h"

/* Poll slots: the two listeners, DRACD_CONNS_MAX connections, and the holes libtirpc leaves. */
#define DRACD_POLL_MAX (4 * DRACD_CONNS_MAX)

/* How often the stop flag and idle connections are looked at when nothing arrives. */
#define DRACD_TICK_MS 1000

struct server {
	int udp, tcp;                  /* the listeners' descriptors */
	bool registered;               /* with rpcbind: unregister at exit */
	time_t last[DRACD_FD_MAX];     /* per connection: its last activity, 0 when no connection */
};

/* port_of - the local port of FD, for the log and rpcbind. */
static unsigned port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						 ((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * announce - register version VERS on NETID ("udp" or "tcp") at FD's port with rpcbind, and on
 * NETID6 too when FD is a dual-stack IPv6 socket. rpcb_set rather than pmap_set, which leaks the
 * address it converts on every call. 0 or -1.
 */
static int announce(unsigned long vers, const char *netid, int fd)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(fd)) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = v4.sin_port };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char netid6[8];
	int rc = 0;

	snprintf(netid6, sizeof(netid6), "%s6", netid);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	for (int six = 0; six <= (ss.ss_family == AF_INET6) && rc == 0; six++) {
		struct netbuf nb = { .len = six ? sizeof(v6) : sizeof(v4), .maxlen = six ? sizeof(v6) : sizeof(v4),
				     .buf = six ? (void *)&v6 : (void *)&v4 };
		struct netconfig *nc = getnetconfigent(six ? netid6 : netid);

		if (nc == NULL)
			continue; /* no such transport in /etc/netconfig: nothing to register */
		if (!rpcb_set(DRAC_PROG, vers, nc, &nb))
			rc = -1;
		freenetconfigent(nc);
	}
	return rc;
}

/* unannounce - remove every registration of both versions from rpcbind. */
static void unannounce(void)
{
	rpcb_unset(DRAC_PROG, DRAC_VERS_V4, NULL);
	rpcb_unset(DRAC_PROG, DRAC_VERS_V6, NULL);
}

/* transports - libtirpc transports on S's sockets for both versions, registered WITH_RPCBIND or not. */
static int transports(struct server *s, bool with_rpcbind)
{
	int maxrec = DRACD_MSG_MAX;
	SVCXPRT *u, *t;

	/* A bounded record size makes libtirpc read TCP without blocking: a half-sent call stalls nobody. */
	if (!rpc_control(RPC_SVC_CONNMAXREC_SET, &maxrec))
		return log_err("drac: cannot bound the TCP record size"), -1;
	if ((u = svc_dg_create(s->udp, DRACD_MSG_MAX, DRACD_MSG_MAX)) == NULL ||
	    (t = svc_vc_create(s->tcp, DRACD_MSG_MAX, DRACD_MSG_MAX)) == NULL)
		return log_err("drac: cannot create the RPC transports"), -1;
	if (with_rpcbind) {
		/* A worker of ours that was killed left its ports registered: they are stale now. */
		unannounce();
		s->registered = true;
	}
	for (unsigned long v = DRAC_VERS_V4; v <= DRAC_VERS_V6; v++) {
		/* Our own rpcb_set, not svc_register's: transports made on our sockets know no port. */
		if (!svc_register(u, DRAC_PROG, v, dracd_dispatch, 0) || !svc_register(t, DRAC_PROG, v, dracd_dispatch, 0) ||
		    (with_rpcbind && (announce(v, "udp", s->udp) < 0 || announce(v, "tcp", s->tcp) < 0))) {
			log_err("drac: cannot register program %d version %lu%s", DRAC_PROG, v,
				with_rpcbind ? " with rpcbind (is it running?)" : "");
			return -1;
		}
	}
	return 0;
}

/* free_ports - for rpcbind: UDP and TCP sockets on ports the kernel picks, every address. */
static int free_ports(struct server *s)
{
	struct listen_addr any = { .host = "", .port = "0" };
	char err[400];

	if ((s->udp = drac_bind(&any, SOCK_DGRAM, err, sizeof(err))) < 0 ||
	    (s->tcp = drac_bind(&any, SOCK_STREAM, err, sizeof(err))) < 0) {
		log_err("drac: %s", err);
		return -1;
	}
	return 0;
}

/* is_listener - whether FD is one of S's own sockets rather than a client's connection. */
static bool is_listener(const struct server *s, int fd)
{
	return fd == s->udp || fd == s->tcp;
}

/*
 * watch_idle - note activity and end connections idle for DRACD_IDLE_SECS. shutdown(), not close():
 * libtirpc then reads the end of the stream and destroys its transport itself. Returns how many
 * connections are open.
 */
static int watch_idle(struct server *s, const struct pollfd *p, int n, time_t now)
{
	static bool present[DRACD_FD_MAX];
	int conns = 0;

	memset(present, 0, sizeof(present));
	for (int i = 0; i < n; i++) {
		int fd = p[i].fd;

		if (fd < 0 || is_listener(s, fd))
			continue;
		conns++;
		if (fd >= DRACD_FD_MAX) {
			shutdown(fd, SHUT_RDWR);
			continue;
		}
		present[fd] = true;
		if (s->last[fd] == 0 || p[i].revents != 0)
			s->last[fd] = now;
		else if (now - s->last[fd] >= DRACD_IDLE_SECS)
			shutdown(fd, SHUT_RDWR);
	}
	for (int fd = 0; fd < DRACD_FD_MAX; fd++)
		if (!present[fd])
			s->last[fd] = 0;
	return conns;
}

/* note_datagram - the length of the datagram libtirpc is about to read, for dracd_dispatch's checks. */
static void note_datagram(const struct server *s, const struct pollfd *p, int n)
{
	struct dracd_state *st = dracd_state();

	st->dgram_len = -1;
	for (int i = 0; i < n; i++)
		if (p[i].fd == s->udp && (p[i].revents & POLLIN))
			st->dgram_len = recv(s->udp, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
}

/* serve - poll libtirpc's descriptors and let it answer, until *STOP. */
static void serve(struct server *s, volatile sig_atomic_t *stop)
{
	static struct pollfd p[DRACD_POLL_MAX];
	int conns = 0;

	while (!*stop) {
		int n = svc_max_pollfd < DRACD_POLL_MAX ? svc_max_pollfd : DRACD_POLL_MAX, ready;

		memcpy(p, svc_pollfd, (size_t)n * sizeof(*p));
		for (int i = 0; i < n; i++) {
			p[i].revents = 0;
			/* At the bound, new connections wait in the backlog until one ends. */
			if (p[i].fd == s->tcp && conns >= DRACD_CONNS_MAX)
				p[i].fd = -1;
		}
		ready = poll(p, (nfds_t)n, DRACD_TICK_MS);
		if (ready < 0 && errno != EINTR) {
			log_err("drac: poll: %s", strerror(errno));
			return;
		}
		if (ready > 0) {
			note_datagram(s, p, n);
			svc_getreq_poll(p, ready);
		}
		conns = watch_idle(s, p, n, time(NULL));
	}
}

int dracd_run(const struct config *cfg, const struct dracd_socks *socks, volatile sig_atomic_t *stop)
{
	static struct server s;
	struct dracd_state *st = dracd_state();
	bool rpcbind = socks == NULL || socks->udp < 0 || socks->tcp < 0;
	int rc = 1;

	memset(&s, 0, sizeof(s));
	s.udp = s.tcp = -1;
	st->cfg = cfg;
	st->tokens = DRACD_BURST;
	st->last_us = mono_us();
	if (rpcbind ? free_ports(&s) < 0 : (s.udp = socks->udp, s.tcp = socks->tcp, 0) < 0)
		goto out;
	st->udp_fd = s.udp;
	if (transports(&s, rpcbind) < 0)
		goto out;
	log_info("drac: serving program %d versions 1 and 2 on udp port %u, tcp port %u%s", DRAC_PROG,
		 port_of(s.udp), port_of(s.tcp), rpcbind ? ", registered with rpcbind" : "");
	serve(&s, stop);
	log_info("drac: stopping after %lu adds (%lu over the rate limit)", st->added, st->throttled);
	rc = 0;
out:
	if (s.registered)
		unannounce();
	return rc;
}
