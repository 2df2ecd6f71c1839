/* mbox_commit.c - apply a session's deletions to an mbox crash-safely: write a new file, fsync, rename. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Why a complete new file renamed over the old one, and not compaction in place:
 *  - At every instant the path names a complete mbox, the old one or the new one. A kill -9,
 *    a full disk or a power cut at any point leaves every message intact and parseable for
 *    the MDA, for mutt and for us, without a journal and without a recovery step that would
 *    have to run before anyone else touches the file. In-place compaction moves messages
 *    over their own old bytes; doing that safely needs a journal that only we know to
 *    replay, and until we do the MDA and MUAs see a damaged file.
 *  - It needs what the dotlock needs anyway: write access to the spool directory (group
 *    mail on Debian). It needs free space for the kept mail; when it runs out (ENOSPC,
 *    EFBIG) the temp file is removed and the mbox is untouched.
 *  - The new file gets the old one's owner, group, mode, atime and mtime (so "new mail"
 *    indicators keep their meaning); ACLs and xattrs are not copied.
 *  - An inode change is only visible to programs that opened the file before we took the
 *    dotlock and kept it open: Debian's MDAs (Postfix local, exim4, procmail) take the
 *    dotlock before they open the mailbox, so none can be left appending to the old inode.
 * Under the dotlock and fcntl lock we check that the file is still the one the session read
 * (same inode, not shorter, every message still beginning with the same bytes), copy the kept
 * messages' spans (each with its separating blank line) and then everything appended since
 * the session began, fsync, rename, fsync the directory, and write the new index.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "mailbox/mbox.h"
#include "mailbox/mbox_lock.h"

/* Largest piece copied in one call: bounds the time between dotlock touches and hook calls. */
#define COPY_PIECE (4u * 1024 * 1024)

static void (*commit_hook)(enum mbox_commit_stage stage, uint64_t copied);
static size_t commit_piece = COPY_PIECE;

void mbox_commit_set_hook(void (*hook)(enum mbox_commit_stage stage, uint64_t copied), size_t piece)
{
	commit_hook = hook;
	commit_piece = piece > 0 && piece < COPY_PIECE ? piece : COPY_PIECE;
}

/* stage - report reaching STAGE to the test hook, if any. */
static void stage(enum mbox_commit_stage s, uint64_t copied)
{
	if (commit_hook != NULL)
		commit_hook(s, copied);
}

