/* pop3_owner.c - the monitor's mailbox processes: forked as the mailbox owner, given logins, kept for later ones, their sessions' ends heard. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * After a POP login the monitor (server.user, able to switch users) hands the client to a mailbox
 * process running as the mailbox owner. Forking one per login cost a fork, its page faults and an
 * exit per session (most of the CPU a session spent outside sha512-crypt). In a reused pair the
 * monitor keeps its mailbox processes after their sessions and passes each the next login whose
 * uid, gid and groups are the same; pop3.mailbox_process_idle without one ends it.
 *
 * In a reused pair the monitor also lets a plain session go on without it: once the client is
 * the mailbox process's, the monitor tells the master it is free (SESSION_CONN_PASSED) and takes
 * the next connection, and hears the session's end in its watch (monitor_watch.h) wherever it
 * waits. An idle logged-in client then holds one process, not three. A TLS session stays attached:
 * its protocol child relays it to the end.
 *
 * What a kept process may see: only later sessions of its own uid, whose mailboxes and index it
 * can already read and write; never a password (checked by the protocol child, the monitor and the
 * auth worker), nor a channel to the protocol child, the master, the workers or the monitor's
 * other mailbox processes. Between sessions it keeps nothing: its connection closed, its mailbox
 * closed and unlocked, its session wiped.
 *
 *   monitor --socketpair: owner_session + client socket (SCM_RIGHTS) + unread input--> mailbox process
 *   monitor <--owner_done (exit status of the session)-- mailbox process, once the client is closed
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/session_conn.h"
#include "pop3d/pop3_int.h"
#include "pop3d/pop3_limits.h"
#include "pop3d/pop3_owner_wire.h"
#include "privsep/monitor_watch.h"

/*
 * The most mailbox processes a monitor keeps, serving or idle: the watch polls them all. At most
 * one fewer serve sessions passed on, so an attached session always finds a slot; a monitor that
 * has passed that many serves the next one attached, and the master forks another pair meanwhile.
 */
#define OWNER_PROCS MONITOR_WATCH_MAX

/* Monitor side: a mailbox process it keeps, and the session it serves. */
struct owner_proc {
	pid_t pid;               /* 0: a free slot */
	int chan;
	uid_t uid;
	gid_t gid;
	long mail_gid;           /* pop3_mail_gid's group, or -1 */
	bool busy;               /* serving a session */
	bool passed;             /* ... which the monitor let go on: its end is heard in the watch */
	int64_t idle_since;      /* mono_ms() when it became idle */
	/* A session passed on, for its end (pop3_session_end.c). */
	char id[LOG_SESSION_ID_MAX];
	char client_ip[IP_TEXT_MAX];
	char user[AUTH_NAME_MAX];
	const char *proto;
	time_t logged_in;
};

static struct owner_proc procs[OWNER_PROCS];
static struct session_ctx *monitor_ctx; /* the monitor's: its reports and login records */

/* ---- the monitor's side -------------------------------------------------------------------------- */

/* same_credentials - whether PR runs with the uid, gid and groups (MAIL_GID) USER's session needs. */
static bool same_credentials(const struct owner_proc *pr, const struct auth_user *user, long mail_gid)
{
	return pr->uid == user->uid && pr->gid == user->gid && pr->mail_gid == mail_gid;
}

