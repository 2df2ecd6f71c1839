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
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "privsep/member.h"
#include "pop3d/pop3.h"
#include "pop3d/pop3_int.h"

/*
 * prelogin - the unprivileged side of one connection: everything up to a successful login, then
 * the handover (and with TLS the relay to the session's end). 0, or 1 when the connection could
 * not be set up or handed over.
 */
static int prelogin(struct pop3 *p)
{
	enum pop3_outcome o;
	int rc = 0;

	p->lio = lio_new(p->ctx->fd);
	if (p->lio == NULL) {
		log_err("pop3: cannot set up the connection: %s", strerror(errno));
		close(p->ctx->fd);
		p->ctx->fd = -1;
		return 1;
	}
	p->ctx->fd = -1; /* the lio owns it now */
	o = pop3_prelogin(p);
	if (o == POP3_LOGIN) {
		/* Replies to pipelined commands before the login must precede the post-login greeting. */
		if (lio_flush(p->lio) < 0 || privsep_handover(p->ps, p->lio) < 0)
			rc = 1;
	}
	lio_free(&p->lio);
	return rc;
}

/* protocol_child - the unprivileged side of a connection served by a process of its own. */
static int protocol_child(struct pop3 *p)
{
	int rc = prelogin(p);

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
	struct lio *lio;

	/* idle_timeout is at most a day (keys_pop3.c): its milliseconds fit an int. */
	lio = privsep_take_connection(p->ps, ipc_deadline((int)(conf(p->ctx->cfg)->pop3.idle_timeout * 1000)));
	if (lio == NULL)
		return NULL;
	/* A TLS session stays with the child, which relays it in clear. */
	if (privsep_tls_proxied(p->ps)) {
		p->tls = true;
		p->proto = "pop3s";
	}
	lio_set_timeout(lio, (int)conf(p->ctx->cfg)->pop3.idle_timeout);
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

/*
 * monitor_one - the privileged side of one connection: serve credential checks, then the
 * post-login phase. 0 or 1 (the exit status of a session of its own); *SERVED is privsep_serve's.
 */
static int monitor_one(struct pop3 *p, int *served)
{
	struct auth_user user;
	int rc;

	memset(&user, 0, sizeof(user));
	*served = privsep_serve(p->ps, true, &user);
	if (*served != 1)
		return *served == 0 ? 0 : 1;
	rc = post_login(p, &user);
	lio_free(&p->lio); /* with TLS, closing the channel ends the child's proxy */
	explicit_bzero(&user, sizeof(user));
	return rc;
}

/* monitor - the privileged side of a connection served by a process of its own. */
static int monitor(struct pop3 *p)
{
	int served, rc;

	/* The monitor never touches the network; the child holds the client. */
	close(p->ctx->fd);
	p->ctx->fd = -1;
	rc = monitor_one(p, &served);
	reap(p, served < 0);
	privsep_free(&p->ps);
	return rc;
}

/* start - a connection's state afresh: nothing of the last client's is left in P. */
static void start(struct pop3 *p, struct session_ctx *ctx, struct privsep *ps, bool apop)
{
	explicit_bzero(p, sizeof(*p));
	p->ctx = ctx;
	p->ps = ps;
	p->proto = ctx->implicit_tls ? "pop3s" : "pop3";
	p->deadline = lio_now() + conf(ctx->cfg)->pop3.session_timeout;
	p->apop = apop;
}

/* apop_available - whether to offer APOP; the secrets file is readable only before the split. */
static bool apop_available(const struct session_ctx *ctx)
{
	return conf(ctx->cfg)->pop3.apop && auth_apop_available(ctx->cfg);
}

int pop3_session_main(struct session_ctx *ctx)
{
	static struct pop3 p; /* one session per process; static keeps the buffers off the stack */
	struct privsep *ps = NULL;
	bool apop = apop_available(ctx);
	int rc;

	signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2): a vanished client must not kill us */
	rc = privsep_fork(ctx, &ps);
	if (rc < 0) {
		session_fork_failed(ctx, "protocol child");
		return 1;
	}
	start(&p, ctx, ps, apop);
	return rc == 0 ? protocol_child(&p) : monitor(&p);
}

void pop3_preload(void)
{
	mailbox_preload();
}

/* A reused pair's parts (server.process_reuse). */
static struct pop3 reused;
static bool reused_apop;

static void reused_prepare(struct session_ctx *ctx)
{
	signal(SIGPIPE, SIG_IGN);
	reused_apop = apop_available(ctx);
}

static enum member_next reused_child_serve(struct session_ctx *ctx, struct privsep *ps)
{
	int rc;

	start(&reused, ctx, ps, reused_apop);
	rc = prelogin(&reused);
	explicit_bzero(&reused, sizeof(reused));
	return rc == 0 ? MEMBER_AGAIN : MEMBER_BROKEN;
}

static enum member_next reused_monitor_serve(struct session_ctx *ctx, struct privsep *ps)
{
	int served;

	start(&reused, ctx, ps, reused_apop);
	(void)monitor_one(&reused, &served);
	explicit_bzero(&reused, sizeof(reused));
	if (served < 0)
		return MEMBER_BROKEN;
	if (served == 0)
		return MEMBER_AGAIN;
	/* The child handed the connection over and, once its TLS relay if any ended, said it was done. */
	return privsep_serve(ps, false, NULL) == 0 && !privsep_child_gone(ps) ? MEMBER_AGAIN : MEMBER_BROKEN;
}

const struct member_service pop3_member_service = {
	.prepare = reused_prepare,
	.child_serve = reused_child_serve,
	.monitor_serve = reused_monitor_serve,
	.monitor_idle = pop3_owner_release,
	.child_forget = pop3_owner_forget,
};
