/* pop3_session.c - one POP3 connection from fork to exit, across the privilege split. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * One POP3 connection from fork to exit: the privilege split, the pre-login
 * protocol child, and the monitor that becomes the post-login process as the mailbox owner.
 *
 *   session process (root, or server.user with the master's capabilities)
 *     |--privsep_fork--> protocol child (server.user, no capabilities): TLS, greeting, AUTHORIZATION
 *     |  monitor: checks credentials sent over the channel (privsep_serve)
 *     v  after a login: index dir, become the user, take the connection over, TRANSACTION, UPDATE
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "pop3d/pop3.h"
#include "pop3d/pop3_int.h"

/* protocol_child - the unprivileged side: everything up to a successful login, then the handover. */
static int protocol_child(struct pop3 *p)
{
	enum pop3_outcome o;
	int rc = 0;

	p->lio = lio_new(p->ctx->fd);
	if (p->lio == NULL) {
		log_err("pop3: cannot set up the connection: %s", strerror(errno));
		close(p->ctx->fd);
		privsep_free(&p->ps);
		return 1;
	}
	o = pop3_prelogin(p);
	if (o == POP3_LOGIN) {
		/* Replies to pipelined commands before the login must precede the post-login greeting. */
		if (lio_flush(p->lio) < 0 || privsep_handover(p->ps, p->lio) < 0)
			rc = 1;
	}
	explicit_bzero(&p->login, sizeof(p->login));
	lio_free(&p->lio);
	privsep_free(&p->ps);
	return rc;
}

/* reap - wait for the protocol child; KILL it first when the channel broke (it may be hostile). */
static void reap(struct pop3 *p, bool kill_first)
{
	(void)session_reap(privsep_child_pid(p->ps), kill_first ? SIGKILL : 0);
}

/* fail - a system error after login: tell the client why in RFC 3206 terms and log it once. */
static int fail(struct pop3 *p, const char *reply, const char *event)
{
	log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, event, NULL);
	if (pop3_reply(p, "%s", reply) == POP3_CONTINUE)
		(void)lio_flush(p->lio);
	return 1;
}

/* take_connection - the client as handed over by the child, bounded in time (the child is not trusted). */
static struct lio *take_connection(struct pop3 *p)
{
	struct timeval tv = { .tv_sec = cfg_duration(p->ctx->cfg, "pop3.idle_timeout") };
	struct lio *lio;

	(void)setsockopt(privsep_channel(p->ps), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	lio = privsep_take_connection(p->ps);
	if (lio == NULL)
		return NULL;
	/* A TLS session stays with the child, which proxies it: the channel itself became the connection. */
	if (privsep_channel(p->ps) < 0) {
		p->tls = true;
		p->proto = "pop3s";
	}
	lio_set_timeout(lio, (int)cfg_duration(p->ctx->cfg, "pop3.idle_timeout"));
	lio_set_deadline(lio, p->deadline);
	return lio;
}

/* serve_mailbox - the mailbox process, as the owner: open the maildrop, TRANSACTION, UPDATE. */
static int serve_mailbox(struct pop3 *p, const struct auth_user *user, const char *index_dir)
{
	struct mailbox *mb = NULL;
	enum mailbox_status st;
	enum pop3_outcome o;

	st = mailbox_open(user->mailbox, index_dir, &mb);
	if (st != MAILBOX_OK) {
		log_session(st == MAILBOX_IN_USE ? LOG_NOTICE : LOG_ERR, p->proto, p->ctx->client_ip, p->username,
			    "mailbox open failed", "%s", mailbox_status_name(st));
		if (pop3_reply(p, "%s", pop3_mailbox_error(st)) == POP3_CONTINUE)
			(void)lio_flush(p->lio);
		return st == MAILBOX_IN_USE ? 0 : 1;
	}
	o = pop3_transaction(p, mb);
	mailbox_close(&mb);
	(void)o; /* QUIT and a dropped client both end here; the log already says which */
	return 0;
}

/* post_login - the monitor after a successful check: the index dir, then the mailbox process as USER. */
static int post_login(struct pop3 *p, const struct auth_user *user)
{
	char index_dir[PATH_MAX];

	p->username = user->name;
	p->lio = take_connection(p);
	if (p->lio == NULL)
		return 1;
	if (pop3_index_dir(p->ctx->cfg, user->uid, user->gid, index_dir, sizeof(index_dir)) < 0)
		return fail(p, "-ERR [SYS/TEMP] Cannot prepare the mailbox index, try again later", "index dir failed");
	return pop3_serve_as_owner(p, user, index_dir, serve_mailbox);
}

/* monitor - the privileged side: serve credential checks, then run the post-login phase. */
static int monitor(struct pop3 *p)
{
	struct auth_user user;
	int rc, served;

	/* The monitor never touches the network; the child holds the client. */
	close(p->ctx->fd);
	p->ctx->fd = -1;
	memset(&user, 0, sizeof(user));
	served = privsep_serve(p->ps, true, &user);
	if (served != 1) {
		reap(p, served < 0);
		privsep_free(&p->ps);
		return served == 0 ? 0 : 1;
	}
	rc = post_login(p, &user);
	lio_free(&p->lio); /* with TLS, closing the channel ends the child's proxy */
	reap(p, false);
	privsep_free(&p->ps);
	explicit_bzero(&user, sizeof(user));
	return rc;
}

int pop3_session_main(struct session_ctx *ctx)
{
	static struct pop3 p; /* one session per process; static keeps the buffers off the stack */
	int rc;

	memset(&p, 0, sizeof(p));
	signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2): a vanished client must not kill us */
	p.ctx = ctx;
	p.proto = ctx->implicit_tls ? "pop3s" : "pop3";
	p.deadline = lio_now() + cfg_duration(ctx->cfg, "pop3.session_timeout");
	/* The secrets file is readable only here, before the split. */
	p.apop = cfg_bool(ctx->cfg, "pop3.apop") && auth_apop_available(ctx->cfg);
	rc = privsep_fork(ctx, &p.ps);
	if (rc < 0) {
		session_fork_failed(ctx, "protocol child");
		return 1;
	}
	return rc == 0 ? protocol_child(&p) : monitor(&p);
}
