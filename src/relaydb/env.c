/* env.c - the Berkeley DB environment: transactional, self-recovering after a killed process. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * Why transactions and not Concurrent Data Store: CDS has no log, so a process killed inside a
 * write leaves a half-written btree and a write lock nobody releases. With transactions, every
 * process opens with DB_REGISTER | DB_RECOVER: the registry notices a process that died inside the
 * environment and the next opener runs recovery, while live processes get DB_RUNRECOVERY and
 * reopen. Lock timeouts turn a lock held by a dead process into an error instead of a hang, and
 * with is_alive a wait on a latch a dead process held returns DB_RUNRECOVERY instead of spinning;
 * the sweeper's periodic failchk finds such processes even when nobody trips over them.
 */

/* is_alive - whether PID still runs; Berkeley DB asks this about the holder of a latch or lock. */
static int is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env, (void)tid, (void)flags;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Berkeley DB's own messages go to our log, once, with the environment they concern. */
static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	log_err("relaydb: %s", msg);
}

/*
 * Closing an environment that recovery replaced under us lists every file handle it still has,
 * one error line each, after the DB_RUNRECOVERY that already said what happened: debug only.
 */
static void bdb_errcall_closing(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	log_debug("relaydb: closing a broken environment: %s", msg);
}

int relaydb_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * ignore_db_config - Berkeley DB always reads DB_CONFIG from the environment home and lets it
 * override what we set (log directory, sync flags, even the data directory). The directory is
 * ours, so a DB_CONFIG in it was not put there by popgate: move it aside and say so.
 */
static int ignore_db_config(const char *home)
{
	char path[PATH_MAX + 16], aside[PATH_MAX + 32];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/DB_CONFIG", home) >= (int)sizeof(path))
		return -1;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	snprintf(aside, sizeof(aside), "%s/DB_CONFIG.ignored", home);
	if (rename(path, aside) < 0 && errno != ENOENT) {
		log_err("relaydb: %s: cannot move it aside: %s", path, strerror(errno));
		return -1;
	}
	log_warn("relaydb: %s is not honoured; moved to %s", path, aside);
	return 0;
}

/* env_configure - settings every opener must agree on, applied before DB_ENV->open. */
static int env_configure(DB_ENV *env)
{
	int ret;

	env->set_errcall(env, bdb_errcall);
	env->set_errpfx(env, "relaydb");
	if ((ret = env->set_cachesize(env, 0, 8u << 20, 1)) != 0 ||
	    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->set_lk_max_locks(env, 20000)) != 0 ||
	    (ret = env->set_lk_max_objects(env, 20000)) != 0 ||
	    (ret = env->set_lk_max_lockers(env, 4000)) != 0 ||
	    (ret = env->set_timeout(env, RELAYDB_LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT)) != 0 ||
	    (ret = env->set_timeout(env, 5 * RELAYDB_LOCK_TIMEOUT_US, DB_SET_TXN_TIMEOUT)) != 0 ||
	    /* A killed process loses nothing with NOSYNC: the log is in the kernel's page cache. */
	    (ret = env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1)) != 0 ||
	    (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
	    (ret = env->set_lg_max(env, 4u << 20)) != 0 ||
	    (ret = env->set_thread_count(env, RELAYDB_MAX_PROCESSES)) != 0 ||
	    (ret = env->set_isalive(env, is_alive)) != 0)
		return ret;
	return 0;
}

static int db_open_file(struct relaydb *rdb)
{
	int ret = db_create(&rdb->db, rdb->env, 0);

	if (ret != 0)
		return ret;
	ret = rdb->db->open(rdb->db, NULL, RELAYDB_FILE, NULL, DB_BTREE, DB_CREATE | DB_AUTO_COMMIT, 0660);
	if (ret != 0) {
		rdb->db->close(rdb->db, 0);
		rdb->db = NULL;
	}
	return ret;
}

/*
 * open_lock - DB_REGISTER decides whether to run recovery, but a process that joins while another
 * is still recovering (or creating) the environment ends up in a region that is then replaced,
 * and panics. Opening is rare and quick, so every open in every process goes one at a time.
 * The descriptor, or -1.
 */
static int open_lock(const char *home)
{
	char path[PATH_MAX + 32];
	bool armed;
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", home, RELAYDB_OPEN_LOCK) >= (int)sizeof(path))
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660)) < 0)
		return -1;
	armed = relaydb_watchdog_suspend();
	while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		continue;
	relaydb_watchdog_resume(armed);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* env_open_locked - the part of relaydb_env_open that runs under the open lock; 0 or -1. */
static int env_open_locked(struct relaydb *rdb, char *err, size_t errlen)
{
	const u_int32_t flags = DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_TXN |
				DB_REGISTER | DB_RECOVER;
	bool existed = false;
	int ret = 0;

	if (ignore_db_config(rdb->home) < 0) {
		snprintf(err, errlen, "%s/DB_CONFIG: cannot be ignored safely", rdb->home);
		return -1;
	}
	/* A full filesystem must give errors, never SIGBUS in a region (see space.c). */
	if (relaydb_space_check(rdb->home, &existed, err, errlen) < 0 ||
	    relaydb_unrecorded_prepare(rdb->home, err, errlen) < 0)
		return -1;
	if ((ret = db_env_create(&rdb->env, 0)) != 0) {
		snprintf(err, errlen, "%s: %s", rdb->home, db_strerror(ret));
		rdb->env = NULL;
		return -1;
	}
	if ((ret = env_configure(rdb->env)) != 0 ||
	    (ret = rdb->env->open(rdb->env, rdb->home, flags, 0660)) != 0) {
		snprintf(err, errlen, "%s: %s", rdb->home, db_strerror(ret));
		rdb->env->close(rdb->env, 0);
		rdb->env = NULL;
		return -1;
	}
	if (relaydb_space_allocate(rdb->home, !existed, err, errlen) < 0 || (ret = db_open_file(rdb)) != 0) {
		if (ret != 0)
			snprintf(err, errlen, "%s: %s", rdb->home, db_strerror(ret));
		rdb->env->close(rdb->env, 0);
		rdb->env = NULL;
		return -1;
	}
	return 0;
}

