/* pop3_owner.c - the mailbox process: forked by the monitor as the mailbox owner, kept for the next login with the same credentials. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * After a POP login the monitor (server.user, able to switch users) hands the client to a mailbox
 * process running as the mailbox owner. Forking one per login cost a fork, its page faults and an
 * exit per session (most of the CPU a session spent outside sha512-crypt). In a reused pair the
 * monitor keeps the mailbox process after the session and passes it the next login whose uid, gid
 * and groups are the same; any other login, or pop3.mailbox_process_idle without one, ends it.
 *
 * What a kept process may see: only later sessions of its own uid, whose mailboxes and index it
 * can already read and write; never a password (checked by the protocol child, the monitor and the
 * auth worker), nor a channel to the protocol child, the master or the workers. Between sessions
 * it keeps nothing: its connection closed, its mailbox closed and unlocked, its session wiped.
 *
 *   monitor --socketpair: owner_session + client socket (SCM_RIGHTS) + unread input--> mailbox process
 *   monitor <--owner_done (exit status of the session)-- mailbox process, once the client is closed
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/memtrim.h"
#include "common/session_conn.h"
#include "pop3d/pop3_int.h"
#include "pop3d/pop3_limits.h"
#include "relaydb/login_channel.h"

/* One session for the mailbox process; the client's socket rides along, its unread input follows. */
struct owner_session {
	uint32_t tls;            /* the socket is the protocol child's relay of a TLS session */
	uint32_t pending;        /* bytes of unread client input after this record */
	int64_t deadline;        /* pop3.session_timeout, monotonic (lio_now) */
	char id[LOG_SESSION_ID_MAX];
	char client_ip[IP_TEXT_MAX];
	char index_dir[PATH_MAX];
	struct auth_user user;
};

/* The mailbox process's word that the session is over and its client closed. */
struct owner_done {
	int32_t status;          /* the session's exit status; not 0: the process exits after it */
};

/* Monitor side: the mailbox process kept for the next login with the same credentials. */
static struct {
	pid_t pid;               /* -1 when none */
	int chan;
	uid_t uid;
	gid_t gid;
	long mail_gid;           /* pop3_mail_gid's group, or -1 */
	const struct config *cfg;
} kept = { .pid = -1, .chan = -1 };

/* ---- the mailbox process ---------------------------------------------------------------------- */

/* forget_client - nothing in CTX of the client served last, nor of the monitor's client at the fork. */
static void forget_client(struct session_ctx *ctx)
{
	ctx->fd = -1;
	memset(&ctx->client, 0, sizeof(ctx->client));
	memset(ctx->client_ip, 0, sizeof(ctx->client_ip));
	memset(ctx->local_ip, 0, sizeof(ctx->local_ip));
	ctx->client_port = ctx->local_port = 0;
	ctx->recent_auth_failures = 0;
	explicit_bzero(ctx->penalties, sizeof(ctx->penalties));
	ctx->npenalties = 0;
	memset(ctx->id, 0, sizeof(ctx->id));
	log_set_session(NULL);
}

/* A session record as it comes: the record, then the client's unread input. */
struct owner_frame {
	struct owner_session s;
	char pending[LIO_INBUF];
};

/* recv_session - the next session from the monitor into IN: 1 with *FD, 0 when the monitor let go, -1. */
static int recv_session(int chan, struct owner_frame *in, int *fd)
{
	struct owner_session *s = &in->s;
	struct ipc_frame f;
	int got = ipc_recv(chan, in, sizeof(*in), IPC_FD_MUST | IPC_SEQPACKET, IPC_FOREVER, &f);

	*fd = -1;
	if (got <= 0) {
		if (got < 0)
			log_err("pop3: a malformed session record from the monitor: %s",
				f.why != NULL ? f.why : strerror(errno));
		return got;
	}
	*fd = f.fd;
	if (f.type != IPC_OWNER_SESSION || f.len < sizeof(*s) || s->pending != f.len - sizeof(*s)) {
		log_err("pop3: a malformed session record from the monitor");
		close(*fd);
		*fd = -1;
		return -1;
	}
	s->id[sizeof(s->id) - 1] = '\0';
	s->client_ip[sizeof(s->client_ip) - 1] = '\0';
	s->index_dir[sizeof(s->index_dir) - 1] = '\0';
	s->user.name[sizeof(s->user.name) - 1] = '\0';
	s->user.mailbox[sizeof(s->user.mailbox) - 1] = '\0';
	return 1;
}

