/* master.c - the supervisor loop: signals, listeners, per-connection sessions, reports and reload. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cidr.h"
#include "common/lifeline.h"
#include "common/log.h"
#include "privsep/privsep.h"
#include "common/session_conn.h"
#include "common/session_wire.h"
#include "privsep/member.h"
#include "common/stats.h"
#include "common/stats_report.h"
#include "master/children.h"
#include "master/listeners.h"
#include "master/master.h"
#include "master/pidfile.h"
#include "master/pool.h"
#include "master/privdrop.h"
#include "master/reports.h"
#include "master/sdnotify.h"
#include "master/stress.h"
#include "master/tally.h"
#include "master/control.h"
#include "master/throttle.h"
#include "master/validate.h"
#include "master/workers.h"

/* Accepts per listener per loop turn: keeps one busy listener from starving the others. */
#define ACCEPT_BATCH 32
/* Addresses whose failed logins are remembered. */
#define THROTTLE_SLOTS 4096

struct master {
	struct config *cfg;
	SSL_CTX *tls;
	struct listener_set ls;
	struct children *kids;
	struct throttle *fails;
	struct stats_writer *stats;
	pid_t pid;                  /* the master's own, for its children's lifeline */
	struct workers workers;
	struct pool pool;           /* reused session processes (server.process_reuse) */
	struct stress stress;
	sigset_t oldmask;
	int sigfd;
	struct reports reports;
	int pidfd;
	int control;                /* control.sock: penalties and lockouts listed and lifted (control.h) */
	char hostname[256];
	bool stopping;
	long long stop_deadline_ms; /* CLOCK_MONOTONIC: the grace is server.shutdown_timeout to the ms */
};

static void set_hostname(struct master *m)
{
	const char *h = conf(m->cfg)->server.hostname;

	if (*h != '\0')
		snprintf(m->hostname, sizeof(m->hostname), "%s", h);
	else if (gethostname(m->hostname, sizeof(m->hostname)) < 0)
		snprintf(m->hostname, sizeof(m->hostname), "localhost");
	m->hostname[sizeof(m->hostname) - 1] = '\0';
}

static void apply_logging(const struct config *cfg)
{
	log_set_level(log_level_from_name(conf(cfg)->server.log_level));
}

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

static void read_reports(struct master *m);

/*
 * enter_session - in a process forked to serve sessions: die with the master, forget its
 * descriptors, and take on the session's identity. Killed with the master, a session loses
 * nothing: a message's client has not had its 250 yet and sends it again, and a mailbox update is
 * safe against a kill at any point.
 */
static void enter_session(struct master *m, const struct listener *l, struct session_ctx *ctx)
{
	if (lifeline_tie(m->pid) < 0)
		_exit(1);
	sigprocmask(SIG_SETMASK, &m->oldmask, NULL);
	signal(SIGPIPE, SIG_IGN);
	setpgid(0, 0); /* the session and its privsep child share a group the master can kill */
	close(m->sigfd);
	close(m->reports.rd);
	close(m->workers.login_rd); /* the lookup worker's end: a session only sends */
	close(m->pidfd);
	if (m->control >= 0)
		close(m->control);
	for (size_t i = 0; i < m->ls.n; i++)
		close(m->ls.v[i].fd);
	pool_close_inherited(&m->pool); /* no session may take another's connections */
	stress_drop_writer(&m->stress);
	stats_forget(); /* and the counters' page was never mapped here (MADV_DONTFORK) */
	ctx->session_pid = getpid();
	stats_report_session(ctx);
	log_set_ident(l->svc->family);
}

/* session_child - a process of its own for one connection: the PROXY header if any, then the service. */
static void session_child(struct master *m, const struct listener *l, struct session_ctx *ctx)
{
	enter_session(m, l, ctx);
	log_set_session(ctx->id);
	if (l->svc->proxy && session_proxy_start(ctx, l->svc->locked_reply) < 0)
		_exit(0);
	_exit(l->svc->main(ctx));
}

/* reused - whether L's connections go to reused processes (server.process_reuse), not one fork each. */
static bool reused(const struct master *m, const struct listener *l)
{
	/* Behind a balancer the session reads the PROXY header with the master's capabilities: one each. */
	return l->svc->reused != NULL && !l->svc->proxy && conf(m->cfg)->server.process_reuse > 0;
}

