/* auth_worker.c - the auth worker: checks each password or APOP request from the auth channel and answers it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "auth/auth_wire.h"
#include "auth/auth_worker.h"
#include "common/ipc.h"
#include "common/lifeline.h"
#include "common/log.h"

/* auth.workers' upper bound: more processes than that only queue for the same CPUs. */
#define AUTH_WORKER_PROCS_MAX 64

int auth_worker_drop(void)
{
	cap_value_t keep = CAP_DAC_READ_SEARCH;
	cap_flag_value_t had = CAP_CLEAR;
	cap_t now = cap_get_proc(), want = cap_init();
	int rc = -1;

	if (now == NULL || want == NULL) {
		log_err("auth worker: reading capabilities: %s", strerror(errno));
		goto out;
	}
	cap_get_flag(now, keep, CAP_PERMITTED, &had);
	/* Started unprivileged (a test as a plain user): nothing to keep, everything to drop. */
	if (had == CAP_SET && (cap_set_flag(want, CAP_PERMITTED, 1, &keep, CAP_SET) < 0 ||
			       cap_set_flag(want, CAP_EFFECTIVE, 1, &keep, CAP_SET) < 0)) {
		log_err("auth worker: building its capability set: %s", strerror(errno));
		goto out;
	}
	if (cap_set_proc(want) < 0) {
		log_err("auth worker: dropping capabilities: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	cap_free(now);
	cap_free(want);
	return rc;
}

/* A request as received: its bytes and the frame they came in (the reply socket, who sent it). */
struct received {
	char buf[sizeof(struct auth_wire_req)];
	int rc;                                      /* ipc_recv's: 1, or -1 a frame it refused */
	struct ipc_frame f;
};

/*
 * receive - one request from CHAN into *R: 1 got one (or one refused, R->rc -1), 0 none waiting,
 * -1 error. Only a frame with exactly one reply socket from a process of our own uid passes: the
 * session monitors run as server.user, as the worker does.
 */
static int receive(int chan, struct received *r)
{
	memset(r, 0, sizeof(*r));
	r->rc = ipc_recv(chan, r->buf, sizeof(r->buf), IPC_FD_MUST | IPC_SAME_UID | IPC_SEQPACKET, IPC_NOW, &r->f);
	if (r->rc < 0 && errno != EPROTO && errno != EMSGSIZE)
		return errno == EAGAIN ? 0 : -1;
	return 1;
}

/* check - the answer to REQ: the backend's verdict, and the user's data on success. */
static void check(const struct config *cfg, struct auth_wire_req *req, struct auth_wire_reply *reply)
{
	enum auth_result res;

	memset(reply, 0, sizeof(*reply));
	if (req->mech == AUTH_WIRE_APOP)
		res = auth_apop(cfg, req->user, req->challenge, req->secret, &reply->user);
	else
		res = auth_password(cfg, req->user, req->secret, &reply->user);
	explicit_bzero(req->secret, sizeof(req->secret));
	/* The backends answer only these; anything else would be a bug here, not a login. */
	if (res != AUTH_OK && res != AUTH_FAIL)
		res = AUTH_TEMPFAIL;
	if (res != AUTH_OK)
		memset(&reply->user, 0, sizeof(reply->user));
	reply->result = (int32_t)res;
	log_debug("auth worker: %s %s from %s for %s: %s", req->mech == AUTH_WIRE_APOP ? "APOP" : "password",
		  LOG_Q(req->user), req->client_ip, req->service,
		  res == AUTH_OK ? "ok" : res == AUTH_FAIL ? "failed" : "temporary failure");
}

/* acceptable - whether R may be answered: a frame ipc_recv took, of the auth channel, a well-formed record. */
static bool acceptable(struct received *r, struct auth_wire_req *req)
{
	const char *why = NULL;

	if (r->rc != 1)
		why = r->f.why;
	else if (r->f.type != IPC_AUTH_REQ)
		why = "a record of another channel";
	else if (auth_wire_req_parse(r->buf, r->f.len, req, &why) == 0)
		return true;
	log_warn("auth worker: refused %s (sender pid %ld uid %ld)", why, r->f.has_cred ? (long)r->f.cred.pid : -1L,
		 r->f.has_cred ? (long)r->f.cred.uid : -1L);
	return false;
}

/* serve_one - answer R (or refuse it by closing its reply socket unanswered). */
static void serve_one(const struct config *cfg, struct received *r)
{
	struct auth_wire_req req;
	struct auth_wire_reply reply;

	if (acceptable(r, &req)) {
		check(cfg, &req, &reply);
		/*
		 * The monitor waits on a socket of its own: a full or closed one only loses its answer.
		 * The reply socket goes back with the answer, for the monitor's next request.
		 */
		if (ipc_send(r->f.fd, IPC_AUTH_REPLY, &reply, sizeof(reply), r->f.fd, IPC_NOW) < 0)
			log_warn("auth worker: answering %s: %s", LOG_Q(req.user), strerror(errno));
		explicit_bzero(&reply, sizeof(reply));
	}
	explicit_bzero(&req, sizeof(req));
	explicit_bzero(r->buf, sizeof(r->buf));
	if (r->f.fd >= 0)
		close(r->f.fd);
}

/* drain - on the way out: answer what monitors already sent, so that a reload fails no login. */
static void drain(const struct config *cfg, int chan)
{
	struct received r;

	while (receive(chan, &r) > 0)
		serve_one(cfg, &r);
}

/* The helpers: processes forked by the auth worker that serve the same channel, one hash each at a time. */
struct helpers {
	pid_t pid[AUTH_WORKER_PROCS_MAX];
	int n;                  /* wanted, besides the worker itself */
	time_t last_spawn;      /* at most one replacement a second: a helper that dies at once must not spin */
};

static int serve(const struct config *cfg, int chan, volatile sig_atomic_t *stop, struct helpers *h);

/* spawn - helper I: a fork that serves the channel until told to stop, and dies with the worker. */
static void spawn(const struct config *cfg, int chan, volatile sig_atomic_t *stop, struct helpers *h, int i)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		if (lifeline_tie(parent) < 0)
			_exit(1);
		_exit(serve(cfg, chan, stop, NULL) == 0 ? 0 : 1);
	}
	if (pid < 0)
		log_err("auth worker: starting a helper: %s", strerror(errno));
	h->pid[i] = pid > 0 ? pid : 0;
	h->last_spawn = time(NULL);
}

