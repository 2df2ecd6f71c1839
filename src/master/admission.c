/* admission.c - a new connection accepted, held to the per-address and global limits, admitted or refused. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cidr.h"
#include "common/log.h"
#include "common/stats.h"
#include "master/master_int.h"

/* Accepts per listener per loop turn: keeps one busy listener from starving the others. */
#define ACCEPT_BATCH 32

/* The reason admit() gives for an address locked out; refuse() tells such a client why. */
static const char why_locked_out[] = "locked out: too many failed logins";

/* note_refused - log and count a connection a limit refused. */
static void note_refused(struct master *m, const struct service *svc, const char *id, const char *ip,
			 const char *why)
{
	log_set_session(id); /* the connection had its id at accept: its line carries it */
	log_session(LOG_NOTICE, svc != NULL ? svc->name : "admin", ip, NULL, "refused", "%s", why);
	log_set_session(NULL);
	stats_begin(m->stats);
	stats_counters_mut(m->stats)->refused_limit++;
	stats_end(m->stats);
	stats_add_event(m->stats, svc != NULL ? svc->name : "admin", ip, "", why);
}

/* refuse - a connection over a limit gets its protocol's temporary failure and is closed. */
static void refuse(struct master *m, int fd, const struct service *svc, const struct session_ctx *ctx,
		   const char *why)
{
	const char *reply = svc == NULL ? NULL : why == why_locked_out ? svc->locked_reply : svc->busy_reply;

	if (reply != NULL)
		(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	else if (svc == NULL)
		(void)send(fd, "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 56,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	note_refused(m, svc, ctx->id, ctx->client_ip, why);
}

/*
 * spare_pair - whether make_room must pass over session CH: its monitor's process group holds
 * sessions it passed on, which a group kill would take along, and its protocol child cannot be
 * killed alone (not known yet: the monitor is forking it; or /proc hides it).
 */
static bool spare_pair(void *arg, const struct child *ch)
{
	struct master *m = arg;

	return children_has_group(m->kids, ch->pid) && !pool_child_killable(&m->pool, ch->pid);
}

/*
 * end_session - kill the session served by PID. A reused pair's ends with its protocol child: the
 * monitor then tells the master the connection is over and ends the pair once the sessions it
 * passed on are. Any other goes with its process group, never one holding sessions passed on
 * (spare_pair; a child that died just now has ended the session anyway).
 */
static void end_session(struct master *m, pid_t pid)
{
	if (pool_kill_child(&m->pool, pid) || children_has_group(m->kids, pid))
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL); /* in case it has not made its own process group yet */
}

/*
 * make_room - at server.max_connections, push out the oldest session that has neither logged in
 * (POP3, SMTP AUTH) nor shown a client we relay for, nor named a recipient, as Dovecot does with
 * its pre-login connections: otherwise slow clients from many addresses, each sending a byte now
 * and then, keep everybody out for as long as the session timeouts. A real client logs in or
 * names a recipient within milliseconds, so it is hardly ever the oldest. Failing such a session,
 * the oldest stranger's transaction that has not reached its final dot goes: nothing is lost, the
 * client still holds the message and will try again. A hand-off is never touched: killed while
 * the next hop takes the message, the client could send it twice. The pending reports are read
 * first, so a session's TXN_HANDOFF, written before it starts the hand-off, is known here unless
 * it is written between that read and the kill; then the hand-off is cut at its start, which at
 * worst costs the client a duplicate, never a message.
 */
static bool make_room(struct master *m)
{
	struct child victim;

	read_reports(m);
	if (!children_evict(m->kids, spare_pair, m, &victim))
		return false;
	end_session(m, victim.pid);
	stress_note_evicted(&m->stress, victim.svc->family);
	log_set_session(victim.sid);
	log_session(LOG_INFO, victim.svc->name, victim.ip_text, NULL, "evicted", "%s",
		    victim.txn == CHILD_TXN_OPEN
			    ? "server.max_connections reached, the oldest stranger's unfinished transaction makes room"
			    : "server.max_connections reached, the oldest session not logged in makes room");
	log_set_session(NULL);
	return true;
}

/*
 * per_ip_exempt - whether IP may open more than server.max_connections_per_ip: a local webmail
 * or MTA opens many sessions from one address, as Postfix's $mynetworks do.
 */
static bool per_ip_exempt(const struct config *cfg, const struct ip_addr *ip)
{
	if (cidr_list_match(&conf(cfg)->server.connection_limit_exceptions, ip) != NULL)
		return true;
	return conf(cfg)->server.connection_limit_exempts_relay_allow &&
	       cidr_list_match(&conf(cfg)->relay.allow, ip) != NULL;
}

/*
 * per_address - the limits on client IP, which OTHERS sessions already serve: NULL when within
 * them, else the reason. *FAILURES gets its recent failed logins.
 */
static const char *per_address(struct master *m, const struct ip_addr *ip, size_t others, unsigned *failures)
{
	const struct config *cfg = m->cfg;

	if (others >= (size_t)conf(cfg)->server.max_connections_per_ip && !per_ip_exempt(cfg, ip))
		return "limit: server.max_connections_per_ip";
	*failures = throttle_failures(m->fails, ip, time(NULL), conf(cfg)->auth.lockout);
	if (*failures >= (unsigned)conf(cfg)->auth.max_failures)
		return why_locked_out;
	return NULL;
}

/* admit - the limits a new connection must pass; NULL when admitted, else the reason. */
static const char *admit(struct master *m, const struct listener *l, const struct ip_addr *ip,
			 unsigned *failures)
{
	const struct config *cfg = m->cfg;
	const char *why;

	if (m->stopping)
		return "shutting down";
	/*
	 * The per-address limits first: an address over them must not push anyone out. Behind a
	 * balancer the peer is the balancer: they apply once the session's PROXY header names the client.
	 */
	if (!l->svc->proxy && (why = per_address(m, ip, children_count_ip(m->kids, ip), failures)) != NULL)
		return why;
	size_t max = (size_t)conf(cfg)->server.max_connections;
	if (children_serving(m->kids) >= max) {
		stress_enter(&m->stress, m->kids, max, conf(cfg)->smtp.stress_timeout);
		if (!make_room(m)) {
			stress_note_refused(&m->stress);
			return "limit: server.max_connections";
		}
	}
	return NULL;
}

/* start_session - fork a process for connection FD accepted on L. */
static void start_session(struct master *m, const struct listener *l, int fd, const struct sockaddr *peer,
			  const struct sockaddr *local)
{
	struct session_ctx ctx = { .cfg = m->cfg, .fd = fd, .implicit_tls = l->svc->implicit_tls,
				   .tls = m->tls, .hostname = m->hostname, .report_fd = m->reports.wr, .dispatch_fd = -1,
				   .login_fd = m->workers.login_wr,
				   .proto = l->svc->name, .busy_reply = l->svc->busy_reply, .stress = stress_view(&m->stress) };
	const char *why;

	if (ip_from_sockaddr(peer, &ctx.client) < 0) {
		close(fd);
		return;
	}
	ip_format(&ctx.client, ctx.client_ip);
	ctx.client_port = ntohs(((const struct sockaddr_in *)peer)->sin_port);
	struct ip_addr lip;
	if (ip_from_sockaddr(local, &lip) == 0)
		ip_format(&lip, ctx.local_ip);
	ctx.local_port = ntohs(((const struct sockaddr_in *)local)->sin_port);
	session_make_id(ctx.id);
	if (l->svc->proxy && cidr_list_match(&conf(m->cfg)->server.proxy_networks, &ctx.client) == NULL) {
		/* A PROXY header from anyone else would let them name any client: an open relay. */
		log_set_session(ctx.id);
		log_session(LOG_WARNING, l->svc->name, ctx.client_ip, NULL, "dropped",
			    "a *_proxy listener, and the peer is not in server.proxy_networks");
		log_set_session(NULL);
		close(fd);
		return;
	}
	why = admit(m, l, &ctx.client, &ctx.recent_auth_failures);
	if (why != NULL) {
		refuse(m, fd, l->svc, &ctx, why);
		return;
	}
	ctx.npenalties = throttle_penalties(m->fails, &ctx.client, time(NULL), conf(m->cfg)->auth.lockout,
					    ctx.penalties, SESSION_PENALTY_USERS);
	pid_t pid = master_reuses(m, l) ? master_dispatch(m, l, fd, &ctx) : fork();
	if (pid < 0) {
		log_err("fork for %s: %s", ctx.client_ip, strerror(errno));
		refuse(m, fd, l->svc, &ctx, "fork failed");
		return;
	}
	if (pid == 0)
		session_child(m, l, &ctx);
	close(fd);
	if (children_add(m->kids, pid, &ctx.client, ctx.client_ip, ctx.id, l->svc) < 0) {
		/* Cannot happen while the table holds max_connections; never serve an untracked session. */
		log_err("session table full: ending session %ld", (long)pid);
		end_session(m, pid);
		return;
	}
	stress_note_started(&m->stress, children_serving(m->kids));
	stats_begin(m->stats);
	struct stats_counters *c = stats_counters_mut(m->stats);
	c->sessions_active++;
	c->sessions_total++;
	if (strcmp(l->svc->family, "pop3") == 0)
		c->pop3_active++;
	else
		c->smtp_active++;
	stats_end(m->stats);
}

/* accept_on - take up to a batch of pending connections from L. */
void accept_on(struct master *m, const struct listener *l)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_err("accept: %s", strerror(errno));
			return;
		}
		/* The session sees its socket without close-on-exec surprises: it never execs with it. */
		if (l->local_len > 0)
			memcpy(&local, &l->local, sizeof(local));
		else if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
			memset(&local, 0, sizeof(local));
		start_session(m, l, fd, (struct sockaddr *)&peer, (struct sockaddr *)&local);
	}
}

