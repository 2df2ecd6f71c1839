/* blocks_write.c - changing the blocks file: under a lock, a new file written whole and renamed over the old. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/blocks.h"
#include "common/log.h"

/* The paths of one change, all in server.state_dir. */
struct blocks_paths {
	char dir[PATH_MAX];
	char file[PATH_MAX + 16];
	char lock[PATH_MAX + 16];
	char tmp[PATH_MAX + 32];
};

static int fill_paths(const struct config *cfg, struct blocks_paths *p)
{
	const char *dir = conf(cfg)->server.state_dir;
	int a = snprintf(p->dir, sizeof(p->dir), "%s", dir);
	int b = snprintf(p->file, sizeof(p->file), "%s/%s", dir, AUTH_BLOCKS_FILE);
	int c = snprintf(p->lock, sizeof(p->lock), "%s/%s", dir, AUTH_BLOCKS_LOCK);
	int d = snprintf(p->tmp, sizeof(p->tmp), "%s/%s.tmp.%ld", dir, AUTH_BLOCKS_FILE, (long)getpid());

	return (a < 0 || (size_t)a >= sizeof(p->dir) || b < 0 || (size_t)b >= sizeof(p->file) ||
		c < 0 || (size_t)c >= sizeof(p->lock) || d < 0 || (size_t)d >= sizeof(p->tmp)) ? -1 : 0;
}

/* give_to_dir_owner - as root, hand FD to the state directory's owner, so the daemon can read it. */
static void give_to_dir_owner(int fd, const char *dir)
{
	struct stat st;

	if (geteuid() == 0 && stat(dir, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		log_warn("blocks: cannot give the new file to %s's owner: %s", dir, strerror(errno));
}

/*
 * take_lock - the writers' exclusive lock. Opened read-only: flock needs no write access. root
 * (popgatectl) hands the file to the state directory's owner, so that a lock file root made first
 * still serves popgate-admind running as server.user, which could not open a 0640 root:root one.
 * Not readable by all: whoever can open it can hold it, and every block would wait for good (a
 * subverted protocol child, any local user); a file made 0644 before is narrowed by its owner or
 * root. The fd, or -1.
 */
static int take_lock(const struct blocks_paths *p, char *err, size_t errlen)
{
	int fd = open(p->lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0640);

	if (fd >= 0) {
		give_to_dir_owner(fd, p->dir);
		(void)fchmod(fd, 0640);
	}
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", p->lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* write_all - the blocks of B but SKIP (may be NULL), and EXTRA (may be NULL), into FP. */
static void write_all(FILE *fp, const struct auth_blocks *b, const char *skip, const struct auth_block *extra)
{
	fputs("# popgate blocked accounts: user since until pop by note (written by popgate; do not edit)\n", fp);
	for (size_t i = 0; i < b->n; i++) {
		const struct auth_block *e = &b->v[i];
		if (skip == NULL || strcmp(e->user, skip) != 0)
			fprintf(fp, "%s\t%" PRId64 "\t%" PRId64 "\t%d\t%s\t%s\n", e->user, e->since, e->until,
				e->pop ? 1 : 0, e->by, e->note);
	}
	if (extra != NULL)
		fprintf(fp, "%s\t%" PRId64 "\t%" PRId64 "\t%d\t%s\t%s\n", extra->user, extra->since,
			extra->until, extra->pop ? 1 : 0, extra->by, extra->note);
}

/* sync_dir - make the rename durable. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* replace - write B (minus SKIP, plus EXTRA) to a new file and rename it over the old. 0 or -1. */
static int replace(const struct blocks_paths *p, const struct auth_blocks *b, const char *skip,
		   const struct auth_block *extra, char *err, size_t errlen)
{
	int fd = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	FILE *fp;
	int bad;

	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot create %s: %s", p->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	give_to_dir_owner(fd, p->dir);
	write_all(fp, b, skip, extra);
	bad = fflush(fp) != 0 || ferror(fp) || fsync(fd) != 0;
	bad = (fclose(fp) != 0) || bad;
	if (bad || rename(p->tmp, p->file) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", p->file, strerror(errno));
		(void)unlink(p->tmp);
		return -1;
	}
	sync_dir(p->dir);
	return 0;
}

/* change - under the lock: load the blocks in force, then replace the file without SKIP, with EXTRA. */
static int change(const struct config *cfg, const char *skip, const struct auth_block *extra, time_t now,
		  bool *had, char *err, size_t errlen)
{
	struct blocks_paths p;
	struct auth_blocks b;
	int lock, rc;

	if (fill_paths(cfg, &p) < 0) {
		snprintf(err, errlen, "server.state_dir is too long");
		return -1;
	}
	if ((lock = take_lock(&p, err, errlen)) < 0)
		return -1;
	if (auth_blocks_load(cfg, &b, now) < 0) {
		snprintf(err, errlen, "cannot read %s (see the log)", p.file);
		close(lock);
		return -1;
	}
	*had = false;
	for (size_t i = 0; i < b.n; i++)
		if (skip != NULL && strcmp(b.v[i].user, skip) == 0)
			*had = true;
	rc = (extra != NULL || *had) ? replace(&p, &b, skip, extra, err, errlen) : 0;
	auth_blocks_free(&b);
	close(lock);
	return rc;
}

int auth_block_set(const struct config *cfg, const struct auth_block *b, time_t now, char *err, size_t errlen)
{
	bool had;

	if (!auth_name_valid(b->user) || !auth_block_note_ok(b->note) || strnlen(b->by, sizeof(b->by)) >= sizeof(b->by) ||
	    strpbrk(b->by, "\t\r\n") != NULL) {
		snprintf(err, errlen, "invalid user name, note or author");
		return -1;
	}
	return change(cfg, b->user, b, now, &had, err, errlen);
}

int auth_block_lift(const struct config *cfg, const char *user, time_t now, char *err, size_t errlen)
{
	bool had;

	if (!auth_name_valid(user))
		return 0;
	if (change(cfg, user, NULL, now, &had, err, errlen) < 0)
		return -1;
	return had ? 1 : 0;
}
