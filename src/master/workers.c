/* workers.c - start, restart with back-off, and stop the master's long-lived workers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "auth/auth_worker.h"
#include "common/lifeline.h"
#include "common/log.h"
#include "common/stats_report.h"
#include "privsep/privsep.h"
#include "drac/drac.h"
#include "master/pool.h"
#include "master/workers.h"
#include "relaydb/login_channel.h"
#include "relaydb/lookup.h"
#include "relaydb/relaydb.h"

/* Admin listeners passed to popgate-admind. */
#define WORKER_ADMIN_FDS_MAX 16
/* A worker that ends within this many seconds of its start is retried after as many, not at once. */
#define WORKER_BACKOFF 10
/* Exit statuses of a worker that never got to its work: as a shell reports them. */
#define WORKER_EXIT_SETUP 1
#define WORKER_EXIT_NOEXEC 126
#define WORKER_EXIT_NOTFOUND 127

static volatile sig_atomic_t worker_stop;

static void on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/* The names the log and /metrics give them (stats_worker_name): one table for both. */
_Static_assert(WORKER_KINDS == STATS_WORKERS, "stats.h counts restarts per worker in workers.h's order");
static const char *worker_idents[WORKER_KINDS] = { "popgated/admin", "popgated/sweeper", "popgated/lookup",
						   "popgated/drac", "popgated/auth" };
/* The workers that are programs of their own, exec'd once unprivileged. */
static const char *worker_programs[WORKER_KINDS] = { "popgate-admind", NULL, NULL, "popgate-dracd", NULL };

/*
 * worker_program - NAME (popgate-admind, popgate-dracd): next to this popgated when it runs from a
 * build tree, else where make install put it. Looked up in the master, before any fork.
 */
static const char *worker_program(const char *name)
{
	static char paths[WORKER_KINDS][PATH_MAX];
	char self[PATH_MAX], *path = NULL;
	ssize_t n;

	for (int k = 0; k < WORKER_KINDS && path == NULL; k++)
		if (worker_programs[k] != NULL && strcmp(worker_programs[k], name) == 0)
			path = paths[k];
	if (path[0] != '\0')
		return path;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(path, PATH_MAX, "%s/%s", self, name) < PATH_MAX && access(path, X_OK) == 0)
				return path;
		}
	}
	snprintf(path, PATH_MAX, "%s/%s", POPGATE_PKGLIBEXECDIR, name);
	return path;
}

/* fd_arg - FD as a decimal argument for popgate-admind, kept open across the exec. */
static char *fd_arg(int fd, char *buf, size_t len)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0)
		fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
	snprintf(buf, len, "%d", fd);
	return buf;
}

/* exec_admin - become popgate-admind serving the admin listeners; returns only on failure. */
static int exec_admin(const struct config *cfg, const struct listener_set *ls, const char *program,
		      int report_fd)
{
	char args[2 + WORKER_ADMIN_FDS_MAX][16];
	char *argv[10 + WORKER_ADMIN_FDS_MAX];
	int fds[WORKER_ADMIN_FDS_MAX];
	size_t n = listeners_admin_fds(ls, fds, WORKER_ADMIN_FDS_MAX), a = 0;

	argv[a++] = (char *)"popgate-admind";
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)config_path(cfg);
	if (log_to_stderr())
		argv[a++] = (char *)"-F";
	if (stats_fd() >= 0) {
		argv[a++] = (char *)"-s";
		argv[a++] = fd_arg(stats_fd(), args[0], sizeof(args[0]));
	}
	if (report_fd >= 0) {
		argv[a++] = (char *)"-r";
		argv[a++] = fd_arg(report_fd, args[1], sizeof(args[1]));
	}
	for (size_t i = 0; i < n; i++)
		argv[a++] = fd_arg(fds[i], args[2 + i], sizeof(args[2 + i]));
	argv[a] = NULL;
	execv(program, argv);
	log_err("starting the admin worker: %s: %s", program, strerror(errno));
	return errno == ENOENT ? WORKER_EXIT_NOTFOUND : WORKER_EXIT_NOEXEC;
}