int mbox_commit_tmp_path(const char *mbox, char *buf, size_t cap)
{
	const char *slash = strrchr(mbox, '/');
	int n;

	if (slash == NULL)
		return -1;
	n = snprintf(buf, cap, "%.*s/.%s.popgate-new", (int)(slash - mbox), mbox, slash + 1);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* One commit in progress. */
struct commit {
	struct mailbox *mb;
	struct mbox_lock lk;
	struct stat orig;      /* the mbox under the lock */
	char tmp[4200];
	int tfd;
	uint64_t copied;
	char *buf;             /* for the read/write fallback of copy_file_range */
};

/* still_ours - whether the locked file is the one the session parsed, possibly with mail appended. */
static bool still_ours(struct commit *c)
{
	struct mailbox *mb = c->mb;
	struct stat now;
	char head[5];

	if (stat(mb->path, &now) < 0 || fstat(mb->fd, &c->orig) < 0 || now.st_ino != mb->ino ||
	    now.st_dev != mb->dev || (uint64_t)c->orig.st_size < mb->open_size)
		return false;
	for (size_t i = 0; i < mb->count; i++) {
		bool ok;

		if (mbox_spot_hash(mb->fd, mb->msgs[i].off, mb->msgs[i].span_end, &ok) != mb->msgs[i].from_hash || !ok)
			return false;
	}
	if ((uint64_t)c->orig.st_size > mb->open_size &&
	    (pread(mb->fd, head, 5, (off_t)mb->open_size) != 5 || memcmp(head, "From ", 5) != 0))
		return false;
	return true;
}

/* create_temp - a fresh temp file beside the mbox with the mbox's owner, group and mode. */
static enum mailbox_status create_temp(struct commit *c)
{
	const char *path = c->mb->path;

	if (mbox_commit_tmp_path(path, c->tmp, sizeof(c->tmp)) < 0) {
		log_err("mailbox %s: path too long for a temp file", path);
		return MAILBOX_PERM;
	}
	/* A leftover of a killed commit: we hold the dotlock, so no one else is writing it. */
	if (unlink(c->tmp) < 0 && errno != ENOENT)
		log_warn("mailbox %s: cannot remove old temp file %s: %s", path, c->tmp, strerror(errno));
	c->tfd = open(c->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (c->tfd < 0) {
		log_err("mailbox %s: cannot create %s, deletions not applied: %s", path, c->tmp, strerror(errno));
		return MAILBOX_TEMP;
	}
	if ((c->orig.st_uid != geteuid() || c->orig.st_gid != getegid()) &&
	    fchown(c->tfd, c->orig.st_uid, c->orig.st_gid) < 0) {
		log_err("mailbox %s: cannot give %s the mailbox's owner %ld:%ld: %s", path, c->tmp,
			(long)c->orig.st_uid, (long)c->orig.st_gid, strerror(errno));
		return MAILBOX_TEMP;
	}
	if (fchmod(c->tfd, c->orig.st_mode & 07777) < 0) {
		log_err("mailbox %s: cannot set the mode of %s: %s", path, c->tmp, strerror(errno));
		return MAILBOX_TEMP;
	}
	return MAILBOX_OK;
}

/* copy_rw - the portable fallback: move up to LEN bytes from OFF through a buffer. Bytes, or -1. */
static ssize_t copy_rw(struct commit *c, uint64_t off, size_t len)
{
	ssize_t r;

	if (c->buf == NULL && (c->buf = malloc(COPY_PIECE)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	do
		r = pread(c->mb->fd, c->buf, len, (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r == 0)
			errno = EIO; /* shorter than under the lock a moment ago */
		return -1;
	}
	if (fileio_write_all(c->tfd, c->buf, (size_t)r) < 0)
		return -1;
	return r;
}

/* copy_span - append bytes [OFF, END) of the mbox to the temp file. */
static int copy_span(struct commit *c, uint64_t off, uint64_t end)
{
	while (off < end) {
		size_t want = end - off < commit_piece ? (size_t)(end - off) : commit_piece;
		loff_t in = (loff_t)off;
		ssize_t n = copy_file_range(c->mb->fd, &in, c->tfd, NULL, want, 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
			n = copy_rw(c, off, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("mailbox %s: writing %s, deletions not applied: %s", c->mb->path, c->tmp,
				n == 0 ? "unexpected end of file" : strerror(errno));
			return -1;
		}
		off += (uint64_t)n;
		c->copied += (uint64_t)n;
		mbox_lock_touch(&c->lk);
		stage(MBOX_STAGE_COPY, c->copied);
	}
	return 0;
}

/* copy_kept - the kept messages' spans (adjacent ones in one go), then mail appended since open. */
static int copy_kept(struct commit *c)
{
	struct mailbox *mb = c->mb;
	size_t i = 0;

	while (i < mb->count) {
		size_t j;

		if (mb->msgs[i].deleted) {
			i++;
			continue;
		}
		for (j = i; j + 1 < mb->count && !mb->msgs[j + 1].deleted; j++)
			;
		if (copy_span(c, mb->msgs[i].off, mb->msgs[j].span_end) < 0)
			return -1;
		i = j + 1;
	}
	return copy_span(c, mb->open_size, (uint64_t)c->orig.st_size);
}

/* sync_temp - give the temp file the old times and make it durable. */
static int sync_temp(struct commit *c, struct stat *st)
{
	struct timespec times[2] = { c->orig.st_atim, c->orig.st_mtim };

	if (futimens(c->tfd, times) < 0)
		log_warn("mailbox %s: cannot keep the mailbox's times: %s", c->mb->path, strerror(errno));
	if (fsync(c->tfd) < 0 || fstat(c->tfd, st) < 0) {
		log_err("mailbox %s: fsync %s, deletions not applied: %s", c->mb->path, c->tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* sync_dir - make the rename durable. */
static void sync_dir(const char *path)
{
	char dir[4096];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		log_warn("mailbox %s: fsync of its directory: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* save_new_index - index the kept messages at their offsets in the new file. */
static void save_new_index(struct commit *c, const struct stat *st)
{
	struct mailbox *mb = c->mb;
	struct mailbox_msg *kept = calloc(mb->count, sizeof(*kept));
	size_t n = 0;
	uint64_t pos = 0;

	if (mb->index_dir == NULL || kept == NULL) {
		free(kept);
		return;
	}
	for (size_t i = 0; i < mb->count; i++) {
		const struct mailbox_msg *m = &mb->msgs[i];
		uint64_t shift = m->off - pos;

		if (m->deleted)
			continue;
		kept[n] = *m;
		kept[n].name = NULL;
		kept[n].off -= shift;
		kept[n].start -= shift;
		kept[n].span_end -= shift;
		pos = kept[n++].span_end;
	}
	mbox_index_save(mb, kept, n, st);
	free(kept);
}

/* apply - steps 2..n of the commit, with the locks held and the file verified. */
static enum mailbox_status apply(struct commit *c)
{
	struct stat st;
	enum mailbox_status s = create_temp(c);

	if (s != MAILBOX_OK)
		goto fail;
	s = MAILBOX_TEMP;
	if (copy_kept(c) < 0 || sync_temp(c, &st) < 0)
		goto fail;
	stage(MBOX_STAGE_SYNCED, c->copied);
	if (rename(c->tmp, c->mb->path) < 0) {
		log_err("mailbox %s: cannot rename %s over it, deletions not applied: %s", c->mb->path,
			c->tmp, strerror(errno));
		goto fail;
	}
	stage(MBOX_STAGE_RENAMED, c->copied);
	sync_dir(c->mb->path);
	save_new_index(c, &st);
	stage(MBOX_STAGE_DONE, c->copied);
	return MAILBOX_OK;
fail:
	if (c->tfd >= 0)
		unlink(c->tmp);
	return s;
}

enum mailbox_status mbox_commit(struct mailbox *mb)
{
	struct commit c;
	enum mailbox_status s;
	size_t deleted = 0;

	for (size_t i = 0; i < mb->count; i++)
		deleted += mb->msgs[i].deleted;
	if (deleted == 0)
		return MAILBOX_OK; /* nothing to do: the file and the index stay untouched */
	memset(&c, 0, sizeof(c));
	c.mb = mb;
	c.tfd = -1;
	mbox_lock_init(&c.lk, mb->path);
	s = mbox_dotlock(&c.lk);
	if (s == MAILBOX_OK)
		s = mbox_fcntl_lock(&c.lk, mb->fd, F_RDLCK);
	if (s == MAILBOX_OK && !still_ours(&c)) {
		log_err("mailbox %s: changed by another program during the session, deletions not applied",
			mb->path);
		s = MAILBOX_TEMP;
	}
	if (s == MAILBOX_OK)
		s = apply(&c);
	if (c.tfd >= 0)
		close(c.tfd);
	free(c.buf);
	mbox_unlock(&c.lk);
	if (s == MAILBOX_IN_USE)
		s = MAILBOX_TEMP;
	if (s == MAILBOX_OK)
		log_info("mailbox %s: %zu of %zu messages deleted", mb->path, deleted, mb->count);
	return s;
}