/* gone_while_idle - an idle mailbox process writes nothing: anything to read, or the end, means it is gone. */
static bool gone_while_idle(const struct owner_proc *pr)
{
	struct pollfd pfd = { .fd = pr->chan, .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;
}

/* end_proc - close PR's channel and reap it; KILL it at once when it lied or broke. The slot is free after. */
static void end_proc(struct owner_proc *pr, bool kill_first)
{
	close(pr->chan);
	/* A well-behaved process exits at the channel's end; one that does not is not waited for long. */
	(void)session_reap_within(pr->pid, kill_first ? 0 : POP3_OWNER_EXIT_MS);
	explicit_bzero(pr, sizeof(*pr));
	pr->chan = -1;
}

/* wipe_session - forget who PR's session passed on is: a user, an address, an id. */
static void wipe_session(struct owner_proc *pr)
{
	explicit_bzero(pr->id, sizeof(pr->id));
	explicit_bzero(pr->client_ip, sizeof(pr->client_ip));
	explicit_bzero(pr->user, sizeof(pr->user));
}

/* keeps - whether a process whose session ended with STATUS is kept for the next login. */
static bool keeps(int status)
{
	/* A pair that serves no other connection (or no longer: its end) has no later login to keep it for. */
	return status == 0 && monitor_ctx->dispatch_fd >= 0 && conf(monitor_ctx->cfg)->pop3.mailbox_process_idle > 0;
}

/* session_over - PR's session ended with STATUS: keep the process idle, or end it. */
static void session_over(struct owner_proc *pr, int status)
{
	if (pr->passed)
		wipe_session(pr); /* who it was is not for later forks to see */
	pr->busy = pr->passed = false;
	if (!keeps(status)) {
		end_proc(pr, false); /* it exits after a failed session anyway */
		return;
	}
	pr->idle_since = mono_ms();
}

/* recv_done - PR's word that its session is over: its status, or -1 when it lied or died (then it is killed). */
static int recv_done(struct owner_proc *pr)
{
	struct owner_done done;
	struct ipc_frame f;

	if (ipc_recv(pr->chan, &done, sizeof(done), IPC_SEQPACKET, IPC_FOREVER, &f) != 1 || f.type != IPC_OWNER_DONE ||
	    f.len != sizeof(done))
		return -1;
	return done.status != 0;
}

/* passed_over - the end of a session passed on: tell the master, record the authorization, keep or end PR. */
static void passed_over(struct owner_proc *pr)
{
	char current[LOG_SESSION_ID_MAX];
	int status = recv_done(pr);

	/* Before it may be reaped, the master knows it by its pid; and before the record, which may wait. */
	if (session_conn_tell(monitor_ctx, SESSION_PASSED_DONE, pr->pid) < 0)
		log_err("reused session: cannot tell the master a session is over: %s", strerror(errno));
	log_get_session(current); /* the connection being served now, if any, keeps its id */
	log_set_session(pr->id);
	if (status < 0)
		log_session(LOG_ERR, pr->proto, pr->client_ip, pr->user, "mailbox process gone", NULL);
	pop3_record_end(monitor_ctx, pr->client_ip, pr->user, pr->proto, pr->logged_in);
	log_set_session(current);
	if (status < 0)
		end_proc(pr, true);
	else
		session_over(pr, status);
}

/* ---- the watch: sessions passed on, processes idle ---- */

static int watch_fill(struct pollfd *fds)
{
	int n = 0;

	/*
	 * Not the session passed on just now until the master has been told (member.c clears
	 * ctx->passed_pid then): its end must not reach the master before its passing.
	 */
	for (size_t i = 0; i < OWNER_PROCS; i++)
		if (procs[i].pid > 0 && procs[i].passed && procs[i].pid != monitor_ctx->passed_pid)
			fds[n++] = (struct pollfd){ .fd = procs[i].chan, .events = POLLIN };
	return n;
}

static void watch_ready(const struct pollfd *fds, int n)
{
	for (int k = 0; k < n; k++) {
		if (fds[k].revents == 0)
			continue;
		for (size_t i = 0; i < OWNER_PROCS; i++)
			if (procs[i].pid > 0 && procs[i].passed && procs[i].chan == fds[k].fd) {
				passed_over(&procs[i]);
				break;
			}
	}
}

/* idle_due - when idle PR is due to end, in mono_ms(). */
static int64_t idle_due(const struct owner_proc *pr)
{
	return pr->idle_since + (int64_t)conf(monitor_ctx->cfg)->pop3.mailbox_process_idle * 1000;
}

static int watch_due_ms(void)
{
	int64_t now = mono_ms(), next = -1;

	for (size_t i = 0; i < OWNER_PROCS; i++)
		if (procs[i].pid > 0 && !procs[i].busy) {
			int64_t left = idle_due(&procs[i]) - now;
			if (left < 0)
				left = 0;
			if (next < 0 || left < next)
				next = left;
		}
	return next > INT_MAX ? INT_MAX : (int)next;
}

static void watch_expire(void)
{
	int64_t now = mono_ms();

	for (size_t i = 0; i < OWNER_PROCS; i++)
		if (procs[i].pid > 0 && !procs[i].busy && idle_due(&procs[i]) <= now)
			end_proc(&procs[i], false);
}

static const struct monitor_watch owner_watch = {
	.fill = watch_fill, .ready = watch_ready, .due_ms = watch_due_ms, .expire = watch_expire,
};

/* ---- a login ---- */

/* take_idle - an idle process for USER's credentials, or NULL; idle ones found gone are let go. */
static struct owner_proc *take_idle(const struct auth_user *user, long mail_gid)
{
	for (size_t i = 0; i < OWNER_PROCS; i++) {
		struct owner_proc *pr = &procs[i];
		if (pr->pid <= 0 || pr->busy || !same_credentials(pr, user, mail_gid))
			continue;
		if (!gone_while_idle(pr))
			return pr;
		end_proc(pr, false);
	}
	return NULL;
}

/* free_slot - a slot for a new process: a free one, else the one idle longest, ended. NULL when all serve. */
static struct owner_proc *free_slot(void)
{
	struct owner_proc *oldest = NULL;

	for (size_t i = 0; i < OWNER_PROCS; i++) {
		struct owner_proc *pr = &procs[i];
		if (pr->pid <= 0)
			return pr;
		if (!pr->busy && (oldest == NULL || pr->idle_since < oldest->idle_since))
			oldest = pr;
	}
	if (oldest != NULL)
		end_proc(oldest, false);
	return oldest;
}

/* passed_count - sessions passed on and not over. */
static size_t passed_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < OWNER_PROCS; i++)
		n += procs[i].pid > 0 && procs[i].passed;
	return n;
}

