/* map_update.c - the export map changed in place, one address at a time, as DRAC's rpc.dracd did. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * Every writer (the lookup worker at a login, a session that could not reach it, popgatectl, the
 * admin page, the sweeper's expiry batches) first takes the writers' lock on PATH.lock, so there is
 * one writer at a time. A change takes the readers' locks on PATH.db exclusively (flock, which
 * Postfix's dict_db takes shared around every lookup on Linux, and a POSIX write lock, which
 * sendmail built without flock and DRAC built with FCNTL_LOCK take), puts or deletes, writes every
 * page it dirtied into the file and only then unlocks: a reader that locks never sees a
 * half-written page.
 *
 * Most writers open PATH.db for each change and close it after. The relay lookup worker, which
 * records every login, keeps it open instead (relay_map_keep_open): a login then costs the locks,
 * one put and the pages written, not an open that reads the metadata again. Its cache must not
 * outlive a change by anyone else, or its next write would put stale pages back; every change
 * leaves a new mtime and ctime on the file (below), and a rebuild renames a new file over it, so
 * before each change the kept handle is compared with what stat() says of PATH.db and reopened
 * if the file is not the one it left.
 *
 * No change is fsynced. The map mirrors the relay database, which is the source of truth, is itself
 * written without a sync at commit (DB_TXN_WRITE_NOSYNC) and is what the sweeper rebuilds the
 * whole map from at every start. A sync would make the map more durable than what it mirrors:
 * after a crash of the machine neither holds more than the disk got, and the rebuild at the next
 * start brings the map back in step. What readers need is that the pages are in the file (the page
 * cache, which every reader shares) before the locks go, which a write gives. The fdatasync was
 * most of a login's map cost (BENCHMARKS.md, 4 December: about 1 ms on a quiet disk, 2.5 to 7.7 ms
 * on a busy one).
 *
 * Readers cache pages too. Postfix restarts an smtpd process once a map's mtime differs from the
 * one it opened (seconds only); sendmail reopens a map whose mtime grew. So every change leaves the
 * file's mtime at least one second past the mtime before it, even when two changes fall in one
 * second: otherwise a reader that opened the map in that second would keep its stale pages.
 */

#define MAP_STATE_MAGIC 0x706d7331u /* "pms1" */

/* The map a long-lived writer keeps open between its changes (relay_map_keep_open). */
struct kept_map {
	bool on;               /* this process keeps the map open */
	pid_t pid;             /* the process that opened what follows: a forked child must not use it */
	int lockfd;            /* PATH.lock, open (its flock taken only during a change) */
	char lockpath[PATH_MAX];
	DB *map;               /* PATH.db, open and unlocked between changes, or NULL */
	char path[PATH_MAX];
	struct stat left;      /* PATH.db as our last change left it */
};

static struct kept_map kept = { .lockfd = -1 };

void relay_map_keep_open(bool on)
{
	if (kept.pid == getpid()) {
		if (kept.map != NULL)
			kept.map->close(kept.map, DB_NOSYNC);
		if (kept.lockfd >= 0)
			close(kept.lockfd);
	}
	kept = (struct kept_map){ .on = on, .pid = getpid(), .lockfd = -1 };
}

/* kept_here - whether this process keeps the map open (not a child forked with the parent's handles). */
static bool kept_here(void)
{
	return kept.on && kept.pid == getpid();
}

/* writers_lock - the writers' lock on P (kept open by a long-lived writer); the fd, or -1. */
static int writers_lock(const struct relay_map_paths *p)
{
	int fd;

	if (!kept_here())
		return relay_map_lock(p);
	if (kept.lockfd >= 0 && strcmp(kept.lockpath, p->lock) == 0) {
		if (flock(kept.lockfd, LOCK_EX) == 0)
			return kept.lockfd;
		log_err("relaydb: %s: lock: %s", p->lock, strerror(errno));
		return -1;
	}
	if (kept.lockfd >= 0)
		close(kept.lockfd);
	kept.lockfd = -1;
	if ((fd = relay_map_lock(p)) >= 0 && snprintf(kept.lockpath, sizeof(kept.lockpath), "%s", p->lock) <
	    (int)sizeof(kept.lockpath))
		kept.lockfd = fd;
	return fd;
}