/* tend - reap helpers that ended and start others in their place (not more than one a second). */
static void tend(const struct config *cfg, int chan, volatile sig_atomic_t *stop, struct helpers *h)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (int i = 0; i < h->n; i++)
			if (h->pid[i] == pid) {
				log_err("auth worker: helper %ld ended (status %d); starting another", (long)pid, status);
				h->pid[i] = 0;
			}
	for (int i = 0; i < h->n && !*stop; i++)
		if (h->pid[i] == 0 && time(NULL) != h->last_spawn)
			spawn(cfg, chan, stop, h, i);
}

/* stop_helpers - ask each helper to answer what it has and stop, and wait for it. */
static void stop_helpers(struct helpers *h)
{
	for (int i = 0; i < h->n; i++)
		if (h->pid[i] > 0)
			kill(h->pid[i], SIGTERM);
	for (int i = 0; i < h->n; i++)
		if (h->pid[i] > 0)
			while (waitpid(h->pid[i], NULL, 0) < 0 && errno == EINTR)
				;
}

/* procs_wanted - auth.workers, or one per CPU when it is 0. */
static int procs_wanted(const struct config *cfg)
{
	long n = conf(cfg)->auth.workers;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > AUTH_WORKER_PROCS_MAX ? AUTH_WORKER_PROCS_MAX : (int)n;
}

int auth_worker_run(const struct config *cfg, volatile sig_atomic_t *stop)
{
	int chan = auth_channel_worker_fd(), rc;
	struct helpers h = { .n = procs_wanted(cfg) - 1 };

	if (chan < 0) {
		log_err("auth worker: no auth channel");
		return -1;
	}
	/* Its own end only: the worker never asks itself, and the master keeps the monitors' end. */
	auth_channel_close_client();
	for (int i = 0; i < h.n; i++)
		spawn(cfg, chan, stop, &h, i);
	log_info("auth worker ready (auth.backend %s, %d process%s)", cfg_text(cfg, "auth.backend"), h.n + 1,
		 h.n > 0 ? "es" : "");
	rc = serve(cfg, chan, stop, &h);
	stop_helpers(&h);
	return rc;
}

/* serve - answer checks until *STOP (then drain the queue) or a broken channel; H: tend the helpers. */
static int serve(const struct config *cfg, int chan, volatile sig_atomic_t *stop, struct helpers *h)
{
	struct received r;
	time_t tended = 0;

	while (!*stop) {
		struct pollfd p = { .fd = chan, .events = POLLIN };

		/* A second at most: a SIGTERM that lands between the test of *stop and poll is not lost. */
		if (poll(&p, 1, 1000) < 0) {
			if (errno == EINTR)
				continue;
			log_err("auth worker: poll: %s", strerror(errno));
			return -1;
		}
		/* Once a second, not once a check: a helper is replaced at most once a second anyway. */
		if (h != NULL && time(NULL) != tended) {
			tended = time(NULL);
			tend(cfg, chan, stop, h);
		}
		if (!(p.revents & POLLIN)) {
			if (p.revents == 0)
				continue;
			log_err("auth worker: the auth channel was closed");
			return -1;
		}
		int rc = receive(chan, &r);
		if (rc < 0) {
			log_err("auth worker: reading the auth channel: %s", strerror(errno));
			return -1;
		}
		if (rc > 0)
			serve_one(cfg, &r);
	}
	drain(cfg, chan);
	return 0;
}
