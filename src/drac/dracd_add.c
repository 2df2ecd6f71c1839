/* dracd_add.c - one DRAC call: decode, check the caller, bound the rate, record as a login, answer. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <rpc/rpc.h>
#include <rpc/svc_dg.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cidr.h"
#include "common/clock.h"
#include "common/log.h"
#include "drac/dracd.h"
#include "drac/dracd_int.h"
#include "relaydb/relaydb.h"

/* The protocol an RPC's authorization is recorded under (popgatectl list shows it). */
#define DRAC_PROTO "drac"

/*
 * How long one add waits for the lookup worker to record it. Shorter than a session's wait
 * (RELAY_LOGIN_WAIT_MS): this process answers every caller in turn, and a caller whose add fails
 * (SYSERR) tries again at its next login.
 */
#define DRACD_LOGIN_WAIT_MS 3000

/* How often refused callers are logged: a flood from a stranger must not become a flood of lines. */
#define DRACD_REFUSAL_LOG_SECS 60

/* libtirpc's xdrproc_t is variadic; a cast through a plain function pointer type says we know. */
#define XDRPROC(f) ((xdrproc_t)(void (*)(void))(f))

/* The worker's state; libtirpc's dispatch routines take no argument of ours. */
static struct dracd_state state;

/* xdr_v4_arg - DRACPROC_ADD version 1: the IPv4 address as one unsigned number (xdr_u_long: 4 bytes). */
static bool_t xdr_v4_arg(XDR *x, void *arg)
{
	return xdr_u_int32_t(x, (uint32_t *)arg);
}

/*
 * xdr_v6_arg - version 2: rpcgen's xdr_vector of 16 chars, one XDR int per byte. A char is signed
 * on the senders' common platforms, so 0xff arrives as -1: only the low 8 bits are the byte.
 */
static bool_t xdr_v6_arg(XDR *x, void *arg)
{
	uint8_t *out = arg;

	for (int i = 0; i < 16; i++) {
		int32_t v;

		if (!xdr_int32_t(x, &v))
			return FALSE;
		out[i] = (uint8_t)(v & 0xff);
	}
	return TRUE;
}

/* take_token - the token bucket: true when one more add fits in DRACD_RATE per second. */
static bool take_token(struct dracd_state *st)
{
	int64_t now = mono_us();
	double elapsed = (double)(now - st->last_us) / 1e6;

	st->last_us = now;
	st->tokens += elapsed * DRACD_RATE;
	if (st->tokens > DRACD_BURST)
		st->tokens = DRACD_BURST;
	if (st->tokens < 1.0)
		return false;
	st->tokens -= 1.0;
	return true;
}

/* note_refusal - log a refused caller, at most once per DRACD_REFUSAL_LOG_SECS with the count. */
static void note_refusal(struct dracd_state *st, const char *caller)
{
	time_t now = time(NULL);

	st->refused++;
	if (now - st->refusal_logged < DRACD_REFUSAL_LOG_SECS)
		return;
	log_msg(LOG_NOTICE, "drac: call from %s refused: not in relay.drac_clients (%lu refused since the last note)",
		   caller, st->refused);
	st->refused = 0;
	st->refusal_logged = now;
}

/* caller_of - the caller's address, canonical; false when the transport has none we understand. */
static bool caller_of(SVCXPRT *xprt, struct ip_addr *ip, char text[IP_TEXT_MAX])
{
	const struct netbuf *nb = svc_getrpccaller(xprt);

	if (nb == NULL || nb->buf == NULL || nb->len < sizeof(struct sockaddr_in) ||
	    ip_from_sockaddr((const struct sockaddr *)nb->buf, ip) < 0)
		return false;
	ip_format(ip, text);
	return true;
}

/* address_text - the address a call names, canonical (an IPv4-mapped IPv6 address becomes IPv4). */
static int address_text(unsigned long vers, const uint8_t *raw, char out[IP_TEXT_MAX])
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(vers == DRAC_VERS_V4 ? AF_INET : AF_INET6, raw, text, sizeof(text)) == NULL)
		return -1;
	return ip_canonical(text, out);
}