/* writers_unlock - let the next writer in: unlock a kept lock file, close any other. */
static void writers_unlock(int lockfd)
{
	if (lockfd == kept.lockfd && kept_here())
		flock(lockfd, LOCK_UN);
	else
		close(lockfd);
}

void relay_map_state_read(const struct relay_map_paths *p, int lockfd, struct relay_map_state *st)
{
	int fd = lockfd >= 0 ? lockfd : open(p->lock, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, st, sizeof(*st), 0) : -1;

	if (fd >= 0 && lockfd < 0)
		close(fd);
	if (n != (ssize_t)sizeof(*st) || st->magic != MAP_STATE_MAGIC)
		*st = (struct relay_map_state){ .stale = 1 };
}

int relay_map_state_write(int lockfd, const struct relay_map_state *st)
{
	struct relay_map_state out = *st;

	out.magic = MAP_STATE_MAGIC;
	return pwrite(lockfd, &out, sizeof(out), 0) == (ssize_t)sizeof(out) ? 0 : -1;
}

/* same_file - whether A and B are one file, unchanged: no other writer came between (see above). */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* kept_drop - close the kept map; closing also drops the readers' locks when they are held. */
static void kept_drop(void)
{
	if (kept.map != NULL)
		kept.map->close(kept.map, DB_NOSYNC);
	kept.map = NULL;
}

/* map_db_open - open PATH with no environment, or reuse the kept map when PATH is as we left it. 0 or -1. */
static int map_db_open(const char *path, DB **mapp)
{
	struct stat now;
	DB *map;
	int ret;

	if (kept_here() && kept.map != NULL) {
		if (strcmp(kept.path, path) == 0 && stat(path, &now) == 0 && same_file(&now, &kept.left)) {
			*mapp = kept.map;
			return 0;
		}
		kept_drop(); /* before the open: closing a descriptor of a file drops our POSIX locks on it */
	}
	if ((ret = db_create(&map, NULL, 0)) != 0) {
		log_err("relaydb: export map %s: %s", path, db_strerror(ret));
		return -1;
	}
	if ((ret = map->open(map, NULL, path, NULL, DB_BTREE, 0, 0)) != 0) {
		log_warn("relaydb: export map %s: %s; rebuilding it", path, db_strerror(ret));
		map->close(map, 0);
		return -1;
	}
	if (kept_here() && snprintf(kept.path, sizeof(kept.path), "%s", path) < (int)sizeof(kept.path))
		kept.map = map;
	*mapp = map;
	return 0;
}

/* map_release - after a failure: close MAP (the kept one too, its cache is in doubt), dropping its locks. */
static void map_release(DB *map)
{
	if (map == kept.map && kept_here())
		kept_drop();
	else
		map->close(map, DB_NOSYNC);
}

/* map_open - open PATH and take the readers' locks exclusively; *MTIME gets its mtime. 0 or -1. */
static int map_open(const char *path, DB **mapp, time_t *mtime)
{
	struct flock wr = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	DB *map;
	int ret, fd;

	*mapp = NULL;
	if (map_db_open(path, &map) < 0)
		return -1;
	/* Locked after the open: Berkeley DB opens and closes the file while it reads the metadata,
	 * and closing any descriptor of a file drops this process's POSIX locks on it. */
	if ((ret = map->fd(map, &fd)) != 0) {
		log_err("relaydb: export map %s: %s", path, db_strerror(ret));
		map_release(map);
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0 || fcntl(fd, F_SETLKW, &wr) < 0 || fstat(fd, &st) < 0) {
		log_err("relaydb: export map %s: lock: %s", path, strerror(errno));
		map_release(map);
		return -1;
	}
	*mtime = st.st_mtime;
	*mapp = map;
	return 0;
}