/* spawn_member - fork a reused session process for L's service, with CTX's connection FD its first. */
static pid_t spawn_member(struct master *m, const struct listener *l, int fd, struct session_ctx *ctx)
{
	int sv[2];
	pid_t pid;

	if (pool_spawn_socket(sv) < 0)
		return -1;
	/* Queued before the fork: the member's first read finds it. */
	if (session_conn_send(sv[0], ctx, fd) < 0 || (pid = fork()) < 0) {
		int err = errno;
		close(sv[0]);
		close(sv[1]);
		errno = err;
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		close(fd);
		ctx->fd = -1;
		ctx->dispatch_fd = sv[1];
		enter_session(m, l, ctx);
		_exit(member_main(ctx, l->svc->reused));
	}
	close(sv[1]);
	if (pool_add(&m->pool, pid, sv[0], l->svc) < 0) {
		close(sv[0]); /* it ends once it has served the connection */
		log_err("reused session table: out of memory; session %ld serves one connection", (long)pid);
	}
	return pid;
}

/* dispatch - CTX's connection FD to an idle reused process of L's service, or to a new one. Its pid, or -1. */
static pid_t dispatch(struct master *m, const struct listener *l, int fd, struct session_ctx *ctx)
{
	struct pool_member *pm;

	for (int pass = 0; pass < 2; pass++) {
		while ((pm = pool_take(&m->pool, l->svc)) != NULL) {
			if (session_conn_send(pm->fd, ctx, fd) == 0)
				return pm->pid;
			pool_drop(pm); /* it ended while idle; it is reaped soon */
		}
		/* A client that reconnects at once often comes before its last session's end is read. */
		if (pass == 0)
			read_reports(m);
	}
	return spawn_member(m, l, fd, ctx);
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
	if (!children_evict(m->kids, &victim))
		return false;
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
	pid_t pid = reused(m, l) ? dispatch(m, l, fd, &ctx) : fork();
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
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
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
static void accept_on(struct master *m, const struct listener *l)
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
		if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
			memset(&local, 0, sizeof(local));
		start_session(m, l, fd, (struct sockaddr *)&peer, (struct sockaddr *)&local);
	}
}

/* session_ended - bookkeeping for a reaped session. */
static void session_ended(struct master *m, const struct child *ch)
{
	stats_begin(m->stats);
	struct stats_counters *c = stats_counters_mut(m->stats);
	c->sessions_active--;
	if (strcmp(ch->svc->family, "pop3") == 0)
		c->pop3_active--;
	else
		c->smtp_active--;
	stats_end(m->stats);
}

static void reap(struct master *m)
{
	pid_t pid;
	int status;
	struct child ch;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool member = pool_reaped(&m->pool, pid);
		if (children_remove(m->kids, pid, &ch)) {
			session_ended(m, &ch);
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
				log_warn("session %ld (session=%s) for %s died of signal %d", (long)pid, ch.sid,
					 ch.ip_text, WTERMSIG(status));
		} else if (!member) {
			(void)workers_reaped(&m->workers, pid, status, m->stopping, time(NULL));
		}
	}
}

/*
 * track_for_make_room - what make_room needs to know of a session: where its transaction stands,
 * and whether its client is one we relay for. A message relayed proves nothing: anybody may send
 * one to <postmaster>. True when R was such a record.
 */
