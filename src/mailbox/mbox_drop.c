/* mbox_drop.c - bring back the mail a crashed qpopper session left in its drop file (.USER.pop). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * qpopper (outside its "server mode") copies the spool into a temporary drop file, by default
 * .USER.pop beside the mbox, empties the spool, and at QUIT copies the undeleted messages back.
 * A qpopper killed in between leaves mail that is only in the drop file, or, killed before it
 * emptied the spool, in both. At login, under the dotlock, the drop file's messages that are not
 * already in the mbox are added at its end and the drop file is removed, so that nothing is lost
 * and nothing served twice.
 *
 * Two copies are the same message when they agree on the From_ line and the headers qpopper
 * and MUAs leave alone (the UIDL digest, computed without X-UIDL, which qpopper adds to its
 * copy, and without Status:); equal messages are matched one for one, so a message really
 * delivered twice stays twice. The result is written as popgate's commit writes: a complete
 * new file, fsynced and renamed over the mbox, and only then is the drop file removed. Killed at
 * any point, the path names the old mbox or the complete new one, the drop file is still there,
 * and the next login finds every drop message already present and only removes it.
 *
 * A drop file not owned by the mailbox owner, or not an mbox, is left alone and logged: it is
 * not ours to merge. qpopper set up with a separate temp directory (-T, poptemp) keeps drop files
 * there: move them beside the mbox before the first login (docs/MIGRATING.md).
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "mailbox/mbox.h"
#include "mailbox/mbox_lock.h"

static void (*drop_hook)(enum mbox_drop_stage stage);

void mbox_drop_set_hook(void (*hook)(enum mbox_drop_stage stage))
{
	drop_hook = hook;
}

/* stage - report reaching STAGE to the test hook, if any. */
static void stage(enum mbox_drop_stage s)
{
	if (drop_hook != NULL)
		drop_hook(s);
}