/* map_write_pages - write every page MAP dirtied into its file, without a sync (see above). 0 or -1. */
static int map_write_pages(DB *map, const char *path)
{
	DB_ENV *env = map->get_env(map);
	DB_MPOOL_STAT *st = NULL;
	uintmax_t dirty = 1;
	int ret, wrote;

	/* A trickle to 100% clean writes each dirty page of the map's private cache; unlike DB->sync
	 * it does not fsync the file afterwards. */
	if ((ret = env->memp_trickle(env, 100, &wrote)) != 0) {
		log_err("relaydb: export map %s: write: %s", path, db_strerror(ret));
		return -1;
	}
	/* Readers must find every page in the file: should the trickle have left one (it may skip a
	 * page it cannot take at once), DB->sync writes them all, at the price of its fsync. */
	if (env->memp_stat(env, &st, NULL, 0) == 0) {
		dirty = st->st_page_dirty;
		free(st);
	}
	if (dirty != 0 && (ret = map->sync(map, 0)) != 0) {
		log_err("relaydb: export map %s: sync: %s", path, db_strerror(ret));
		return -1;
	}
	return 0;
}

/* map_close - write MAP's pages (written while the readers are locked out), move its mtime on, unlock. 0 or -1. */
static int map_close(DB *map, const char *path, time_t before)
{
	struct flock un = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	struct stat st;
	int fd = -1, ret, rc;

	rc = map_write_pages(map, path);
	if (map->fd(map, &fd) == 0 && fstat(fd, &st) == 0 && st.st_mtime <= before) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = before + 1 } };

		futimens(fd, ts);
	}
	if (map == kept.map && kept_here()) {
		/* Kept open: remember the file as we leave it, then let the readers in. */
		if (rc < 0 || fd < 0 || fstat(fd, &kept.left) < 0 || fcntl(fd, F_SETLK, &un) < 0 ||
		    flock(fd, LOCK_UN) < 0) {
			kept_drop();
			return -1;
		}
		return 0;
	}
	/* The close releases the locks; DB_NOSYNC: the pages are written and no fsync is wanted. */
	if ((ret = map->close(map, DB_NOSYNC)) != 0) {
		log_err("relaydb: export map %s: close: %s", path, db_strerror(ret));
		rc = -1;
	}
	return rc;
}

/* map_change - put CANON's keys with value UNTIL, or delete them when UNTIL is 0. 0 or -1. */
static int map_change(DB *map, const char *path, const char *canon, int64_t until)
{
	char keys[RELAY_MAP_KEYS][RELAY_MAP_KEY_MAX], val[24];
	int nkeys = relay_map_keys(canon, keys);

	snprintf(val, sizeof(val), "%" PRId64, until);
	for (int i = 0; i < nkeys; i++) {
		DBT k = { .data = keys[i], .size = (u_int32_t)strlen(keys[i]) };
		DBT v = { .data = val, .size = (u_int32_t)strlen(val) };
		int ret = until != 0 ? map->put(map, NULL, &k, &v, 0) : map->del(map, NULL, &k, 0);

		if (ret != 0 && !(until == 0 && ret == DB_NOTFOUND)) {
			log_err("relaydb: export map %s: %s %s: %s", path, until != 0 ? "put" : "delete",
				keys[i], db_strerror(ret));
			return -1;
		}
	}
	return 0;
}

/* change_in_place - CANON's keys as UNTIL says, marked stale in ST until done. 0 or -1. */
static int change_in_place(const struct relay_map_paths *p, int lockfd, struct relay_map_state *st,
			   const char *canon, int64_t until)
{
	time_t mtime;
	DB *map;
	int rc;

	st->stale = 1;
	if (relay_map_state_write(lockfd, st) < 0 || map_open(p->db, &map, &mtime) < 0)
		return -1;
	rc = map_change(map, p->db, canon, until);
	if (map_close(map, p->db, mtime) < 0 || rc < 0) {
		if (kept_here())
			kept_drop(); /* the rebuild that follows replaces the file this cache knows */
		return -1;
	}
	st->stale = 0;
	if (until != 0 && (st->next_expiry == 0 || until < st->next_expiry))
		st->next_expiry = until;
	return relay_map_state_write(lockfd, st);
}