/*
 * forget_others - in a new mailbox process: close the monitor's channels to the others, and wipe
 * who the sessions passed on are (a user, an address). Only those slots: wiping the whole table
 * would dirty pages an idle process otherwise shares with the monitor.
 */
static void forget_others(void)
{
	for (size_t i = 0; i < OWNER_PROCS; i++) {
		struct owner_proc *pr = &procs[i];
		if (pr->pid <= 0)
			continue;
		close(pr->chan);
		if (pr->passed)
			wipe_session(pr);
	}
	monitor_watch_set(NULL);
	monitor_ctx = NULL;
}

/* spawn - fork a mailbox process for USER into PR, with MAIL_GID among its groups unless -1. 0, or -1. */
static int spawn(struct owner_proc *pr, struct pop3 *p, const struct auth_user *user, long mail_gid,
		 pop3_serve_fn serve)
{
	struct pop3_groups groups;
	pid_t monitor = getpid(), pid;
	int sv[2];

	if (pop3_user_groups(user, mail_gid, &groups) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		pop3_groups_free(&groups);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		pop3_groups_free(&groups);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		forget_others(); /* the monitor's other mailbox processes and their sessions are none of its business */
		_exit(pop3_owner_main(p, user, &groups, sv[1], monitor, serve));
	}
	pop3_groups_free(&groups);
	close(sv[1]);
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	pr->chan = sv[0];
	pr->uid = user->uid;
	pr->gid = user->gid;
	pr->mail_gid = mail_gid;
	return 0;
}