int mbox_drop_path(const char *mbox, char *buf, size_t cap)
{
	const char *slash = strrchr(mbox, '/');
	int n;

	if (slash == NULL)
		return -1;
	n = snprintf(buf, cap, "%.*s/.%s.pop", (int)(slash - mbox), mbox, slash + 1);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* One file read for merging: its descriptor, mapping and messages (identities in uidl). */
struct side {
	struct mailbox mb;
	int fd;
	struct stat st;
	char *map;
};

/* side_parse - map and parse S's open file; messages get identities that ignore X-UIDL. */
static enum mailbox_status side_parse(struct side *s, const char *path)
{
	s->mb.path = (char *)path;
	s->mb.identity_only = true;
	if (s->st.st_size == 0)
		return MAILBOX_OK;
	s->map = mmap(NULL, (size_t)s->st.st_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		log_err("mailbox %s: mmap: %s", path, strerror(errno));
		return MAILBOX_TEMP;
	}
	return mbox_parse(&s->mb, s->map, 0, (uint64_t)s->st.st_size);
}

/* side_free - unmap and free S (its descriptor is the caller's). */
static void side_free(struct side *s)
{
	if (s->map != NULL)
		munmap(s->map, (size_t)s->st.st_size);
	free(s->mb.msgs);
	s->map = NULL;
	s->mb.msgs = NULL;
}

/* mark_missing - set DROP's msgs[].deleted for the messages CUR already holds (matched one for one). */
static size_t mark_missing(struct side *drop, const struct side *cur)
{
	bool *used = calloc(cur->mb.count + 1, sizeof(*used));
	size_t missing = 0;

	for (size_t i = 0; i < drop->mb.count; i++) {
		struct mailbox_msg *d = &drop->mb.msgs[i];

		d->deleted = i == 0 && mbox_is_pseudo(drop->fd, d); /* c-client's, not mail */
		for (size_t j = 0; !d->deleted && j < cur->mb.count; j++) {
			if (used != NULL && !used[j] && strcmp(d->uidl, cur->mb.msgs[j].uidl) == 0) {
				used[j] = true;
				d->deleted = true;
			}
		}
		if (used == NULL)
			d->deleted = true; /* out of memory: merge nothing now, the next login will */
		missing += !d->deleted;
	}
	free(used);
	return missing;
}

/* blank_after - the newlines to add after BUF[0..LEN) so that a From_ line may follow. */
static const char *blank_after(const char *buf, size_t len)
{
	if (len == 0 || (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n'))
		return "";
	return buf[len - 1] == '\n' ? "\n" : "\n\n";
}

/* write_merged - the mbox's bytes, then the drop messages not marked, each ending in a blank line. */
static int write_merged(int tfd, const struct side *cur, const struct side *drop)
{
	size_t len = (size_t)cur->st.st_size;
	const char *sep = cur->map != NULL ? blank_after(cur->map, len) : "";

	if (fileio_write_all(tfd, cur->map != NULL ? cur->map : "", len) < 0 ||
	    fileio_write_all(tfd, sep, strlen(sep)) < 0)
		return -1;
	for (size_t i = 0; i < drop->mb.count; i++) {
		const struct mailbox_msg *m = &drop->mb.msgs[i];
		size_t n = (size_t)(m->span_end - m->off);

		if (m->deleted)
			continue;
		sep = blank_after(drop->map + m->off, n);
		if (fileio_write_all(tfd, drop->map + m->off, n) < 0 ||
		    fileio_write_all(tfd, sep, strlen(sep)) < 0)
			return -1;
		stage(MBOX_DROP_STAGE_COPY);
	}
	return 0;
}

/* sync_dir - make a rename or unlink in PATH's directory durable. */
static int sync_dir(const char *path)
{
	char dir[4200];
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* replace_mbox - write the merged mailbox to a temp file and rename it over PATH, durably. */
static enum mailbox_status replace_mbox(const char *path, const struct side *cur, const struct side *drop)
{
	const struct stat *like = cur->fd >= 0 ? &cur->st : &drop->st;
	struct timespec times[2] = { like->st_atim, like->st_mtim };
	char tmp[4200];
	int tfd;

	if (mbox_commit_tmp_path(path, tmp, sizeof(tmp)) < 0)
		return MAILBOX_PERM;
	unlink(tmp); /* a killed run's: we hold the dotlock */
	tfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (tfd < 0 || ((like->st_uid != geteuid() || like->st_gid != getegid()) &&
			fchown(tfd, like->st_uid, like->st_gid) < 0) ||
	    fchmod(tfd, like->st_mode & 07777) < 0 || write_merged(tfd, cur, drop) < 0 ||
	    (cur->fd >= 0 && futimens(tfd, times) < 0) || fsync(tfd) < 0) {
		log_err("mailbox %s: writing %s to bring back qpopper's drop file: %s", path, tmp, strerror(errno));
		if (tfd >= 0) {
			close(tfd);
			unlink(tmp);
		}
		return MAILBOX_TEMP;
	}
	close(tfd);
	stage(MBOX_DROP_STAGE_SYNCED);
	if (rename(tmp, path) < 0) {
		log_err("mailbox %s: cannot rename %s over it: %s", path, tmp, strerror(errno));
		unlink(tmp);
		return MAILBOX_TEMP;
	}
	stage(MBOX_DROP_STAGE_RENAMED);
	if (sync_dir(path) < 0) {
		log_err("mailbox %s: fsync of its directory: %s", path, strerror(errno));
		return MAILBOX_TEMP; /* keep the drop file until the rename is surely on disk */
	}
	return MAILBOX_OK;
}

/* open_drop - the drop file if there is one we may merge: ours, regular. 1 opened, 0 none, -1 error. */
static int open_drop(const char *mbox, const char *dpath, struct side *drop)
{
	drop->fd = open(dpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (drop->fd < 0 && errno == ENOENT)
		return 0;
	if (drop->fd < 0 || fstat(drop->fd, &drop->st) < 0) {
		log_err("mailbox %s: qpopper drop file %s: %s", mbox, dpath, strerror(errno));
		return -1;
	}
	if (!S_ISREG(drop->st.st_mode) || drop->st.st_uid != geteuid()) {
		log_warn("mailbox %s: %s is not a regular file owned by the mailbox's owner: left alone", mbox, dpath);
		return 0;
	}
	return 1;
}

/* open_current - the mbox as it is, fcntl-locked through LK (fd -1 when it does not exist). */
static enum mailbox_status open_current(const char *mbox, struct mbox_lock *lk, struct side *cur)
{
	enum mailbox_status s;

	cur->fd = open(mbox, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (cur->fd < 0)
		return errno == ENOENT ? MAILBOX_OK : MAILBOX_TEMP;
	if (fstat(cur->fd, &cur->st) < 0 || !S_ISREG(cur->st.st_mode))
		return MAILBOX_PERM;
	s = mbox_fcntl_lock(lk, cur->fd, F_RDLCK);
	return s == MAILBOX_OK ? side_parse(cur, mbox) : s;
}

/* merge - the work of mbox_drop_recover once the drop file is open. */
static enum mailbox_status merge(const char *mbox, const char *dpath, struct mbox_lock *lk,
				 struct side *cur, struct side *drop)
{
	enum mailbox_status s = side_parse(drop, dpath);
	size_t missing;

	if (s == MAILBOX_PERM) {
		log_warn("mailbox %s: qpopper drop file %s is not an mbox: left alone", mbox, dpath);
		return MAILBOX_OK;
	}
	if (s == MAILBOX_OK)
		s = open_current(mbox, lk, cur);
	if (s != MAILBOX_OK)
		return s;
	missing = mark_missing(drop, cur);
	if (missing > 0 && (s = replace_mbox(mbox, cur, drop)) != MAILBOX_OK)
		return s;
	if (unlink(dpath) < 0 || sync_dir(dpath) < 0) {
		log_err("mailbox %s: cannot remove qpopper drop file %s: %s", mbox, dpath, strerror(errno));
		return MAILBOX_TEMP;
	}
	stage(MBOX_DROP_STAGE_REMOVED);
	log_info("mailbox %s: brought back %zu of %zu messages from qpopper drop file %s (the rest were "
		 "in the mailbox already)", mbox, missing, drop->mb.count, dpath);
	return MAILBOX_OK;
}

void mbox_drop_recover(const char *mbox, struct mbox_lock *lk)
{
	char dpath[4200];
	struct side cur, drop;
	enum mailbox_status s;
	int r;

	memset(&cur, 0, sizeof(cur));
	memset(&drop, 0, sizeof(drop));
	cur.fd = -1;
	if (mbox_drop_path(mbox, dpath, sizeof(dpath)) < 0)
		return;
	r = open_drop(mbox, dpath, &drop);
	s = r < 0 ? MAILBOX_TEMP : r == 0 ? MAILBOX_OK : merge(mbox, dpath, lk, &cur, &drop);
	if (cur.fd >= 0 && lk->fd == cur.fd)
		lk->fd = -1; /* closing the descriptor releases its OFD lock */
	side_free(&cur);
	side_free(&drop);
	if (cur.fd >= 0)
		close(cur.fd);
	if (drop.fd >= 0)
		close(drop.fd);
	/* The mail is safe where it is; a login refused for it would help no one. */
	if (s != MAILBOX_OK)
		log_warn("mailbox %s: qpopper drop file %s not merged (%s): its mail stays there until a later "
			 "login", mbox, dpath, mailbox_status_name(s));
}