/* add - the answer to DRACPROC_ADD of ADDR (network order bytes) from CALLER. */
static int add(struct dracd_state *st, unsigned long vers, const uint8_t *raw, const struct ip_addr *caller,
	       const char *caller_text)
{
	char ip[IP_TEXT_MAX];

	if (cidr_list_match(&conf(st->cfg)->relay.drac_clients, caller) == NULL) {
		note_refusal(st, caller_text);
		return DRAC_ADD_PERM;
	}
	if (address_text(vers, raw, ip) < 0)
		return DRAC_ADD_SYSERR;
	if (!take_token(st)) {
		st->throttled++;
		return DRAC_ADD_SYSERR;
	}
	/* Recorded, and in the MTA's map, before the answer: a client relays right after it. */
	if (relaydb_session_login(st->cfg, st->login_fd, ip, "", DRAC_PROTO, DRACD_LOGIN_WAIT_MS) < 0)
		return DRAC_ADD_SYSERR;
	st->added++;
	log_session(LOG_DEBUG, DRAC_PROTO, ip, NULL, "authorized", "by %s", caller_text);
	return DRAC_ADD_SUCCESS;
}

/*
 * within_datagram - whether the arguments just decoded lay inside the datagram received. libtirpc
 * decodes a datagram from its whole receive buffer, not the length received: a short call would
 * take its missing bytes from an earlier caller's request.
 */
static bool within_datagram(SVCXPRT *xprt)
{
	const struct dracd_state *st = &state;
	struct svc_dg_data *su = (struct svc_dg_data *)xprt->xp_p2;

	if (xprt->xp_fd != st->udp_fd)
		return true; /* TCP: the record layer knows where a record ends */
	return st->dgram_len >= 0 && XDR_GETPOS(&su->su_xdrs) <= (u_int)st->dgram_len;
}

/* decode - the call's address as 16 bytes (v1: the first 4); false on garbage arguments. */
static bool decode(SVCXPRT *xprt, unsigned long vers, uint8_t raw[16])
{
	uint32_t v4 = 0;

	memset(raw, 0, 16);
	if (vers == DRAC_VERS_V6)
		return svc_getargs(xprt, XDRPROC(xdr_v6_arg), (char *)raw) && within_datagram(xprt);
	if (!svc_getargs(xprt, XDRPROC(xdr_v4_arg), (char *)&v4) || !within_datagram(xprt))
		return false;
	/* DRAC's client sends ntohl(address): the number's XDR (big-endian) bytes are the address. */
	v4 = htonl(v4);
	memcpy(raw, &v4, 4);
	return true;
}

void dracd_dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
	struct ip_addr caller;
	char caller_text[IP_TEXT_MAX];
	uint8_t raw[16];
	int32_t status;

	/* A datagram longer than any call was cut to DRACD_MSG_MAX: what is left is not the call. Dropped. */
	if (xprt->xp_fd == state.udp_fd && state.dgram_len > DRACD_MSG_MAX)
		return;
	if (rq->rq_proc == NULLPROC) {
		svc_sendreply(xprt, XDRPROC(xdr_void), NULL);
		return;
	}
	if (rq->rq_proc != DRAC_PROC_ADD) {
		svcerr_noproc(xprt);
		return;
	}
	if (!decode(xprt, rq->rq_vers, raw)) {
		svcerr_decode(xprt);
		return;
	}
	if (!caller_of(xprt, &caller, caller_text)) {
		svcerr_systemerr(xprt);
		return;
	}
	status = add(&state, rq->rq_vers, raw, &caller, caller_text);
	if (!svc_sendreply(xprt, XDRPROC(xdr_int32_t), (char *)&status))
		log_debug("drac: the answer to %s could not be sent", caller_text);
}

struct dracd_state *dracd_state(void)
{
	return &state;
}