int relaydb_env_open(struct relaydb *rdb, char *err, size_t errlen)
{
	int lockfd, rc;

	rdb->env = NULL;
	rdb->db = NULL;
	rdb->broken = false;
	rdb->pid = getpid();
	if (relaydb_mkdir_p(rdb->home, 0750) < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", rdb->home, strerror(errno));
		return -1;
	}
	if ((lockfd = open_lock(rdb->home)) < 0) {
		snprintf(err, errlen, "%s/%s: %s", rdb->home, RELAYDB_OPEN_LOCK, strerror(errno));
		return -1;
	}
	rc = env_open_locked(rdb, err, errlen);
	close(lockfd);
	return rc;
}

/*
 * Handles inherited over fork are dropped, never closed: closing would release the parent's
 * registry slot and file locks. They stay reachable here so leak checkers see no leak.
 */
#define ABANDONED_MAX 8
static void *abandoned[ABANDONED_MAX][2];
static size_t nabandoned;

void relaydb_env_close(struct relaydb *rdb)
{
	if (rdb->pid != getpid()) {
		if (nabandoned < ABANDONED_MAX) {
			abandoned[nabandoned][0] = rdb->env;
			abandoned[nabandoned][1] = rdb->db;
			nabandoned++;
		}
	} else if (rdb->env != NULL || rdb->db != NULL) {
		/*
		 * Under the open lock: closing blanks this process's registry slot and then drops its
		 * lock, and an opener that read the slot before the blank and tries the lock after the
		 * drop takes this live process for a dead one and runs recovery, panicking everybody
		 * else (TESTING.md finding 8). Serialised with opens, a close cannot fall in between.
		 */
		int lockfd = open_lock(rdb->home);

		if (rdb->broken && rdb->env != NULL)
			rdb->env->set_errcall(rdb->env, bdb_errcall_closing);

		/* NOSYNC: the log already holds every commit, and a sync could wait on a dead process's page. */
		if (rdb->db != NULL)
			rdb->db->close(rdb->db, DB_NOSYNC);
		if (rdb->env != NULL)
			rdb->env->close(rdb->env, 0);
		if (lockfd >= 0)
			close(lockfd);
	}
	rdb->db = NULL;
	rdb->env = NULL;
}

int relaydb_ready(struct relaydb *rdb)
{
	char err[PATH_MAX + 128];

	relaydb_watchdog_progress(); /* every operation, attempt and batch starts here */
	if (rdb->env != NULL && rdb->db != NULL && !rdb->broken && rdb->pid == getpid())
		return 0;
	relaydb_env_close(rdb);
	if (relaydb_env_open(rdb, err, sizeof(err)) < 0) {
		log_err("relaydb: reopen failed: %s", err);
		stats_note_relaydb_error();
		rdb->broken = true;
		return -1;
	}
	return 0;
}

void relaydb_failed(struct relaydb *rdb, int ret, const char *what, const char *ip)
{
	/* Anything but a clean "not found" may mean shared state we cannot trust: reopen next time. */
	if (ret == DB_RUNRECOVERY || relaydb_retryable(ret))
		rdb->broken = true;
	log_err("relaydb: %s%s%s: %s", what, ip != NULL ? " " : "", ip != NULL ? ip : "", db_strerror(ret));
	stats_note_relaydb_error();
}

bool relaydb_retryable(int ret)
{
	return ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED;
}

void relaydb_backoff(int attempt)
{
	struct timespec ts = { 0, 0 };
	long us = (1000L << (attempt < 6 ? attempt : 6)) + (long)(getpid() % 997);

	ts.tv_nsec = us * 1000L;
	nanosleep(&ts, NULL);
}

int relaydb_checkpoint(struct relaydb *rdb)
{
	int ret;

	if (rdb->ops != &relaydb_bdb_ops)
		return 0;  /* Berkeley DB housekeeping only */
	if (relaydb_ready(rdb) < 0)
		return -1;
	if ((ret = rdb->env->txn_checkpoint(rdb->env, 0, 0, 0)) != 0) {
		relaydb_failed(rdb, ret, "checkpoint", NULL);
		return -1;
	}
	return 0;
}

int relaydb_failchk(struct relaydb *rdb)
{
	int ret;

	if (rdb->ops != &relaydb_bdb_ops)
		return 0;  /* Berkeley DB housekeeping only */
	if (relaydb_ready(rdb) < 0)
		return -1;
	if ((ret = rdb->env->failchk(rdb->env, 0)) != 0) {
		relaydb_failed(rdb, ret, "failchk", NULL);
		return -1;
	}
	return 0;
}

int relaydb_expire_locks(struct relaydb *rdb)
{
	int ret, aborted = 0;

	if (rdb->ops != &relaydb_bdb_ops)
		return 0;  /* Berkeley DB housekeeping only */
	if (relaydb_ready(rdb) < 0)
		return -1;
	/* Berkeley DB only enforces lock timeouts when a detector runs; a blocked waiter cannot. */
	if ((ret = rdb->env->lock_detect(rdb->env, 0, DB_LOCK_EXPIRE, &aborted)) != 0) {
		relaydb_failed(rdb, ret, "lock_detect", NULL);
		return -1;
	}
	return aborted;
}