static bool track_for_make_room(struct master *m, const struct session_wire_report *r)
{
	switch (r->event) {
	case SESSION_TXN_BEGIN: children_set_txn(m->kids, r->session_pid, CHILD_TXN_OPEN); return true;
	case SESSION_TXN_HANDOFF: children_set_txn(m->kids, r->session_pid, CHILD_TXN_HANDOFF); return true;
	case SESSION_TXN_END: children_set_txn(m->kids, r->session_pid, CHILD_TXN_NONE); return true;
	case SESSION_CLIENT_KNOWN: children_mark_proven(m->kids, r->session_pid); return true;
	default: return false;
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
static void proxied_client(struct master *m, const struct child *ch, const struct session_wire_report *r)
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

/* conn_done - a reused session process is free again: its session is over. */
static void conn_done(struct master *m, pid_t pid)
{
	struct child ch = { .sid = "-" };

	if (!pool_done(&m->pool, pid, (unsigned)conf(m->cfg)->server.process_reuse, stress_now_ms()))
		return; /* only a reused process can be done and live on */
	if (children_remove(m->kids, pid, &ch))
		session_ended(m, &ch);
	log_debug("session process %ld is done with session=%s", (long)pid, ch.sid);
}

/* on_report - one record from a session (or a worker's relay database error): counters, events, throttle. */
static void on_report(struct master *m, const struct session_wire_report *r)
{
	const struct child *ch = children_find(m->kids, r->session_pid);
	char user[sizeof(r->user)];
	const char *what;

	if (ch == NULL) {
		/* reports_next checked the sender; a session reaped meanwhile is ignored */
		int k = workers_kind_of(&m->workers, r->session_pid);
		if (k >= 0 && r->event == SESSION_RELAYDB_ERROR)
			(void)tally_trouble(m->stats, NULL, k, r);
		return;
	}
	if (r->event == SESSION_CONN_DONE) {
		conn_done(m, r->session_pid);
		return;
	}
	if (tally_trouble(m->stats, ch->svc->name, -1, r))
		return;
	if (r->event == SESSION_PROXY_CLIENT) {
		proxied_client(m, ch, r);
		return;
	}
	if (track_for_make_room(m, r))
		return; /* bookkeeping, not an event worth the admin page */
	memcpy(user, r->user, sizeof(user));
	user[sizeof(user) - 1] = '\0';
	stats_begin(m->stats);
	struct stats_counters *c = stats_counters_mut(m->stats);
	if (r->event == SESSION_AUTH_OK)
		children_mark_proven(m->kids, r->session_pid);
	switch (r->event) {
	case SESSION_AUTH_OK: c->logins_ok++; what = "login ok"; throttle_ok(m->fails, &ch->ip, user); break;
	case SESSION_AUTH_FAIL:
		c->logins_failed++;
		what = "login failed";
		throttle_fail(m->fails, &ch->ip, user, time(NULL));
		break;
	case SESSION_MSG_RELAYED: c->msgs_relayed++; c->hop[STATS_HOP_ACCEPTED]++; what = "relayed"; break;
	case SESSION_MSG_DENIED: c->msgs_denied++; what = "relay denied"; break;
	default: stats_end(m->stats); return;
	}
	stats_end(m->stats);
	stats_add_event(m->stats, ch->svc->name, ch->ip_text, user, what);
}

static void read_reports(struct master *m)
{
	struct session_wire_report r;

	while (reports_next(&m->reports, &r) == 1)
		on_report(m, &r);
}

/* reload - SIGHUP: a new config only if it is valid and every listener binds; else keep the old. */
static void reload(struct master *m)
{
	struct cfg_error err = { "" };
	struct listener_set ls;
	SSL_CTX *tls = NULL;
	struct config *cfg = config_load(config_path(m->cfg), &err);

	/* Growing the session table first: once bound, carried-over sockets live only in LS. */
	if (cfg != NULL && children_reserve(m->kids, (size_t)conf(cfg)->server.max_connections + 16) < 0)
		snprintf(err.msg, sizeof(err.msg), "out of memory for the session table");
	if (cfg == NULL || err.msg[0] != '\0' || master_validate(cfg, &tls, &err) < 0 ||
	    listeners_bind(cfg, &m->ls, &ls, &err) < 0) {
		log_err("reload refused, the running configuration stays in force: %s", err.msg);
		if (tls != NULL)
			SSL_CTX_free(tls);
		config_free(&cfg);
		(void)sdnotify_ready("reload refused, the previous configuration stays in force");
		return;
	}
	listeners_close(&m->ls); /* the ones carried over were taken out of it */
	m->ls = ls;
	if (m->tls != NULL)
		SSL_CTX_free(m->tls);
	m->tls = tls;
	config_free(&m->cfg);
	m->cfg = cfg;
	set_hostname(m);
	apply_logging(cfg);
	privsep_resolve_server_user(cfg);
	workers_stop(&m->workers);
	pool_retire_all(&m->pool); /* they serve with the old configuration */
	log_info("reloaded %s", config_path(cfg));
	(void)sdnotify_ready("serving; configuration reloaded");
}

static void begin_shutdown(struct master *m)
{
	if (m->stopping)
		return;
	(void)sdnotify_stopping();
	m->stopping = true;
	m->stop_deadline_ms = stress_now_ms() + conf(m->cfg)->server.shutdown_timeout * 1000;
	for (size_t i = 0; i < m->ls.n; i++) {
		close(m->ls.v[i].fd);
		m->ls.v[i].fd = -1;
	}
	workers_stop(&m->workers);
	pool_retire_all(&m->pool);
	log_info("shutting down: %zu sessions may run for up to %llds", children_count(m->kids),
		 conf(m->cfg)->server.shutdown_timeout);
}

static void on_signals(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: reap(m); break;
		case SIGHUP:
			if (!m->stopping) {
				(void)sdnotify_reloading();
				reload(m);
			}
			break;
		case SIGTERM: case SIGINT: begin_shutdown(m); break;
		default: break;
		}
	}
}

