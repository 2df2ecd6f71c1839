/* ctl_relay.c - helpers of the popgatectl relay subcommands. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"

/*
 * become_db_owner - run as root, popgatectl would create Berkeley DB log and region files that
 * the daemon (server.user) then cannot open. Become the owner of an existing relay.db_dir for
 * good: nothing after this needs root, and no saved root id is left behind for anyone to regain.
 */
static int become_db_owner(const char *dir)
{
	struct stat st;

	if (geteuid() != 0 || stat(dir, &st) < 0 || st.st_uid == 0)
		return 0;
	if (setgroups(1, &st.st_gid) < 0 || setresgid(st.st_gid, st.st_gid, st.st_gid) < 0 ||
	    setresuid(st.st_uid, st.st_uid, st.st_uid) < 0) {
		fprintf(stderr, "popgatectl: cannot become the owner of %s: %s\n", dir, strerror(errno));
		return -1;
	}
	/* An ordinary process of that user again (the uid change cleared it; leak checkers need it). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

unsigned ctl_db_wait_s = CTL_DB_WAIT_DEFAULT_S;

/* db_stuck - SIGALRM: the relay database gave no answer within popgatectl -w. */
static void db_stuck(int sig)
{
	static const char msg[] =
		"popgatectl: the relay database did not answer within the time -w allows; a process that "
		"died inside it may hold it locked: popgated recovers it when it starts, then try again\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say it with */
	}
	_exit(CTL_EX_TEMPFAIL);
}

/*
 * arm_watchdog - Berkeley DB 5.3 waits without end on a region mutex that a killed process held
 * (DB_ENV->failchk frees it only for a process not already waiting), so a popgatectl run while
 * popgated was killed would hang for good. Bound it instead: 75, as for any unavailable database.
 */
static void arm_watchdog(void)
{
	struct sigaction sa;

	if (ctl_db_wait_s == 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = db_stuck;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == 0)
		alarm(ctl_db_wait_s);
}

void ctl_relay_progress(void)
{
	if (ctl_db_wait_s > 0)
		alarm(ctl_db_wait_s);
}

int ctl_relay_open(const struct config *cfg, struct relaydb **db)
{
	char err[1024];

	if (become_db_owner(conf(cfg)->relay.db_dir) < 0)
		return CTL_EX_TEMPFAIL;
	arm_watchdog();
	if (relaydb_open(cfg, db, err, sizeof(err)) < 0) {
		fprintf(stderr, "popgatectl: relay database: %s\n", err);
		return CTL_EX_TEMPFAIL;
	}
	return 0;
}

int ctl_relay_changed(const struct config *cfg, struct relaydb *db)
{
	if (relaydb_export(cfg, db, time(NULL), NULL) < 0) {
		fprintf(stderr, "popgatectl: could not rewrite %s (the daemon's sweeper will retry)\n",
			conf(cfg)->relay.export_map);
		return -1;
	}
	return 0;
}

int ctl_relay_changed_ip(const struct config *cfg, struct relaydb *db, const char *ip)
{
	if (relaydb_map_update(cfg, db, ip, time(NULL)) < 0) {
		fprintf(stderr, "popgatectl: could not update %s (the daemon's sweeper will rebuild it)\n",
			conf(cfg)->relay.export_map);
		return -1;
	}
	return 0;
}

void ctl_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

void ctl_format_left(int64_t t, time_t now, char *buf, size_t len)
{
	long long left = (long long)t - (long long)now;

	if (left <= 0)
		snprintf(buf, len, "-");
	else if (left >= 86400)
		snprintf(buf, len, "%lldd%lldh", left / 86400, left % 86400 / 3600);
	else if (left >= 3600)
		snprintf(buf, len, "%lldh%lldm", left / 3600, left % 3600 / 60);
	else
		snprintf(buf, len, "%lldm%llds", left / 60, left % 60);
}
