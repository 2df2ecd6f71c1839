/* sessions.c - the process that serves a connection: forked for it, or a reused one from the pool. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/lifeline.h"
#include "common/log.h"
#include "common/session_conn.h"
#include "common/stats.h"
#include "common/stats_report.h"
#include "privsep/member.h"
#include "master/master_int.h"

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
void session_child(struct master *m, const struct listener *l, struct session_ctx *ctx)
{
	enter_session(m, l, ctx);
	log_set_session(ctx->id);
	if (l->svc->proxy && session_proxy_start(ctx, l->svc->locked_reply) < 0)
		_exit(0);
	_exit(l->svc->main(ctx));
}

/* master_reuses - whether L's connections go to reused processes (server.process_reuse), not one fork each. */
bool master_reuses(const struct master *m, const struct listener *l)
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

/* master_dispatch - CTX's connection FD to an idle reused process of L's service, or to a new one. Its pid, or -1. */
pid_t master_dispatch(struct master *m, const struct listener *l, int fd, struct session_ctx *ctx)
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

/* session_ended - bookkeeping for a reaped session. */
void session_ended(struct master *m, const struct child *ch)
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
