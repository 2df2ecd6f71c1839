/* master.c - the supervisor loop: start-up, signals, reaping, reload and shutdown. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "privsep/privsep.h"
#include "common/stats.h"
#include "master/children.h"
#include "master/control.h"
#include "master/listeners.h"
#include "master/master.h"
#include "master/master_int.h"
#include "master/pidfile.h"
#include "master/pool.h"
#include "master/privdrop.h"
#include "master/reports.h"
#include "master/sdnotify.h"
#include "master/stress.h"
#include "master/tally.h"
#include "master/throttle.h"
#include "master/validate.h"
#include "master/workers.h"
#include "pop3d/pop3.h"

/* Addresses whose failed logins are remembered. */
#define THROTTLE_SLOTS 4096

static void set_hostname(struct master *m)
{
	const char *h = conf(m->cfg)->server.hostname;

	if (*h != '\0')
		snprintf(m->hostname, sizeof(m->hostname), "%s", h);
	else if (gethostname(m->hostname, sizeof(m->hostname)) < 0)
		snprintf(m->hostname, sizeof(m->hostname), "localhost");
	m->hostname[sizeof(m->hostname) - 1] = '\0';
}

static void apply_logging(const struct config *cfg)
{
	log_set_level(log_level_from_name(conf(cfg)->server.log_level));
}

static void reap(struct master *m)
{
	pid_t pid;
	int status;
	struct child ch;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool member = pool_reaped(&m->pool, pid);
		if (children_remove(m->kids, pid, &ch)) {
			session_ended(m, &ch);
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
				log_warn("session %ld (session=%s) for %s died of signal %d", (long)pid, ch.sid,
					 ch.ip_text, WTERMSIG(status));
		} else if (!member) {
			(void)workers_reaped(&m->workers, pid, status, m->stopping, time(NULL));
		}
		/* The sessions a monitor passed on end with it (its mailbox processes die with their parent). */
		while (member && children_remove_group(m->kids, pid, &ch))
			session_ended(m, &ch);
	}
}

/* reload - SIGHUP: a new config only if it is valid and every listener binds; else keep the old. */
static void reload(struct master *m)
{
	struct cfg_error err = { "" };
	struct listener_set ls;
	SSL_CTX *tls = NULL;
	struct config *cfg = config_load(config_path(m->cfg), &err);

	/* Growing the session table first: once bound, carried-over sockets live only in LS. */
	if (cfg != NULL && children_reserve(m->kids, (size_t)conf(cfg)->server.max_connections + 16) < 0)
		snprintf(err.msg, sizeof(err.msg), "out of memory for the session table");
	if (cfg == NULL || err.msg[0] != '\0' || master_validate_reload(m->cfg, cfg, &err) < 0 ||
	    master_validate(cfg, &tls, &err) < 0 ||
	    listeners_bind(cfg, &m->ls, &ls, &err) < 0) {
		log_err("reload refused, the running configuration stays in force: %s", err.msg);
		if (tls != NULL)
			SSL_CTX_free(tls);
		config_free(&cfg);
		(void)sdnotify_ready("reload refused, the previous configuration stays in force");
		return;
	}
	listeners_close(&m->ls); /* the ones carried over were taken out of it */
	m->ls = ls;
	if (m->tls != NULL)
		SSL_CTX_free(m->tls);
	m->tls = tls;
	config_free(&m->cfg);
	m->cfg = cfg;
	set_hostname(m);
	apply_logging(cfg);
	privsep_resolve_server_user(cfg);
	workers_stop(&m->workers);
	pool_retire_all(&m->pool); /* they serve with the old configuration */
	log_info("reloaded %s", config_path(cfg));
	(void)sdnotify_ready("serving; configuration reloaded");
}