int relaydb_map_update(const struct config *cfg, struct relaydb *db, const char *ip, time_t now)
{
	struct relay_map_paths p;
	struct relay_map_state st;
	struct relay_entry e;
	char canon[IP_TEXT_MAX];
	int64_t until = 0;
	int lockfd, found, r, rc;

	if ((r = relay_map_paths(cfg, &p)) <= 0)
		return r;
	if (ip_canonical(ip, canon) < 0)
		return -1;
	if ((lockfd = writers_lock(&p)) < 0)
		return -1;
	/* Read under the lock: of two writers of one address, the later one exports the later state. */
	if ((found = relaydb_get(db, canon, &e)) == 1)
		until = relay_map_until(cfg, &e, now);
	relay_map_state_read(&p, lockfd, &st);
	if (found < 0)
		rc = -1;
	else if (st.stale || access(p.db, F_OK) < 0 || change_in_place(&p, lockfd, &st, canon, until) < 0)
		rc = relay_map_rebuild(cfg, db, &p, lockfd, now, NULL);
	else
		rc = 0;
	if (found < 0) {
		st.stale = 1;  /* the database could not say: let the sweeper rebuild once it can */
		relay_map_state_write(lockfd, &st);
	}
	writers_unlock(lockfd);
	return rc;
}

/* expire_walk - delete every key whose value is at or before NOW; *NEXT: the earliest left. How many, or -1. */
static long expire_walk(DB *map, const char *path, time_t now, int64_t *next)
{
	DBC *cur;
	DBT k, v;
	long n = 0;
	int ret;

	*next = 0;
	if ((ret = map->cursor(map, NULL, &cur, 0)) != 0) {
		log_err("relaydb: export map %s: cursor: %s", path, db_strerror(ret));
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
		char val[24];
		int64_t until;

		snprintf(val, sizeof(val), "%.*s", (int)(v.size < sizeof(val) ? v.size : sizeof(val) - 1),
			 (const char *)v.data);
		until = strtoll(val, NULL, 10);
		if (until <= (int64_t)now) {
			if ((ret = cur->del(cur, 0)) != 0)
				break;
			n++;
		} else if (*next == 0 || until < *next) {
			*next = until;
		}
	}
	cur->close(cur);
	if (ret != DB_NOTFOUND) {
		log_err("relaydb: export map %s: expiry: %s", path, db_strerror(ret));
		return -1;
	}
	return n;
}

/* expire_batch - under the writers' lock, remove the keys expired at NOW in one change. How many, or -1. */
static long expire_batch(const struct relay_map_paths *p, int lockfd, struct relay_map_state *st, time_t now)
{
	time_t mtime;
	int64_t next;
	DB *map;
	long n;

	st->stale = 1;
	if (relay_map_state_write(lockfd, st) < 0 || map_open(p->db, &map, &mtime) < 0)
		return -1;
	n = expire_walk(map, p->db, now, &next);
	if (map_close(map, p->db, mtime) < 0 || n < 0)
		return -1;
	*st = (struct relay_map_state){ .stale = 0, .next_expiry = next };
	return relay_map_state_write(lockfd, st) < 0 ? -1 : n;
}

int relaydb_map_maintain(const struct config *cfg, struct relaydb *db, time_t now)
{
	struct relay_map_paths p;
	struct relay_map_state st;
	int lockfd, r, rc = 0;
	bool missing;

	if ((r = relay_map_paths(cfg, &p)) <= 0)
		return r;
	/* A look without the lock first: this runs five times a second and mostly finds nothing to do. */
	relay_map_state_read(&p, -1, &st);
	missing = access(p.db, F_OK) < 0;
	if (!st.stale && !missing && (st.next_expiry == 0 || (int64_t)now < st.next_expiry))
		return 0;
	if ((lockfd = relay_map_lock(&p)) < 0)
		return -1;
	relay_map_state_read(&p, lockfd, &st);
	missing = access(p.db, F_OK) < 0;
	if (st.stale || missing) {
		log_info("relaydb: export map %s is %s; rebuilding it", p.db, missing ? "missing" : "out of step");
		rc = relay_map_rebuild(cfg, db, &p, lockfd, now, NULL);
	} else if (st.next_expiry != 0 && (int64_t)now >= st.next_expiry) {
		long n = expire_batch(&p, lockfd, &st, now);

		if (n < 0)
			rc = relay_map_rebuild(cfg, db, &p, lockfd, now, NULL);
		else if (n > 0)
			log_debug("relaydb: export map: %ld key%s expired", n, n == 1 ? "" : "s");
	}
	close(lockfd);
	return rc;
}
