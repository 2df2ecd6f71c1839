/* workers.c - start, restart with back-off, and stop the master's long-lived workers. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "common/log.h"
#include "common/privsep.h"
#include "master/workers.h"
#include "relaydb/lookup.h"
#include "relaydb/relaydb.h"

static volatile sig_atomic_t worker_stop;

static void on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static const char *worker_names[WORKER_KINDS] = { "admin", "relay-sweeper", "relay-lookup" };
static const char *worker_idents[WORKER_KINDS] = { "popgated/admin", "popgated/sweeper", "popgated/lookup" };

/* worker_body - the child's side: unprivileged, its own SIGTERM flag, then the worker's loop. */
static int worker_body(enum worker_kind kind, const struct config *cfg, const struct listener_set *ls,
		       const struct stats_shared *stats)
{
	struct sigaction sa = { .sa_handler = on_term };
	int fds[64];
	size_t n;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	log_set_ident(worker_idents[kind]);
	if (privsep_drop_to_server_user(cfg) < 0)
		return 1;
	if (kind == WORKER_SWEEPER)
		return relaydb_sweeper_run(cfg, &worker_stop) == 0 ? 0 : 1;
	if (kind == WORKER_LOOKUP)
		return relaydb_lookupd_run(cfg, &worker_stop) == 0 ? 0 : 1;
	n = listeners_admin_fds(ls, fds, sizeof(fds) / sizeof(fds[0]));
	return admin_worker_main(cfg, fds, n, stats, &worker_stop) == 0 ? 0 : 1;
}

/* start_one - fork KIND; the child closes every socket but its own. */
static void start_one(struct workers *w, enum worker_kind kind, const struct config *cfg,
		      const struct listener_set *ls, const struct stats_shared *stats, const int *close_fds,
		      size_t nclose)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_err("starting the %s worker: %s", worker_names[kind], strerror(errno));
		w->restart_at[kind] = time(NULL) + 5;
		return;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < nclose; i++)
			close(close_fds[i]);
		for (size_t i = 0; i < ls->n; i++)
			if (kind != WORKER_ADMIN || ls->v[i].svc != NULL)
				close(ls->v[i].fd);
		_exit(worker_body(kind, cfg, ls, stats));
	}
	w->pid[kind] = pid;
	w->started[kind] = time(NULL);
	w->restart_at[kind] = 0;
}

static bool wanted(enum worker_kind kind, const struct config *cfg)
{
	/* The lookup worker speeds up SMTP relay checks; without an SMTP listener nobody asks it. */
	if (kind == WORKER_LOOKUP)
		return cfg_listen(cfg, "smtp.listen")->n > 0 || cfg_listen(cfg, "smtp.listen_tls")->n > 0;
	return kind == WORKER_SWEEPER || cfg_listen(cfg, "admin.listen")->n > 0;
}

void workers_start_all(struct workers *w, const struct config *cfg, const struct listener_set *ls,
		       const struct stats_shared *stats, const int *close_fds, size_t nclose)
{
	for (int k = 0; k < WORKER_KINDS; k++)
		if (w->pid[k] == 0 && wanted((enum worker_kind)k, cfg))
			start_one(w, (enum worker_kind)k, cfg, ls, stats, close_fds, nclose);
}

bool workers_reaped(struct workers *w, pid_t pid, time_t now)
{
	for (int k = 0; k < WORKER_KINDS; k++) {
		if (w->pid[k] != pid)
			continue;
		w->pid[k] = 0;
		/* A worker that dies at once is retried every 10 s, not in a tight loop. */
		w->restart_at[k] = now - w->started[k] < 10 ? now + 10 : now;
		return true;
	}
	return false;
}

int workers_restart_due(struct workers *w, const struct config *cfg, const struct listener_set *ls,
			const struct stats_shared *stats, const int *close_fds, size_t nclose, time_t now)
{
	int next = -1;

	for (int k = 0; k < WORKER_KINDS; k++) {
		if (w->restart_at[k] == 0 || w->pid[k] != 0)
			continue;
		if (!wanted((enum worker_kind)k, cfg)) {
			w->restart_at[k] = 0;
			continue;
		}
		if (w->restart_at[k] <= now) {
			log_warn("restarting the %s worker", worker_names[k]);
			start_one(w, (enum worker_kind)k, cfg, ls, stats, close_fds, nclose);
		} else if (next < 0 || w->restart_at[k] - now < next) {
			next = (int)(w->restart_at[k] - now);
		}
	}
	return next;
}

void workers_stop(struct workers *w)
{
	for (int k = 0; k < WORKER_KINDS; k++) {
		if (w->pid[k] > 0)
			kill(w->pid[k], SIGTERM);
		w->started[k] = 0; /* a stopped worker is restarted at once, not after the crash back-off */
	}
}

void workers_kill(struct workers *w)
{
	for (int k = 0; k < WORKER_KINDS; k++)
		if (w->pid[k] > 0)
			kill(w->pid[k], SIGKILL);
}

int workers_running(const struct workers *w)
{
	int n = 0;

	for (int k = 0; k < WORKER_KINDS; k++)
		n += w->pid[k] > 0;
	return n;
}