/* exec_drac - become popgate-dracd, on the master's DRAC sockets if it bound any; returns only on failure. */
static int exec_drac(const struct config *cfg, const struct listener_set *ls, const char *program,
		     int report_fd, int login_fd)
{
	char args[4][16];
	char *argv[14];
	int udp, tcp;
	size_t a = 0;

	listeners_drac_fds(ls, &udp, &tcp);
	argv[a++] = (char *)"popgate-dracd";
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)config_path(cfg);
	if (log_to_stderr())
		argv[a++] = (char *)"-F";
	if (udp >= 0 && tcp >= 0) {
		argv[a++] = (char *)"-u";
		argv[a++] = fd_arg(udp, args[0], sizeof(args[0]));
		argv[a++] = (char *)"-t";
		argv[a++] = fd_arg(tcp, args[1], sizeof(args[1]));
	}
	if (report_fd >= 0) {
		argv[a++] = (char *)"-r";
		argv[a++] = fd_arg(report_fd, args[2], sizeof(args[2]));
	}
	if (login_fd >= 0) {
		argv[a++] = (char *)"-l";
		argv[a++] = fd_arg(login_fd, args[3], sizeof(args[3]));
	}
	argv[a] = NULL;
	execv(program, argv);
	log_err("starting the DRAC worker: %s: %s", program, strerror(errno));
	return 1;
}

/*
 * The auth worker (auth/auth_worker.c). Its channel is opened once, before the first session is
 * forked, and the master keeps both ends for its life (auth_client.h): a restarted worker takes
 * over the same channel, and the monitors forked before the restart still reach it.
 */

/* auth_wanted - whether anyone may ask the auth worker: sessions exist only with POP3 or SMTP listeners. */
static bool auth_wanted(const struct config *cfg)
{
	return conf(cfg)->smtp.listen.n > 0 || conf(cfg)->smtp.listen_tls.n > 0 ||
	       conf(cfg)->pop3.listen.n > 0 || conf(cfg)->pop3.listen_tls.n > 0;
}

/* auth_body - the auth worker's side: CAP_DAC_READ_SEARCH alone, no report channel, then its loop. */
static int auth_body(const struct config *cfg, int report_fd)
{
	if (report_fd >= 0)
		close(report_fd); /* it has nothing to report, and reads nothing from the network */
	if (auth_worker_drop() < 0)
		return WORKER_EXIT_SETUP;
	return auth_worker_run(cfg, &worker_stop) == 0 ? 0 : WORKER_EXIT_SETUP;
}

/* auth_child_channel - in a worker just forked: only the auth worker keeps (its end of) the auth channel. */
static void auth_child_channel(enum worker_kind kind)
{
	if (kind != WORKER_AUTH)
		auth_client_forget();
}

/* worker_body - the child's side: unprivileged, its own SIGTERM flag, then the worker's loop. */
static int worker_body(enum worker_kind kind, const struct config *cfg, const struct listener_set *ls,
		       const char *program, const struct workers *w)
{
	int report_fd = w->report_fd;

	struct sigaction sa = { .sa_handler = on_term };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	log_set_ident(worker_idents[kind]);
	if (kind == WORKER_AUTH)
		return auth_body(cfg, report_fd);
	if (privsep_drop_to_server_user(cfg) < 0)
		return WORKER_EXIT_SETUP;
	stats_report_worker(report_fd); /* the exec'd ones get it as -r FD */
	if (kind == WORKER_SWEEPER)
		return relaydb_sweeper_run(cfg, &worker_stop) == 0 ? 0 : WORKER_EXIT_SETUP;
	if (kind == WORKER_LOOKUP)
		return relaydb_lookupd_run(cfg, listeners_socketmap_fd(ls), w->login_rd, &worker_stop) == 0
			? 0 : WORKER_EXIT_SETUP;
	if (kind == WORKER_DRAC)
		return exec_drac(cfg, ls, program, report_fd, w->login_wr);
	return exec_admin(cfg, ls, program, report_fd);
}