static void begin_shutdown(struct master *m)
{
	if (m->stopping)
		return;
	(void)sdnotify_stopping();
	m->stopping = true;
	m->stop_deadline_ms = mono_ms() + conf(m->cfg)->server.shutdown_timeout * 1000;
	for (size_t i = 0; i < m->ls.n; i++) {
		close(m->ls.v[i].fd);
		m->ls.v[i].fd = -1;
	}
	workers_stop(&m->workers);
	pool_retire_all(&m->pool);
	log_info("shutting down: %zu sessions may run for up to %llds", children_count(m->kids),
		 conf(m->cfg)->server.shutdown_timeout);
}

static void on_signals(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: reap(m); break;
		case SIGHUP:
			if (!m->stopping) {
				(void)sdnotify_reloading();
				reload(m);
			}
			break;
		case SIGTERM: case SIGINT: begin_shutdown(m); break;
		default: break;
		}
	}
}

/* poll_timeout - wake for a due worker restart, the end of a stress episode or the shutdown deadline. */
static int poll_timeout(struct master *m, int restart_in)
{
	long ms = restart_in >= 0 ? restart_in * 1000L + 10 : -1;
	long calm = stress_wake_in(&m->stress);
	long idle = pool_trim(&m->pool, mono_ms(), conf(m->cfg)->server.process_idle_timeout * 1000);

	if (calm >= 0 && (ms < 0 || calm < ms))
		ms = calm + 10;
	if (idle >= 0 && (ms < 0 || idle < ms))
		ms = idle + 10;

	if (m->stopping) {
		long left = (long)(m->stop_deadline_ms - mono_ms());
		if (left < 0)
			left = 0;
		if (ms < 0 || left < ms)
			ms = left;
		if (ms > 1000 || ms < 0)
			ms = 1000;
	}
	return (int)ms;
}

static int close_fds_for_workers(const struct master *m, int *fds)
{
	/* Not reports.wr: a worker reports its relay database errors there (closed at an exec). */
	fds[0] = m->sigfd;
	fds[1] = m->reports.rd;
	fds[2] = m->pidfd;
	fds[3] = m->control;
	return m->control >= 0 ? 4 : 3;
}

static void loop(struct master *m)
{
	struct pollfd pfd[2 + 256];
	int cfds[4];
	size_t ncfds = (size_t)close_fds_for_workers(m, cfds);

	while (!m->stopping || children_count(m->kids) > 0 || workers_running(&m->workers) > 0) {
		int restart_in = m->stopping ? -1 :
			workers_restart_due(&m->workers, m->cfg, &m->ls, cfds, ncfds, time(NULL));
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = m->reports.rd, .events = POLLIN };
		for (size_t i = 0; i < m->ls.n && n + 1 < sizeof(pfd) / sizeof(pfd[0]); i++)
			pfd[n++] = (struct pollfd){ .fd = m->ls.v[i].svc != NULL ? m->ls.v[i].fd : -1,
						    .events = POLLIN };
		size_t nls = n;
		pfd[n++] = (struct pollfd){ .fd = m->control, .events = POLLIN };
		if (poll(pfd, n, poll_timeout(m, restart_in)) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (pfd[1].revents & POLLIN)
			read_reports(m);
		for (size_t i = 2; i < nls; i++)
			if (pfd[i].revents & POLLIN)
				accept_on(m, &m->ls.v[i - 2]);
		if (pfd[nls].revents & POLLIN)
			control_serve(m->control, m->cfg, m->fails, m->workers.pid[WORKER_ADMIN], time(NULL));
		if (pfd[0].revents & POLLIN)
			on_signals(m);
		stress_settle(&m->stress, m->kids, (size_t)conf(m->cfg)->server.max_connections);
		tally_state(m->stats, &m->stress, &m->workers);
		if (m->stopping && mono_ms() >= m->stop_deadline_ms &&
		    (children_count(m->kids) > 0 || workers_running(&m->workers) > 0)) {
			if (children_count(m->kids) > 0)
				log_warn("shutdown: killing %zu sessions still running", children_count(m->kids));
			if (workers_running(&m->workers) > 0)
				log_warn("shutdown: killing %d workers still running", workers_running(&m->workers));
			children_signal(m->kids, SIGKILL);
			workers_kill(&m->workers);
			m->stop_deadline_ms = mono_ms() + 5000;
		}
	}
}