/* poll_timeout - wake for a due worker restart, the end of a stress episode or the shutdown deadline. */
static int poll_timeout(struct master *m, int restart_in)
{
	long ms = restart_in >= 0 ? restart_in * 1000L + 10 : -1;
	long calm = stress_wake_in(&m->stress);
	long idle = pool_trim(&m->pool, stress_now_ms(), conf(m->cfg)->server.process_idle_timeout * 1000);

	if (calm >= 0 && (ms < 0 || calm < ms))
		ms = calm + 10;
	if (idle >= 0 && (ms < 0 || idle < ms))
		ms = idle + 10;

	if (m->stopping) {
		long left = (long)(m->stop_deadline_ms - stress_now_ms());
		if (left < 0)
			left = 0;
		if (ms < 0 || left < ms)
			ms = left;
		if (ms > 1000 || ms < 0)
			ms = 1000;
	}
	return (int)ms;
}

static int close_fds_for_workers(const struct master *m, int *fds)
{
	/* Not reports.wr: a worker reports its relay database errors there (closed at an exec). */
	fds[0] = m->sigfd;
	fds[1] = m->reports.rd;
	fds[2] = m->pidfd;
	fds[3] = m->control;
	return m->control >= 0 ? 4 : 3;
}

static void loop(struct master *m)
{
	struct pollfd pfd[2 + 256];
	int cfds[4];
	size_t ncfds = (size_t)close_fds_for_workers(m, cfds);

	while (!m->stopping || children_count(m->kids) > 0 || workers_running(&m->workers) > 0) {
		int restart_in = m->stopping ? -1 :
			workers_restart_due(&m->workers, m->cfg, &m->ls, cfds, ncfds, time(NULL));
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = m->reports.rd, .events = POLLIN };
		for (size_t i = 0; i < m->ls.n && n + 1 < sizeof(pfd) / sizeof(pfd[0]); i++)
			pfd[n++] = (struct pollfd){ .fd = m->ls.v[i].svc != NULL ? m->ls.v[i].fd : -1,
						    .events = POLLIN };
		size_t nls = n;
		pfd[n++] = (struct pollfd){ .fd = m->control, .events = POLLIN };
		if (poll(pfd, n, poll_timeout(m, restart_in)) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (pfd[1].revents & POLLIN)
			read_reports(m);
		for (size_t i = 2; i < nls; i++)
			if (pfd[i].revents & POLLIN)
				accept_on(m, &m->ls.v[i - 2]);
		if (pfd[nls].revents & POLLIN)
			control_serve(m->control, m->cfg, m->fails, m->workers.pid[WORKER_ADMIN], time(NULL));
		if (pfd[0].revents & POLLIN)
			on_signals(m);
		stress_settle(&m->stress, m->kids, (size_t)conf(m->cfg)->server.max_connections);
		tally_state(m->stats, &m->stress, &m->workers);
		if (m->stopping && stress_now_ms() >= m->stop_deadline_ms &&
		    (children_count(m->kids) > 0 || workers_running(&m->workers) > 0)) {
			if (children_count(m->kids) > 0)
				log_warn("shutdown: killing %zu sessions still running", children_count(m->kids));
			if (workers_running(&m->workers) > 0)
				log_warn("shutdown: killing %d workers still running", workers_running(&m->workers));
			children_signal(m->kids, SIGKILL);
			workers_kill(&m->workers);
			m->stop_deadline_ms = stress_now_ms() + 5000;
		}
	}
}