/* refuse - tell the client this process cannot serve it (it is not, or could not become, the owner). */
static int refuse(struct pop3 *p, const char *event, const char *reply)
{
	log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, event, NULL);
	if (pop3_reply(p, "%s", reply) == POP3_CONTINUE)
		(void)lio_flush(p->lio);
	return 1;
}

/* serve_session - one session as the owner, on the socket FD with PENDING input first; exit status. */
static int serve_session(struct session_ctx *ctx, const struct owner_session *s, const char *pending, int fd,
			 bool owner, pop3_serve_fn serve)
{
	static struct pop3 p; /* static keeps the line buffer off the stack; wiped after each session */
	int rc;

	explicit_bzero(&p, sizeof(p));
	ctx->fd = -1;
	memcpy(ctx->id, s->id, sizeof(ctx->id));
	memcpy(ctx->client_ip, s->client_ip, sizeof(ctx->client_ip));
	log_set_session(ctx->id);
	p.ctx = ctx;
	p.tls = s->tls != 0;
	p.proto = p.tls ? "pop3s" : "pop3";
	p.deadline = (time_t)s->deadline;
	p.username = s->user.name;
	if ((p.lio = lio_adopt(fd)) == NULL) {
		log_err("pop3: cannot set up the connection: %s", strerror(errno));
		close(fd);
		return 1;
	}
	lio_set_timeout(p.lio, (int)conf(ctx->cfg)->pop3.idle_timeout);
	lio_set_deadline(p.lio, p.deadline);
	if (lio_preload(p.lio, pending, s->pending) < 0)
		rc = 1;
	else if (!owner)
		rc = refuse(&p, "setuid failed", "-ERR [SYS/TEMP] Cannot switch to the mailbox owner");
	else if (s->user.uid != geteuid() || s->user.gid != getegid())
		rc = refuse(&p, "wrong mailbox process", "-ERR [SYS/TEMP] Mailbox temporarily unavailable");
	else
		rc = serve(&p, &s->user, s->index_dir);
	lio_free(&p.lio); /* the client's end: QUIT's reply is out, the connection closes here */
	explicit_bzero(&p, sizeof(p));
	return rc;
}

/* owner_loop - serve the sessions the monitor passes until it lets go or one fails; exit status. */
static int owner_loop(struct session_ctx *ctx, int chan, bool owner, pop3_serve_fn serve)
{
	static struct owner_frame in;
	struct owner_done done = { 0 };
	int fd, got;

	while ((got = recv_session(chan, &in, &fd)) == 1) {
		done.status = serve_session(ctx, &in.s, in.pending, fd, owner, serve);
		/*
		 * Nothing of this session may reach the next: not its client, its user, its input. Only
		 * what the record filled: the rest of the 16 KB input room was never written, and wiping
		 * it would dirty four pages an idle process never uses.
		 */
		explicit_bzero(&in, sizeof(in.s) + in.s.pending);
		forget_client(ctx);
		if (ipc_send(chan, IPC_OWNER_DONE, &done, sizeof(done), -1, IPC_FOREVER) < 0 || done.status != 0)
			return done.status != 0;
	}
	return got < 0;
}

/*
 * owner_main - the new mailbox process: let go of everything the monitor holds that a less trusted
 * process must not (the channels to the protocol child, the master and the workers, the monitor's
 * copy of the client), become USER, tied to the monitor's life, and serve; exit status.
 */
static int owner_main(struct pop3 *p, const struct auth_user *user, long mail_gid, int chan, pid_t monitor,
		      pop3_serve_fn serve)
{
	struct session_ctx *ctx = p->ctx;
	bool owner;

	lio_free(&p->lio); /* the client comes over CHAN, as every later one */
	/* A later client's password check passes on the protocol child's channel: never ours to read. */
	if (p->ps != NULL)
		close(privsep_channel(p->ps));
	session_drop_channels(ctx); /* no reports to the master, no login records: the monitor's to do */
	relay_login_forget();       /* nor the monitor's answer pair for them */
	auth_client_forget();       /* nor asking the auth worker: it checks passwords for monitors only */
	forget_client(ctx);
	owner = pop3_become_user(user, mail_gid) == 0;
	explicit_bzero(p, sizeof(*p));
	/* After the uid change, which clears it: a monitor killed at shutdown takes the process along. */
	if (owner && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor))
		return 1;
	return owner_loop(ctx, chan, owner, serve);
}

