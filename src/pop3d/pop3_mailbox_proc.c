/* pop3_mailbox_proc.c - the mailbox process: the mailbox owner serving, one after another, the sessions its monitor passes it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/session_conn.h"
#include "pop3d/pop3_int.h"
#include "pop3d/pop3_owner_wire.h"
#include "relaydb/login_channel.h"

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
 * pop3_owner_main - the new mailbox process: let go of everything the monitor holds that a less trusted
 * process must not (the channels to the protocol child, the master and the workers, the monitor's
 * copy of the client), become USER with GROUPS, tied to the monitor's life, and serve; exit status.
 */
int pop3_owner_main(struct pop3 *p, const struct auth_user *user, const struct pop3_groups *groups, int chan,
		    pid_t monitor, pop3_serve_fn serve)
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
	owner = pop3_become_user(user, groups) == 0;
	explicit_bzero(p, sizeof(*p));
	/* After the uid change, which clears it: a monitor killed at shutdown takes the process along. */
	if (owner && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor))
		return 1;
	return owner_loop(ctx, chan, owner, serve);
}

