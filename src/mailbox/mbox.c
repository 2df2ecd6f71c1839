/* mbox.c - the mbox driver: open (lock, qpopper's drop file, index, parse), RETR/TOP, close. Commit is in mbox_commit.c. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Locks, in the order Debian's delivery agents take them:
 *  1. the session lock (flock on a file in the index directory, or on the mbox itself when
 *     there is none), held for the whole session: a second POP3 session gets MAILBOX_IN_USE,
 *     while MDAs, which never look at it, keep delivering;
 *  2. the dotlock MBOX.lock, then an fcntl lock on the file, held only while the file is read
 *     at open and while mailbox_commit rewrites it. A login that finds nothing to read (the
 *     file missing, empty, or as the index left it) and no dotlock of anyone takes the fcntl
 *     lock alone: see open_unchanged.
 * The session keeps its descriptor. Messages are read with pread() from the offsets found at
 * open; each read first checks that the message still begins with the bytes it had then, so
 * a mailbox rewritten behind our back (an MUA that ignored our session) fails loudly instead
 * of sending the wrong mail.
 *
 * The parse at open maps the file (memchr over the mapping: ~0.4 s for 1 GB from the page
 * cache). It runs under both spool locks, so only a program that ignores them could truncate
 * the file under the mapping; that would end this one session with SIGBUS, nothing more.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "mailbox/mbox.h"
#include "mailbox/mbox_lock.h"

/* open_locked - open the mbox and fcntl-lock it, making sure the path still names what we locked. */
static enum mailbox_status open_locked(struct mailbox *mb, struct mbox_lock *lk, struct stat *st)
{
	for (int tries = 0; tries < 5; tries++) {
		struct stat now;
		enum mailbox_status s;
		int fd = open(mb->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0 && errno == ENOENT)
			return MAILBOX_OK; /* no mail has ever arrived: an empty mailbox */
		if (fd < 0) {
			log_err("mailbox %s: cannot open: %s", mb->path,
				errno == ELOOP ? "is a symbolic link" : strerror(errno));
			return errno == ELOOP ? MAILBOX_PERM : MAILBOX_TEMP;
		}
		if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
			log_err("mailbox %s: not a regular file", mb->path);
			close(fd);
			return MAILBOX_PERM;
		}
		s = mbox_fcntl_lock(lk, fd, F_RDLCK);
		if (s != MAILBOX_OK) {
			close(fd);
			return s;
		}
		if (stat(mb->path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
		    fstat(fd, st) == 0) {
			mb->fd = fd;
			return MAILBOX_OK;
		}
		/* Replaced (e.g. by another server's commit) between open and lock: start again. */
		mbox_unlock(lk);
		close(fd);
	}
	log_err("mailbox %s: keeps being replaced while we lock it", mb->path);
	return MAILBOX_TEMP;
}

/* parse_file - parse the locked file from RESUME (falling back to the start), and refresh the index. */
static enum mailbox_status parse_file(struct mailbox *mb, const struct stat *st, uint64_t resume)
{
	uint64_t size = (uint64_t)st->st_size;
	enum mailbox_status s;
	void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, mb->fd, 0);

	if (map == MAP_FAILED) {
		log_err("mailbox %s: mmap of %llu bytes: %s", mb->path, (unsigned long long)size, strerror(errno));
		return MAILBOX_TEMP;
	}
	madvise(map, (size_t)size, MADV_SEQUENTIAL);
	s = mbox_parse(mb, map, resume, size);
	if (s == MAILBOX_PERM && resume > 0) {
		log_info("mailbox %s: index does not match the file, parsing it all", mb->path);
		mb->count = 0;
		mbox_untake_known(mb); /* the records dropped here had taken their UIDLs */
		s = mbox_parse(mb, map, 0, size);
	}
	munmap(map, (size_t)size);
	if (s == MAILBOX_OK && uidl_make_unique(mb) < 0)
		s = MAILBOX_TEMP;
	if (s == MAILBOX_OK)
		mbox_index_save(mb, mb->msgs, mb->count, st); /* a cache: failure only costs speed */
	return s;
}

/*
 * load_messages - fill MB from the index where it is still valid and from the file otherwise.
 * With INDEX_ONLY, only from an index that matches the file exactly: else nothing is kept and
 * *STALE is set (the file must then be read under the dotlock).
 */
static enum mailbox_status load_messages(struct mailbox *mb, const struct stat *st, bool index_only,
					 bool *stale)
{
	uint64_t resume = 0;
	bool exact = false;
	enum mailbox_status s = MAILBOX_OK;

	mb->dev = st->st_dev;
	mb->ino = st->st_ino;
	mb->open_size = (uint64_t)st->st_size;
	if (st->st_size == 0) {
		mbox_index_mark_empty(mb);
		return MAILBOX_OK;
	}
	mbox_index_load(mb, mb->fd, st, &resume, &exact);
	if (!exact && index_only) {
		mb->count = 0; /* the records kept for a resumed parse: the careful way loads them again */
		mbox_forget_known(mb);
		*stale = true;
		return MAILBOX_OK;
	}
	if (!exact)
		s = parse_file(mb, st, resume);
	mbox_forget_known(mb);
	/* Not mail: not counted, served or deleted; a commit keeps it at the top, where c-client wants it. */
	if (s == MAILBOX_OK && mb->count > 0 && mbox_is_pseudo(mb->fd, &mb->msgs[0]))
		mb->first = 1;
	return s;
}