/* worker_keeps - whether KIND serves listener L (the others are closed in its process). */
static bool worker_keeps(enum worker_kind kind, const struct listener *l)
{
	if (kind == WORKER_DRAC)
		return l->drac != 0;
	if (kind == WORKER_LOOKUP)
		return l->socketmap;
	return kind == WORKER_ADMIN && l->svc == NULL && l->drac == 0 && !l->socketmap;
}

/* close_login_ends - in KIND's process: the lookup worker reads the login channel, popgate-dracd writes it. */
static void close_login_ends(struct workers *w, enum worker_kind kind)
{
	if (kind != WORKER_LOOKUP && w->login_rd >= 0) {
		close(w->login_rd);
		w->login_rd = -1;
	}
	if (kind != WORKER_DRAC && w->login_wr >= 0) {
		close(w->login_wr);
		w->login_wr = -1;
	}
}

int workers_open(struct workers *w)
{
	if (relay_login_channel_open(&w->login_rd, &w->login_wr) < 0) {
		log_err("start-up: the relay login channel: %s", strerror(errno));
		w->login_rd = w->login_wr = -1;
		return -1;
	}
	return 0;
}

void workers_close(struct workers *w)
{
	if (w->login_rd >= 0)
		close(w->login_rd);
	if (w->login_wr >= 0)
		close(w->login_wr);
	w->login_rd = w->login_wr = -1;
}

/* start_one - fork KIND; the child closes every socket but its own. */
static void start_one(struct workers *w, enum worker_kind kind, const struct config *cfg,
		      const struct listener_set *ls, const int *close_fds,
		      size_t nclose)
{
	const char *program = worker_programs[kind] != NULL ? worker_program(worker_programs[kind]) : NULL;
	pid_t master = getpid();
	pid_t pid;

	if (kind == WORKER_AUTH && auth_channel_open() < 0) {
		w->restart_at[kind] = time(NULL) + 5;
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_err("starting the %s worker: %s", stats_worker_name(kind), strerror(errno));
		w->restart_at[kind] = time(NULL) + 5;
		return;
	}
	if (pid == 0) {
		sigset_t none;
		/* A worker left behind by a dead master would hold its sockets against the next one. */
		if (lifeline_tie(master) < 0)
			_exit(WORKER_EXIT_SETUP);
		if (kind != WORKER_ADMIN)
			stats_forget();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < nclose; i++)
			close(close_fds[i]);
		if (w->pool != NULL)
			pool_close_inherited(w->pool);
		auth_child_channel(kind);
		for (size_t i = 0; i < ls->n; i++)
			if (!worker_keeps(kind, &ls->v[i]))
				close(ls->v[i].fd);
		close_login_ends(w, kind);
		_exit(worker_body(kind, cfg, ls, program, w));
	}
	w->pid[kind] = pid;
	w->started[kind] = time(NULL);
	w->restart_at[kind] = 0;
	w->asked_to_stop[kind] = false;
}

static bool wanted(enum worker_kind kind, const struct config *cfg)
{
	/*
	 * The lookup worker answers SMTP relay checks, records POP and DRAC logins (and puts them into
	 * the MTAs' map before the answer) and serves the socketmap; with none of these nobody asks it.
	 */
	if (kind == WORKER_LOOKUP)
		return conf(cfg)->smtp.listen.n > 0 || conf(cfg)->smtp.listen_tls.n > 0 ||
		       conf(cfg)->pop3.listen.n > 0 || conf(cfg)->pop3.listen_tls.n > 0 ||
		       conf(cfg)->relay.socketmap_listen[0] != '\0' || drac_mode_of(cfg) != DRAC_OFF;
	if (kind == WORKER_DRAC)
		return drac_mode_of(cfg) != DRAC_OFF;
	if (kind == WORKER_AUTH)
		return auth_wanted(cfg);
	return kind == WORKER_SWEEPER || conf(cfg)->admin.listen.n > 0;
}