/* proxy_verdict - the per-address limits and the lockout, for the client a PROXY header named. */
static const char *proxy_verdict(struct master *m, const struct child *ch, const struct ip_addr *ip,
				 unsigned *failures)
{
	size_t others = children_count_ip(m->kids, ip);

	if (others > 0 && !ch->evicted && ch->ip.family == ip->family &&
	    memcmp(ch->ip.addr, ip->addr, sizeof(ip->addr)) == 0)
		others--; /* LOCAL keeps the balancer's address, which already counts this session */
	return per_address(m, ip, others, failures);
}

/*
 * proxied_client - a *_proxy session names its client, before it says anything to it: admit it
 * as accept would have, count it under that address from now on, and answer with a signal.
 */
void proxied_client(struct master *m, const struct child *ch, const struct session_wire_report *r)
{
	struct ip_addr ip = r->client;
	char text[IP_TEXT_MAX];
	unsigned failures = 0;
	const char *why;
	union sigval v;

	if (!ch->proxy_pending || (ip.family != AF_INET && ip.family != AF_INET6))
		return; /* once per *_proxy session; a session left unanswered ends itself */
	if (ip.family == AF_INET)
		memset(ip.addr + 4, 0, sizeof(ip.addr) - 4); /* as ip_from_sockaddr leaves it: compared whole */
	ip_format(&ip, text);
	why = proxy_verdict(m, ch, &ip, &failures);
	(void)children_proxied(m->kids, r->session_pid, why == NULL ? &ip : NULL, text);
	v.sival_int = why == NULL ? PROXY_ADMIT | (int)(failures << PROXY_FAILURES_SHIFT)
		      : why == why_locked_out ? PROXY_LOCKED : PROXY_BUSY;
	if (sigqueue(r->session_pid, SESSION_PROXY_SIGNAL, v) < 0 && errno != ESRCH)
		log_err("answering session %ld about %s: %s", (long)r->session_pid, text, strerror(errno));
	if (why != NULL)
		note_refused(m, ch->svc, ch->sid, text, why);
}