/* pass - P's client, its unread input and USER's session to PR. 0 or -1. */
static int pass(struct owner_proc *pr, struct pop3 *p, const struct auth_user *user, const char *index_dir)
{
	static char pending[LIO_INBUF];
	struct owner_session s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.tls = p->tls;
	s.deadline = (int64_t)p->deadline;
	snprintf(s.id, sizeof(s.id), "%s", p->ctx->id);
	snprintf(s.client_ip, sizeof(s.client_ip), "%s", p->ctx->client_ip);
	snprintf(s.index_dir, sizeof(s.index_dir), "%s", index_dir);
	s.user = *user;
	s.pending = (uint32_t)lio_take_input(p->lio, pending, sizeof(pending));
	struct iovec iov[2] = { { &s, sizeof(s) }, { pending, s.pending } };
	rc = ipc_sendv(pr->chan, IPC_OWNER_SESSION, iov, 2, lio_fd(p->lio), IPC_FOREVER);
	explicit_bzero(pending, s.pending);
	explicit_bzero(&s, sizeof(s));
	return rc;
}

/* may_pass - whether P's session may go on without the monitor (see the top of this file). */
static bool may_pass(const struct pop3 *p)
{
	return p->ctx->dispatch_fd >= 0 && p->ctx->report_fd >= 0 && !p->tls && passed_count() < OWNER_PROCS - 1;
}

/* let_go - PR serves P's session on its own: what its end needs is noted, the master told by the caller. */
static void let_go(struct owner_proc *pr, const struct pop3 *p, time_t logged_in)
{
	pr->passed = true;
	snprintf(pr->id, sizeof(pr->id), "%s", p->ctx->id);
	snprintf(pr->client_ip, sizeof(pr->client_ip), "%s", p->ctx->client_ip);
	snprintf(pr->user, sizeof(pr->user), "%s", p->username);
	pr->proto = p->proto;
	pr->logged_in = logged_in;
	p->ctx->passed_pid = pr->pid;
}

/* wait_done - an attached session's end as PR tells it, hearing those passed on meanwhile; its status. */
static int wait_done(struct owner_proc *pr)
{
	int status;

	monitor_wait(pr->chan, true); /* the session's client may idle for minutes, and the monitor with it */
	if ((status = recv_done(pr)) < 0) {
		end_proc(pr, true);
		return 1;
	}
	session_over(pr, status);
	return status;
}

int pop3_owner_serve(struct pop3 *p, const struct auth_user *user, const char *index_dir, time_t logged_in,
		     pop3_serve_fn serve)
{
	/* Once a login: the same answer decides a kept process's fitness and a new one's groups. */
	long mail_gid = pop3_mail_gid(user);
	struct owner_proc *pr;

	monitor_ctx = p->ctx;
	monitor_watch_set(&owner_watch);
	if ((pr = take_idle(user, mail_gid)) == NULL &&
	    ((pr = free_slot()) == NULL || spawn(pr, p, user, mail_gid, serve) < 0)) {
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "fork failed", "%s",
			    pr == NULL ? "no room for another mailbox process" : strerror(errno));
		if (pop3_reply(p, "%s", "-ERR [SYS/TEMP] Cannot start the session, try again later") == POP3_CONTINUE)
			(void)lio_flush(p->lio);
		return 1;
	}
	if (pass(pr, p, user, index_dir) < 0) {
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "mailbox process gone", "%s",
			    strerror(errno));
		end_proc(pr, true);
		return 1;
	}
	/* The client is the mailbox process's alone: its end must close the connection. */
	lio_free(&p->lio);
	pr->busy = true;
	if (may_pass(p)) {
		let_go(pr, p, logged_in);
		return 0;
	}
	return wait_done(pr);
}

void pop3_owner_forget(void)
{
	for (size_t i = 0; i < OWNER_PROCS; i++) {
		if (procs[i].pid > 0)
			close(procs[i].chan);
		explicit_bzero(&procs[i], sizeof(procs[i]));
	}
	monitor_watch_set(NULL);
	monitor_ctx = NULL;
}

void pop3_owner_release(void)
{
	for (size_t i = 0; i < OWNER_PROCS; i++)
		if (procs[i].pid > 0 && !procs[i].busy)
			end_proc(&procs[i], false);
}