/* present - whether PATH exists (or cannot be told not to: then the careful way is taken). */
static bool present(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/*
 * open_unchanged - the way in when there is nothing to read: the mailbox missing, empty, or as
 * the index left it (size, mtime and the spot hashes of mbox_index.c), under the fcntl lock
 * alone. The dotlock guards reading the file at open against a writer that takes it alone;
 * here nothing is read but those spots, and the Debian MDAs that append (Postfix local,
 * exim4, procmail) and mutt hold an fcntl lock while they write, which ours excludes (Dovecot
 * reads mbox under fcntl locks alone: mbox_read_locks). Anyone's dotlock, live or stale, and a
 * qpopper drop file send the login the careful way, which waits for a live lock, clears a
 * stale one and what an interrupted update left, and brings back the drop. Creating and
 * removing the dotlock was the costliest step of a repeat login: an inode allocated and freed
 * in the spool, where ext4 searches past recently freed ones (8.5% of the whole machine's CPU,
 * load client included, at 16 clients on the bench machine). 1: MB open (or known empty); 0: take the careful way,
 * nothing kept; -1 with *S: failed.
 */
static int open_unchanged(struct mailbox *mb, enum mailbox_status *s)
{
	struct mbox_lock lk;
	struct stat st;
	char drop[4200];
	bool stale = false;

	mbox_lock_init(&lk, mb->path);
	if (present(lk.path) || mbox_drop_path(mb->path, drop, sizeof(drop)) < 0 || present(drop))
		return 0;
	if ((*s = open_locked(mb, &lk, &st)) != MAILBOX_OK)
		return -1;
	if (mb->fd < 0) {
		mbox_index_mark_empty(mb); /* no mail has ever arrived: its first is not qpopper's */
		return 1;
	}
	*s = load_messages(mb, &st, true, &stale);
	mbox_unlock(&lk);
	if (*s == MAILBOX_OK && !stale)
		return 1;
	close(mb->fd);
	mb->fd = -1;
	return *s == MAILBOX_OK ? 0 : -1;
}

/* remove_leftover - delete the temp file of a commit that was killed (we hold the dotlock). */
static void remove_leftover(const struct mailbox *mb)
{
	char tmp[4200];

	if (mbox_commit_tmp_path(mb->path, tmp, sizeof(tmp)) == 0 && unlink(tmp) == 0)
		log_info("mailbox %s: removed %s left by an interrupted update", mb->path, tmp);
}

static enum mailbox_status mbox_open(struct mailbox *mb)
{
	struct mbox_lock lk;
	struct stat st;
	enum mailbox_status s;

	if (mb->index_dir != NULL) {
		s = mailbox_session_lock(mb, -1);
		if (s != MAILBOX_OK || open_unchanged(mb, &s) != 0)
			return s;
	}
	mbox_lock_init(&lk, mb->path);
	s = mbox_dotlock(&lk);
	if (s != MAILBOX_OK)
		return s;
	if (lk.dotlocked)
		remove_leftover(mb);
	mbox_drop_recover(mb->path, &lk);
	s = open_locked(mb, &lk, &st);
	if (s == MAILBOX_OK && mb->fd >= 0 && mb->index_dir == NULL)
		s = mailbox_session_lock(mb, mb->fd);
	if (s == MAILBOX_OK && mb->fd >= 0)
		s = load_messages(mb, &st, false, NULL);
	else if (s == MAILBOX_OK)
		mbox_index_mark_empty(mb); /* no mail has ever arrived: its first is not qpopper's */
	mbox_unlock(&lk);
	return s;
}

static int mbox_send(struct mailbox *mb, size_t i, long body_lines, mailbox_write_fn fn, void *arg)
{
	const struct mailbox_msg *m = &mb->msgs[i];
	bool ok;

	if (mbox_spot_hash(mb->fd, m->off, m->span_end, &ok) != m->from_hash || !ok) {
		log_err("mailbox %s: message %zu at offset %llu changed since the session began "
			"(rewritten by another program)", mb->path, i + 1, (unsigned long long)m->off);
		return -1;
	}
	return mailbox_send_range(mb, mb->fd, m->start, m->len, body_lines, fn, arg);
}

const struct mailbox_driver mbox_driver = {
	.scheme = "mbox",
	.open = mbox_open,
	.send = mbox_send,
	.commit = mbox_commit,
	.close = NULL,
};