/* daemonize - detach from the terminal; the parent exits once the child has its own session. */
static int daemonize(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	null = open("/dev/null", O_RDWR);
	if (null < 0)
		return -1;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	return chdir("/");
}

/* setup_signals - route SIGCHLD, SIGHUP, SIGTERM and SIGINT through a signalfd the loop polls. */
static int setup_signals(struct master *m)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &m->oldmask) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return m->sigfd < 0 ? -1 : 0;
}

/* startup - everything that needs root, in order: pid file, sockets, directories, then the drop. */
static int startup(struct master *m, bool foreground)
{
	struct cfg_error err;
	char what[1024];
	const char *pidpath = conf(m->cfg)->server.pid_file;

	if (master_validate(m->cfg, &m->tls, &err) < 0)
		goto config_error;
	if ((m->pidfd = pidfile_lock(pidpath, err.msg, sizeof(err.msg))) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	if (listeners_bind(m->cfg, NULL, &m->ls, &err) < 0 || master_prepare_dirs(m->cfg, &err) < 0)
		goto config_error;
	if (!foreground && daemonize() < 0) {
		log_err("cannot detach: %s", strerror(errno));
		return 1;
	}
	if (pidfile_write(m->pidfd) < 0)
		log_warn("%s: cannot write the pid: %s", pidpath, strerror(errno));
	/* Still root: the channel's buffers may be sized past the sysctl cap. */
	if (reports_open(&m->reports) < 0) {
		log_err("start-up: the session report channel: %s", strerror(errno));
		return 1;
	}
	if (workers_open(&m->workers) < 0)
		return 1;
	if (master_drop_privileges(m->cfg) < 0)
		return 1;
	m->pid = getpid(); /* after daemonize's fork */
	m->kids = children_new((size_t)conf(m->cfg)->server.max_connections + 16);
	m->fails = throttle_new(THROTTLE_SLOTS);
	m->control = control_open(m->cfg);   /* without it, lockouts cannot be lifted early: logged, not fatal */
	m->stats = stats_create();
	if (m->kids == NULL || m->fails == NULL || m->stats == NULL || stress_init(&m->stress) < 0 ||
	    setup_signals(m) < 0) {
		log_err("start-up: %s", strerror(errno));
		return 1;
	}
	listeners_describe(&m->ls, what, sizeof(what));
	log_info("popgated %s ready on %s", POPGATE_VERSION, what[0] != '\0' ? what : "no listeners");
	return 0;
config_error:
	log_err("%s", err.msg);
	return CFG_EXIT;
}

int master_run(struct config *cfg, bool foreground)
{
	struct master m = { .cfg = cfg, .sigfd = -1, .reports = { .rd = -1, .wr = -1 }, .pidfd = -1, .control = -1,
			    .workers = { .login_rd = -1, .login_wr = -1 } };
	int cfds[4], rc;

	set_hostname(&m);
	apply_logging(cfg);
	privsep_resolve_server_user(cfg);
	rc = startup(&m, foreground);
	if (rc == 0) {
		pop3_preload(); /* before the first fork, so that every session shares what it sets up */
		m.workers.report_fd = m.reports.wr;
		m.workers.pool = &m.pool;
		workers_start_all(&m.workers, m.cfg, &m.ls, cfds,
				  (size_t)close_fds_for_workers(&m, cfds));
		/* Type=notify: the listeners are bound and the workers forked; clients may come. */
		(void)sdnotify_ready("serving");
		loop(&m);
		log_info("popgated stopped");
	}
	pidfile_release(conf(m.cfg)->server.pid_file, m.pidfd);
	listeners_close(&m.ls);
	children_free(&m.kids);
	pool_free(&m.pool);
	throttle_free(&m.fails);
	control_close(m.cfg, m.control);
	stats_free(&m.stats);
	stress_free(&m.stress);
	reports_close(&m.reports);
	workers_close(&m.workers);
	if (m.tls != NULL)
		SSL_CTX_free(m.tls);
	config_free(&m.cfg);
	return rc;
}