void workers_start_all(struct workers *w, const struct config *cfg, const struct listener_set *ls,
		       const int *close_fds, size_t nclose)
{
	for (int k = 0; k < WORKER_KINDS; k++)
		if (w->pid[k] == 0 && wanted((enum worker_kind)k, cfg))
			start_one(w, (enum worker_kind)k, cfg, ls, close_fds, nclose);
}

/* describe_end - how a worker ended, in words: "exited with status N" or "was killed by signal N (NAME)". */
static void describe_end(int status, char *out, size_t cap)
{
	if (WIFSIGNALED(status))
		snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

/*
 * schedule - after KIND ended with STATUS: back off when it died young; a configuration error
 * (status 78) would only repeat itself, so that worker waits for the next reload.
 */
static void schedule(struct workers *w, int k, int status, time_t now, const char *how)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == CFG_EXIT) {
		w->held[k] = true;
		log_err("the %s worker %s, a configuration error: it is not restarted until the "
			"configuration is reloaded (SIGHUP)", stats_worker_name(k), how);
		return;
	}
	w->restart_at[k] = now - w->started[k] < WORKER_BACKOFF ? now + WORKER_BACKOFF : now;
	log_err("the %s worker %s; restarting it in %llds", stats_worker_name(k), how,
		(long long)(w->restart_at[k] - now));
}

bool workers_reaped(struct workers *w, pid_t pid, int status, bool stopping, time_t now)
{
	char how[128];

	for (int k = 0; k < WORKER_KINDS; k++) {
		if (w->pid[k] != pid)
			continue;
		w->pid[k] = 0;
		describe_end(status, how, sizeof(how));
		if (stopping || w->asked_to_stop[k]) {
			/* Asked to stop (reload or shutdown): restarted at once unless shutting down. */
			w->restart_at[k] = now;
			log_debug("the %s worker (pid %ld) %s, as asked", stats_worker_name(k), (long)pid, how);
		} else {
			w->died[k] = true;
			schedule(w, k, status, now, how);
		}
		return true;
	}
	return false;
}

int workers_restart_due(struct workers *w, const struct config *cfg, const struct listener_set *ls,
			const int *close_fds, size_t nclose, time_t now)
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
			log_warn("restarting the %s worker", stats_worker_name(k));
			if (w->died[k])
				w->restarts[k]++;
			w->died[k] = false;
			start_one(w, (enum worker_kind)k, cfg, ls, close_fds, nclose);
		} else if (next < 0 || w->restart_at[k] - now < next) {
			next = (int)(w->restart_at[k] - now);
		}
	}
	return next;
}

void workers_stop(struct workers *w)
{
	for (int k = 0; k < WORKER_KINDS; k++) {
		if (w->pid[k] > 0) {
			kill(w->pid[k], SIGTERM);
			w->asked_to_stop[k] = true;
		} else if (w->held[k] || w->restart_at[k] != 0) {
			/* A new configuration: one held for a configuration error, or backing off, may start now. */
			w->restart_at[k] = time(NULL);
		}
		w->held[k] = false;
	}
}

void workers_kill(struct workers *w)
{
	for (int k = 0; k < WORKER_KINDS; k++)
		if (w->pid[k] > 0)
			kill(w->pid[k], SIGKILL);
}

int workers_kind_of(const struct workers *w, pid_t pid)
{
	for (int k = 0; k < WORKER_KINDS; k++)
		if (pid > 0 && w->pid[k] == pid)
			return k;
	return -1;
}

int workers_running(const struct workers *w)
{
	int n = 0;

	for (int k = 0; k < WORKER_KINDS; k++)
		n += w->pid[k] > 0;
	return n;
}