/* ---- the monitor's side -------------------------------------------------------------------------- */

/* same_credentials - whether the kept process runs with the uid, gid and groups (MAIL_GID) USER's session needs. */
static bool same_credentials(const struct auth_user *user, long mail_gid)
{
	return kept.uid == user->uid && kept.gid == user->gid && kept.mail_gid == mail_gid;
}

/* gone_while_idle - an idle mailbox process writes nothing: anything to read, or the end, means it is gone. */
static bool gone_while_idle(void)
{
	struct pollfd pfd = { .fd = kept.chan, .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;
}

/* spawn - fork a mailbox process for USER, with MAIL_GID among its groups unless -1, and keep it. 0, or -1. */
static int spawn(struct pop3 *p, const struct auth_user *user, long mail_gid, pop3_serve_fn serve)
{
	pid_t monitor = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(owner_main(p, user, mail_gid, sv[1], monitor, serve));
	}
	close(sv[1]);
	kept.pid = pid;
	kept.chan = sv[0];
	kept.uid = user->uid;
	kept.gid = user->gid;
	kept.mail_gid = mail_gid;
	kept.cfg = p->ctx->cfg;
	return 0;
}

/* pass - P's client, its unread input and USER's session to the kept process. 0 or -1. */
static int pass(struct pop3 *p, const struct auth_user *user, const char *index_dir)
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
	rc = ipc_sendv(kept.chan, IPC_OWNER_SESSION, iov, 2, lio_fd(p->lio), IPC_FOREVER);
	explicit_bzero(pending, s.pending);
	explicit_bzero(&s, sizeof(s));
	return rc;
}

/* end_kept - close the channel and reap the kept process; KILL it at once when it lied or broke. */
static void end_kept(bool kill_first)
{
	int pfd = kill_first ? -1 : (int)syscall(SYS_pidfd_open, kept.pid, 0);
	struct pollfd pp = { .fd = pfd, .events = POLLIN };

	close(kept.chan);
	/* A well-behaved process exits at the channel's end; one that does not is not waited for long. */
	if (pfd < 0 || poll(&pp, 1, POP3_OWNER_EXIT_MS) != 1)
		(void)kill(kept.pid, SIGKILL);
	if (pfd >= 0)
		close(pfd);
	(void)session_reap(kept.pid, 0);
	kept.pid = -1;
	kept.chan = -1;
}

/* wait_done - the session's end as the kept process tells it; a process that lies or dies is let go. */
static int wait_done(void)
{
	struct owner_done done;
	struct ipc_frame f;

	mem_idle_wait(kept.chan); /* the session's client may idle for minutes, and the monitor with it */
	if (ipc_recv(kept.chan, &done, sizeof(done), IPC_SEQPACKET, IPC_FOREVER, &f) != 1 || f.type != IPC_OWNER_DONE ||
	    f.len != sizeof(done)) {
		end_kept(true);
		return 1;
	}
	if (done.status != 0)
		pop3_owner_release(); /* it exits after a failed session */
	return done.status != 0;
}

int pop3_owner_serve(struct pop3 *p, const struct auth_user *user, const char *index_dir, pop3_serve_fn serve)
{
	/* Once a login: the same answer decides the kept process's fitness and a new one's groups. */
	long mail_gid = pop3_mail_gid(user);

	if (kept.pid > 0 && (!same_credentials(user, mail_gid) || gone_while_idle()))
		pop3_owner_release();
	if (kept.pid < 0 && spawn(p, user, mail_gid, serve) < 0) {
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "fork failed", "%s", strerror(errno));
		if (pop3_reply(p, "%s", "-ERR [SYS/TEMP] Cannot start the session, try again later") == POP3_CONTINUE)
			(void)lio_flush(p->lio);
		return 1;
	}
	if (pass(p, user, index_dir) < 0) {
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "mailbox process gone", "%s",
			    strerror(errno));
		end_kept(true);
		return 1;
	}
	/* The client is the mailbox process's alone: its end must close the connection. */
	lio_free(&p->lio);
	return wait_done();
}

void pop3_owner_forget(void)
{
	if (kept.chan >= 0)
		close(kept.chan);
	kept.chan = -1;
	kept.pid = -1;
}

int pop3_owner_idle_ms(void)
{
	return kept.pid > 0 ? (int)conf(kept.cfg)->pop3.mailbox_process_idle * 1000 : -1;
}

void pop3_owner_release(void)
{
	if (kept.pid > 0)
		end_kept(false);
}