/* daemonize - detach from the terminal; the parent exits once the child has its own session. */
static int daemonize(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	null = open("/dev/null", O_RDWR);
	if (null < 0)
		return -1;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	return chdir("/");
}

/* setup_signals - route SIGCHLD, SIGHUP, SIGTERM and SIGINT through a signalfd the loop polls. */
static int setup_signals(struct master *m)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &m->oldmask) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return m->sigfd < 0 ? -1 : 0;
}

/* startup - everything that needs root, in order: pid file, sockets, directories, then the drop. */
static int startup(struct master *m, bool foreground)
{
	struct cfg_error err;
	char what[1024];
	const char *pidpath = conf(m->cfg)->server.pid_file;

	if (master_validate(m->cfg, &m->tls, &err) < 0)
		goto config_error;
	if ((m->pidfd = pidfile_lock(pidpath, err.msg, sizeof(err.msg))) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	if (listeners_bind(m->cfg, NULL, &m->ls, &err) < 0 || master_prepare_dirs(m->cfg, &err) < 0)
		goto config_error;
	if (!foreground && daemonize() < 0) {
		log_err("cannot detach: %s", strerror(errno));
		return 1;
	}
	if (pidfile_write(m->pidfd) < 0)
		log_warn("%s: cannot write the pid: %s", pidpath, strerror(errno));
	/* Still root: the channel's buffers may be sized past the sysctl cap. */
	if (reports_open(&m->reports) < 0) {
		log_err("start-up: the session report channel: %s", strerror(errno));
		return 1;
	}
	if (workers_open(&m->workers) < 0)
		return 1;
	if (master_drop_privileges(m->cfg) < 0)
		return 1;
	m->pid = getpid(); /* after daemonize's fork */
	m->kids = children_new((size_t)conf(m->cfg)->server.max_connections + 16);
	m->fails = throttle_new(THROTTLE_SLOTS);
	m->control = control_open(m->cfg);   /* without it, lockouts cannot be lifted early: logged, not fatal */
	m->stats = stats_create();
	if (m->kids == NULL || m->fails == NULL || m->stats == NULL || stress_init(&m->stress) < 0 ||
	    setup_signals(m) < 0) {
		log_err("start-up: %s", strerror(errno));
		return 1;
	}
	listeners_describe(&m->ls, what, sizeof(what));
	log_info("popgated %s ready on %s", POPGATE_VERSION, what[0] != '\0' ? what : "no listeners");
	return 0;
config_error:
	log_err("%s", err.msg);
	return CFG_EXIT;
}

int master_run(struct config *cfg, bool foreground)
{
	struct master m = { .cfg = cfg, .sigfd = -1, .reports = { .rd = -1, .wr = -1 }, .pidfd = -1, .control = -1,
			    .workers = { .login_rd = -1, .login_wr = -1 } };
	int cfds[4], rc;

	set_hostname(&m);
	apply_logging(cfg);
	privsep_resolve_server_user(cfg);
	rc = startup(&m, foreground);
	if (rc == 0) {
		m.workers.report_fd = m.reports.wr;
		m.workers.pool = &m.pool;
		workers_start_all(&m.workers, m.cfg, &m.ls, cfds,
				  (size_t)close_fds_for_workers(&m, cfds));
		/* Type=notify: the listeners are bound and the workers forked; clients may come. */
		(void)sdnotify_ready("serving");
		loop(&m);
		log_info("popgated stopped");
	}
	pidfile_release(conf(m.cfg)->server.pid_file, m.pidfd);
	listeners_close(&m.ls);
	children_free(&m.kids);
	pool_free(&m.pool);
	throttle_free(&m.fails);
	control_close(m.cfg, m.control);
	stats_free(&m.stats);
	stress_free(&m.stress);
	reports_close(&m.reports);
	workers_close(&m.workers);
	if (m.tls != NULL)
		SSL_CTX_free(m.tls);
	config_free(&m.cfg);
	return rc;
}
