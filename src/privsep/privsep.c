/* privsep.c - a session's privileged monitor and unprivileged protocol child, and the channel between. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "auth/blocks.h"
#include "common/ipc.h"
#include "common/session_conn.h"
#include "common/lifeline.h"
#include "common/log.h"
#include "common/memtrim.h"
#include "privsep/monitor_watch.h"
#include "privsep/privsep.h"
#include "privsep/privsep_int.h"
#include "common/report_budget.h"
#include "relaydb/login_channel.h"
#include "relaydb/relaydb.h"

/* privileged - whether this process may switch users: root, or a master that kept CAP_SETUID. */
static bool privileged(void)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps;

	if (getuid() == 0 || geteuid() == 0)
		return true;
	caps = cap_get_proc();
	if (caps != NULL) {
		cap_get_flag(caps, CAP_SETUID, CAP_PERMITTED, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

/* clear_caps - hold no capability at all from here on. */
static int clear_caps(void)
{
	cap_t none = cap_init();
	int rc = none != NULL ? cap_set_proc(none) : -1;

	cap_free(none);
	return rc;
}

/* drop_ids - become UID/GID, with NAME's supplementary groups if ALL_GROUPS, else GID alone. 0 or -1. */
static int drop_ids(uid_t uid, gid_t gid, const char *name, bool all_groups)
{
	if (!privileged()) {
		if (getuid() == uid)
			return 0;
		log_err("cannot switch to %s (uid %u): not running as root", name, (unsigned)uid);
		return -1;
	}
	/* A change of user clears the parent-death signal (the kernel's rule): tie the process again after. */
	pid_t parent = getppid();
	bool tied = lifeline_tied();

	if ((!all_groups || initgroups(name, gid) < 0) && setgroups(1, &gid) < 0) {
		log_err("setgroups for %s: %s", name, strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		log_err("switching to %s (uid %u gid %u): %s", name, (unsigned)uid, (unsigned)gid,
			strerror(errno));
		return -1;
	}
	/* From a capability-holding non-root uid, setresuid keeps the capabilities: drop them. */
	if (clear_caps() < 0) {
		log_err("dropping capabilities for %s: %s", name, strerror(errno));
		return -1;
	}
	/* Verify: a process that can regain root must not go on. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("privilege drop to %s did not hold", name);
		return -1;
	}
	if (tied && lifeline_tie(parent) < 0) {
		log_err("switching to %s: the parent process is gone", name);
		return -1;
	}
	return 0;
}

int privsep_drop_to(uid_t uid, gid_t gid, const char *name)
{
	return drop_ids(uid, gid, name, true);
}

/*
 * The master resolves server.user and server.login_user once per configuration, so that sessions,
 * forked from it, need no NSS lookup of their own (getpwnam cost 2.5% of an SMTP session's CPU).
 */
static struct {
	const struct config *cfg;
	uid_t uid, login_uid;
	gid_t gid, login_gid;
} server_cache;

/* server_ids - server.user's uid and gid (server.group overrides the group). 0 or -1. */
static int server_ids(const struct config *cfg, uid_t *uid, gid_t *gid)
{
	const char *user = conf(cfg)->server.user, *group = conf(cfg)->server.group;
	struct passwd *pw;

	if (server_cache.cfg == cfg) {
		*uid = server_cache.uid;
		*gid = server_cache.gid;
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL) {
		log_err("server.user %s: no such user", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (*group != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			log_err("server.group %s: no such group", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* login_ids - server.login_user's uid and primary group; never root's. 0 or -1. */
static int login_ids(const struct config *cfg, uid_t *uid, gid_t *gid)
{
	const char *user = conf(cfg)->server.login_user;
	struct passwd *pw;

	if (server_cache.cfg == cfg) {
		*uid = server_cache.login_uid;
		*gid = server_cache.login_gid;
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
		log_err("server.login_user %s: %s", user, pw == NULL ? "no such user" : "root's uid or group");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int privsep_resolve_server_user(const struct config *cfg)
{
	uid_t uid, login_uid;
	gid_t gid, login_gid;

	server_cache.cfg = NULL;
	if (server_ids(cfg, &uid, &gid) < 0 || login_ids(cfg, &login_uid, &login_gid) < 0)
		return -1;
	server_cache.cfg = cfg;
	server_cache.uid = uid;
	server_cache.gid = gid;
	server_cache.login_uid = login_uid;
	server_cache.login_gid = login_gid;
	return 0;
}

int privsep_drop_to_server_user(const struct config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (!privileged())
		return 0; /* started unprivileged: everything already runs as the invoking user */
	if (server_ids(cfg, &uid, &gid) < 0)
		return -1;
	return drop_ids(uid, gid, conf(cfg)->server.user, true);
}

/*
 * drop_to_login_user - become server.login_user, its primary group alone, no capability, as
 * Dovecot's login processes become dovenull: a process that reads the network owns nothing, so
 * it can neither read nor write the relay database, nor signal another popgated process. The
 * primary group alone also because initgroups() loaded an NSS module afresh in every session
 * (~350 us of CPU, a tenth of an SMTP session, in bench/run's profile). 0 or -1.
 */
static int drop_to_login_user(const struct config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (!privileged())
		return 0;
	if (login_ids(cfg, &uid, &gid) < 0 || drop_ids(uid, gid, conf(cfg)->server.login_user, false) < 0)
		return -1;
	/* The change of uid made it dumpable again (fs.suid_dumpable): no one may read its memory. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0) {
		log_err("protocol child: PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * must_wait - whether the child waits until the master has EVENT: make_room must know of a client
 * vouched for before the client reads its 250 (such a session is never pushed out), and of a
 * hand-off before the next hop gets the message (one cut there could reach the next hop twice).
 * The rest go without a round trip, a transaction's first recipient too: make_room only pushes
 * such a session out later than one without, and a session it takes for one without in the
 * microseconds before the report lands loses nothing the client does not still hold; waiting
 * cost every transaction's first RCPT a hop to the monitor and back (20-25 µs on the 2-vCPU VMs).
 */
static bool must_wait(enum session_event event)
{
	return event == SESSION_CLIENT_KNOWN || event == SESSION_TXN_HANDOFF;
}

/* recv_result - child side: the monitor's answer into *R. 0, or -1 when the channel broke. */
static int recv_result(int chan, struct wire_result *r)
{
	struct ipc_frame f;

	if (ipc_recv(chan, r, sizeof(*r), IPC_SEQPACKET, IPC_FOREVER, &f) != 1 || f.type != IPC_PRIVSEP_RESULT ||
	    f.len != sizeof(*r))
		return -1;
	return 0;
}

/* forward_report - child side: hand EVENT to the monitor, which passes it on to the master. */
static int forward_report(void *arg, enum session_event event)
{
	struct privsep *ps = arg;
	struct wire_report c = { .event = (uint32_t)event, .ack = must_wait(event) };
	struct wire_result r;

	if (ipc_send(ps->fd, IPC_PRIVSEP_REPORT, &c, sizeof(c), -1, IPC_FOREVER) < 0)
		return -1;
	return c.ack ? recv_result(ps->fd, &r) : 0;
}

/* child_may_report - the events a protocol child can witness; logins are the monitor's to report. */
static bool child_may_report(uint32_t event)
{
	switch (event) {
	case SESSION_MSG_RELAYED:
	case SESSION_MSG_DENIED:
	case SESSION_TXN_BEGIN:
	case SESSION_TXN_END:
	case SESSION_TXN_HANDOFF:
	case SESSION_CLIENT_KNOWN:
	case SESSION_HOP_DEFERRED:
	case SESSION_HOP_FAILED:
	case SESSION_TLS_FAILED:
	case SESSION_TLS_TIMEOUT:
	case SESSION_RELAYDB_ERROR:
		return true;
	default:
		return false;
	}
}

int privsep_fork(struct session_ctx *ctx, struct privsep **psp)
{
	int sv[2];
	struct privsep *ps = calloc(1, sizeof(*ps));

	*psp = NULL;
	if (ps == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(ps);
		return -1;
	}
	pid_t monitor = getpid();

	ps->ctx = ctx;
	report_budget_init(&ps->budget, (unsigned)conf(ctx->cfg)->smtp.max_errors);
	ps->child = fork();
	if (ps->child < 0) {
		int err = errno;

		close(sv[0]);
		close(sv[1]);
		free(ps);
		errno = err; /* the caller logs it, with the session's words (session_fork_failed) */
		return -1;
	}
	if (ps->child == 0) {
		/* Without its monitor the child could not log anyone in or report: it ends with it. */
		if (lifeline_tie(monitor) < 0)
			_exit(1);
		close(sv[0]);
		ps->fd = sv[1];
		/* A child that reads the network must not be able to speak to the master for anyone. */
		session_drop_channels(ctx); /* nor have a login recorded: its monitor's word, after its check */
		relay_login_forget();       /* nor read or forge the answers to its monitor's records */
		auth_client_forget(); /* nor ask the auth worker to check passwords unthrottled */
		ctx->report_via = forward_report;
		ctx->report_arg = ps;
		if (drop_to_login_user(ctx->cfg) < 0)
			_exit(1);
		*psp = ps;
		return 0;
	}
	close(sv[1]);
	ps->fd = sv[0];
	*psp = ps;
	return 1;
}

void privsep_free(struct privsep **psp)
{
	struct privsep *ps = *psp;

	if (ps == NULL)
		return;
	if (ps->fd >= 0)
		close(ps->fd);
	free(ps);
	*psp = NULL;
}

bool privsep_tls_proxied(const struct privsep *ps)
{
	return ps->tls_proxied;
}

pid_t privsep_child_pid(const struct privsep *ps)
{
	return ps->child;
}

int privsep_channel(const struct privsep *ps)
{
	return ps->fd;
}

enum auth_result privsep_check(struct privsep *ps, const struct privsep_request *req, struct auth_user *user)
{
	struct wire_result r;

	if (ipc_send(ps->fd, IPC_PRIVSEP_CHECK, req, sizeof(*req), -1, IPC_FOREVER) < 0 || recv_result(ps->fd, &r) < 0) {
		log_err("privsep: monitor channel broken");
		return AUTH_TEMPFAIL;
	}
	if (r.result == AUTH_OK && user != NULL)
		*user = r.user;
	return (enum auth_result)r.result;
}

/* valid_request - every string terminated and the mechanism known: the child is not trusted. */
static bool valid_request(struct privsep_request *req)
{
	req->user[sizeof(req->user) - 1] = '\0';
	req->secret[sizeof(req->secret) - 1] = '\0';
	req->challenge[sizeof(req->challenge) - 1] = '\0';
	req->proto[sizeof(req->proto) - 1] = '\0';
	return req->mech == PRIVSEP_PASSWORD || req->mech == PRIVSEP_APOP;
}

/*
 * record_relay - the POP-before-SMTP hook: the lookup worker records it on the monitor's word, over
 * the login channel its protocol child does not hold; the monitor never opens the database.
 */
static void record_relay(const struct session_ctx *ctx, const char *user, const char *proto)
{
	(void)relaydb_session_login(ctx->cfg, ctx->login_fd, ctx->client_ip, user, proto, RELAY_LOGIN_WAIT_MS);
}

/* check_one - answer one request: verify, delay a failure, report, and run the relay hook on success. */
static enum auth_result check_one(struct privsep *ps, struct privsep_request *req, struct auth_user *user)
{
	struct session_ctx *ctx = ps->ctx;
	enum auth_result res;
	bool relay = false;

	memset(user, 0, sizeof(*user));
	/*
	 * The master refuses new connections from an address past auth.max_failures; a session it
	 * opened earlier must not go on guessing either: no more checks, and the reply says why.
	 */
	if (ctx->recent_auth_failures >= (unsigned)conf(ctx->cfg)->auth.max_failures) {
		explicit_bzero(req->secret, sizeof(req->secret));
		log_session(LOG_NOTICE, req->proto, ctx->client_ip, req->user, "login refused",
			    "locked out: too many failed logins");
		session_report(ctx, SESSION_AUTH_FAIL, req->user);
		sleep(penalty_delay(ctx->cfg, penalty_failures(ctx, req->user)));
		return AUTH_LOCKED;
	}
	/* The auth worker alone reads the user databases; the delays and lockouts stay here. */
	res = auth_client_check(req->mech == PRIVSEP_APOP ? AUTH_WIRE_APOP : AUTH_WIRE_PASSWORD, req->user,
				req->secret, req->challenge, req->proto, ctx->client_ip, user);
	explicit_bzero(req->secret, sizeof(req->secret));
	if (res == AUTH_OK && (res = auth_block_login(ctx->cfg, user->name, req->proto, time(NULL), &relay)) != AUTH_OK) {
		log_session(LOG_NOTICE, req->proto, ctx->client_ip, user->name, "login refused", "%s",
			    res == AUTH_REFUSED ? "account blocked by an admin" : "the blocks file cannot be read");
		memset(user, 0, sizeof(*user));
	} else if (res == AUTH_OK) {
		bool v6 = strchr(ctx->local_ip, ':') != NULL; /* [::1]:110, as in a URL */
		log_session(LOG_INFO, req->proto, ctx->client_ip, user->name, "login ok",
			    "mech=%s local=%s%s%s:%d tls=%s%s", req->mech == PRIVSEP_APOP ? "APOP" : "password",
			    v6 ? "[" : "", ctx->local_ip, v6 ? "]" : "", ctx->local_port, req->tls ? "yes" : "no",
			    relay ? "" : " relay=no (account blocked by an admin)");
		snprintf(ps->user, sizeof(ps->user), "%s", user->name);
		session_report(ctx, SESSION_AUTH_OK, user->name);
		if (relay && strncmp(req->proto, "pop3", 4) == 0)
			record_relay(ctx, user->name, req->proto);
	} else if (res == AUTH_FAIL) {
		/* The penalty is this user's from this address: others there are not slowed down. */
		unsigned failures = penalty_failures(ctx, req->user);
		unsigned delay = penalty_delay(ctx->cfg, failures);
		log_session(LOG_NOTICE, req->proto, ctx->client_ip, req->user, "login failed",
			    "delay=%us failures=%u address_failures=%u", delay, failures + 1,
			    ctx->recent_auth_failures + 1);
		session_report(ctx, SESSION_AUTH_FAIL, req->user);
		ctx->recent_auth_failures++;
		penalty_count(ctx, req->user);
		sleep(delay);
	} else {
		log_session(LOG_ERR, req->proto, ctx->client_ip, req->user, "login tempfail", NULL);
	}
	return res;
}

/* What a protocol child may send its monitor, as received. */
union wire_check {
	struct privsep_request req;
	struct wire_report report;
};

/* valid_wire - a check with a valid request, a report of an event a child may make, or a done. */
static bool valid_wire(const struct ipc_frame *f, union wire_check *c)
{
	switch (f->type) {
	case IPC_PRIVSEP_CHECK: return f->len == sizeof(c->req) && valid_request(&c->req);
	case IPC_PRIVSEP_REPORT: return f->len == sizeof(c->report) && child_may_report(c->report.event);
	case IPC_PRIVSEP_DONE: return f->len == 0;
	default: return false;
	}
}

/*
 * pass_report - a report from the child goes on to the master if it fits the session's budget;
 * the first that does not is logged, the rest are dropped quietly (the child still gets its answer).
 */
static void pass_report(struct privsep *ps, enum session_event event)
{
	const struct session_ctx *ctx = ps->ctx;
	const char *user = ps->user[0] != '\0' ? ps->user : NULL; /* the monitor's knowledge, not the child's say */

	if (report_budget_take(&ps->budget, event)) {
		session_report(ctx, event, user);
		return;
	}
	if (ps->budget.dropped == 1)
		log_session(LOG_WARNING, ctx->proto, ctx->client_ip, user, "reports dropped",
			    "the protocol child reported event %d out of a transaction's order or past the "
			    "session's budget; this and any further such reports are not passed on", (int)event);
}

int privsep_serve(struct privsep *ps, bool stop_on_success, struct auth_user *out)
{
	union wire_check c;
	struct wire_result r;
	struct ipc_frame f;

	for (;;) {
		if (monitor_watching())
			monitor_wait(ps->fd, false); /* sessions passed on may end while the child speaks */
		int rc = ipc_recv(ps->fd, &c, sizeof(c), IPC_SEQPACKET, IPC_FOREVER, &f);
		if (rc == 0) {
			ps->child_gone = true;
			return 0;
		}
		if (rc < 0 || !valid_wire(&f, &c)) {
			log_err("privsep: malformed request from the protocol child%s%s", f.why != NULL ? ": " : "",
				f.why != NULL ? f.why : "");
			explicit_bzero(&c, sizeof(c));
			return -1;
		}
		if (f.type == IPC_PRIVSEP_DONE)
			return 0;
		memset(&r, 0, sizeof(r));
		if (f.type == IPC_PRIVSEP_REPORT) {
			pass_report(ps, (enum session_event)c.report.event);
			if (c.report.ack && ipc_send(ps->fd, IPC_PRIVSEP_RESULT, &r, sizeof(r), -1, IPC_FOREVER) < 0)
				return -1;
			continue;
		}
		r.result = check_one(ps, &c.req, &r.user);
		explicit_bzero(&c, sizeof(c));
		if (ipc_send(ps->fd, IPC_PRIVSEP_RESULT, &r, sizeof(r), -1, IPC_FOREVER) < 0)
			return -1;
		if (r.result == AUTH_OK && stop_on_success) {
			if (out != NULL)
				*out = r.user;
			return 1;
		}
	}
}

/* send_handover - the header, the unread input and the socket in one frame. */
static int send_handover(int chan, int fd, bool tls, const char *pending, size_t len)
{
	struct wire_handover h = { .tls = tls };
	struct iovec v[2] = { { &h, sizeof(h) }, { (void *)pending, len } };

	return ipc_sendv(chan, IPC_PRIVSEP_HANDOVER, v, len > 0 ? 2 : 1, fd, IPC_FOREVER);
}

/* pending_input - copy the client's unread input out of the lio. */
static size_t pending_input(struct lio *client, char *buf, size_t cap)
{
	size_t n = 0, len;
	enum lio_status st;

	/* Lines are the only unit lio hands out; unread input is whole pipelined command lines. */
	while (lio_buffered(client) > 0 && n + 2 < cap) {
		st = lio_read_line(client, buf + n, cap - n - 2, &len, NULL);
		if (st != LIO_OK)
			break;
		buf[n + len] = '\r';
		buf[n + len + 1] = '\n';
		n += len + 2;
	}
	return n;
}

/* proxy - relay bytes between the TLS client and the post-login process until either side closes. */
static int proxy(int chan, struct lio *client)
{
	SSL *ssl = lio_tls(client);
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = { { .fd = lio_fd(client), .events = POLLIN }, { .fd = chan, .events = POLLIN } };
		if (SSL_pending(ssl) == 0 && mem_idle_poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (SSL_pending(ssl) > 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			int n = SSL_read(ssl, buf, sizeof(buf));
			if (n > 0) {
				if (ipc_write_all(chan, buf, (size_t)n, IPC_FOREVER) < 0)
					return 0;
			} else {
				int e = SSL_get_error(ssl, n);
				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					return 0;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(chan, buf, sizeof(buf), 0);
			if (n <= 0)
				return 0;
			if (lio_write(client, buf, (size_t)n) < 0 || lio_flush(client) < 0)
				return 0;
		}
	}
}

int privsep_handover(struct privsep *ps, struct lio *client)
{
	char pending[LIO_INBUF];
	size_t len = pending_input(client, pending, sizeof(pending));
	bool tls = lio_tls(client) != NULL;
	int sv[2] = { -1, -1 }, rc;

	/*
	 * A TLS session cannot move to another process: the child stays and relays it in clear over a
	 * socket pair of its own, whose other end it hands over as the connection. The privsep
	 * channel stays the channel, so a reused pair can serve again once the session is over.
	 */
	if (tls && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("privsep: a socket pair for the TLS relay: %s", strerror(errno));
		return -1;
	}
	rc = send_handover(ps->fd, tls ? sv[1] : lio_fd(client), tls, pending, len);
	explicit_bzero(pending, sizeof(pending));
	if (tls)
		close(sv[1]);
	if (rc < 0) {
		log_err("privsep: handing the connection over failed: %s", strerror(errno));
		if (tls)
			close(sv[0]);
		return -1;
	}
	if (!tls)
		return 0;
	rc = proxy(sv[0], client);
	close(sv[0]);
	return rc;
}

/* A hand-over as received: the header and at most a buffer's worth of unread input. */
struct handover_in {
	struct wire_handover h;
	char pending[LIO_INBUF];
};

struct lio *privsep_take_connection(struct privsep *ps, int64_t deadline)
{
	struct handover_in in;
	struct ipc_frame f;
	struct lio *lio;
	size_t len;

	if (ipc_recv(ps->fd, &in, sizeof(in), IPC_FD_MUST | IPC_SEQPACKET, deadline, &f) != 1 || f.type != IPC_PRIVSEP_HANDOVER ||
	    f.len < sizeof(in.h)) {
		if (f.fd >= 0)
			close(f.fd);
		log_err("privsep: no connection handed over%s%s", f.why != NULL ? ": " : "", f.why != NULL ? f.why : "");
		return NULL;
	}
	len = f.len - sizeof(in.h);
	ps->tls_proxied = in.h.tls != 0;
	lio = lio_adopt(f.fd); /* the child made it non-blocking and TCP_NODELAY */
	if (lio == NULL) {
		close(f.fd);
		explicit_bzero(in.pending, len);
		return NULL;
	}
	if (lio_preload(lio, in.pending, len) < 0)
		lio_free(&lio);
	explicit_bzero(in.pending, len);
	return lio;
}
