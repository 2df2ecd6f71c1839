/* mbox_lock.c - dotlock (PATH.lock) and fcntl locking of an mbox, in the order Debian's MDAs use. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Debian's delivery agents (Postfix local, exim4 appendfile, procmail) create the dotlock
 * first and then take an fcntl lock on the open mailbox; mutt does the same when it writes.
 * We do likewise and hold both only while reading or rewriting the file, never for a whole
 * session. Our fcntl locks are open-file-description locks (F_OFD_SETLK): they conflict with
 * the MDAs' classic POSIX locks, but unlike those they are not dropped when this process
 * closes some other descriptor of the same file.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "mailbox/mailbox_impl.h"
#include "mailbox/mbox_lock.h"

/* Between attempts: short enough to follow a quick MTA delivery, long enough not to spin. */
#define LOCK_POLL_MS 50

void mbox_lock_init(struct mbox_lock *l, const char *mbox)
{
	memset(l, 0, sizeof(*l));
	l->mbox = mbox;
	l->fd = -1;
	snprintf(l->path, sizeof(l->path), "%s.lock", mbox);
}

/* nap - sleep LOCK_POLL_MS. */
static void nap(void)
{
	struct timespec ts = { 0, LOCK_POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* dotlock_stale - whether the existing dotlock is old, or names a process that no longer exists. */
static bool dotlock_stale(const char *path)
{
	struct stat st;
	char buf[32];
	ssize_t n;
	int fd;
	long pid;

	if (lstat(path, &st) < 0)
		return errno == ENOENT;
	if (!S_ISREG(st.st_mode))
		return false;
	if (st.st_mtime + MBOX_DOTLOCK_STALE < time(NULL))
		return true;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* liblockfile writes the holder's pid; a lock of a dead local process is stale at once. */
	pid = strtol(buf, NULL, 10);
	return pid > 0 && pid != getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* dotlock_link - create the dotlock already holding our pid: an O_TMPFILE linked into place. */
static int dotlock_link(struct mbox_lock *l, const char *pid, int len)
{
	char dir[4200];
	char proc[64];
	const char *slash = strrchr(l->mbox, '/');
	int fd;
	int r;

	snprintf(dir, sizeof(dir), "%.*s", slash != NULL && slash != l->mbox ? (int)(slash - l->mbox) : 1,
		 slash != NULL ? l->mbox : ".");
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -2;
	if (write(fd, pid, (size_t)len) != len) {
		close(fd);
		return -2;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = linkat(AT_FDCWD, proc, AT_FDCWD, l->path, AT_SYMLINK_FOLLOW);
	close(fd);
	if (r == 0)
		return 1;
	return errno == EEXIST ? 0 : -2;
}

/*
 * dotlock_try - one attempt: 1 created, 0 exists, -1 error (errno set). Where the file
 * system allows, the lock appears with our pid already in it, so a kill -9 at any moment
 * leaves either no lock or one that names a dead process (stale at once), never an empty
 * one that would stop delivery for MBOX_DOTLOCK_STALE seconds. Otherwise plain O_EXCL.
 */
static int dotlock_try(struct mbox_lock *l)
{
	char pid[24];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	int r = dotlock_link(l, pid, len);
	int fd;

	if (r >= 0)
		return r;
	fd = open(l->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (write(fd, pid, (size_t)len) != len || close(fd) < 0) {
		int e = errno;

		unlink(l->path);
		errno = e != 0 ? e : EIO;
		return -1;
	}
	return 1;
}

enum mailbox_status mbox_dotlock(struct mbox_lock *l)
{
	static bool fallback_logged;
	int64_t deadline = mailbox_lock_deadline();

	for (;;) {
		int r = dotlock_try(l);

		if (r > 0) {
			l->dotlocked = true;
			l->touched_ms = mono_ms();
			return MAILBOX_OK;
		}
		if (r < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
			if (!fallback_logged)
				log_warn("mailbox %s: cannot create dotlock %s: %s; using fcntl locking only "
					 "(give the POP3 worker write access to the spool directory, e.g. group mail)",
					 l->mbox, l->path, strerror(errno));
			fallback_logged = true;
			return MAILBOX_OK;
		}
		if (r < 0) {
			log_err("mailbox %s: cannot create dotlock %s: %s", l->mbox, l->path, strerror(errno));
			return MAILBOX_TEMP;
		}
		if (dotlock_stale(l->path)) {
			log_info("mailbox %s: removing stale dotlock %s", l->mbox, l->path);
			if (unlink(l->path) < 0 && errno != ENOENT) {
				log_err("mailbox %s: cannot remove stale dotlock %s: %s", l->mbox, l->path,
					strerror(errno));
				return MAILBOX_TEMP;
			}
			continue;
		}
		if (mono_ms() >= deadline) {
			log_info("mailbox %s: dotlock %s held by another program", l->mbox, l->path);
			return MAILBOX_IN_USE;
		}
		nap();
	}
}

enum mailbox_status mbox_fcntl_lock(struct mbox_lock *l, int fd, short type)
{
	int64_t deadline = mailbox_lock_deadline();
	struct flock fl;

	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = type;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			l->fd = fd;
			return MAILBOX_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES) {
			log_err("mailbox %s: fcntl lock: %s", l->mbox, strerror(errno));
			return MAILBOX_TEMP;
		}
		if (mono_ms() >= deadline) {
			log_info("mailbox %s: fcntl-locked by another program", l->mbox);
			return MAILBOX_IN_USE;
		}
		nap();
	}
}

void mbox_lock_touch(struct mbox_lock *l)
{
	int64_t now = mono_ms();

	if (!l->dotlocked || now - l->touched_ms < 30000)
		return;
	if (utimensat(AT_FDCWD, l->path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		log_warn("mailbox %s: cannot touch dotlock %s: %s", l->mbox, l->path, strerror(errno));
	l->touched_ms = now;
}

void mbox_unlock(struct mbox_lock *l)
{
	if (l->fd >= 0) {
		struct flock fl;

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_UNLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(l->fd, F_OFD_SETLK, &fl) < 0)
			log_err("mailbox %s: fcntl unlock: %s", l->mbox, strerror(errno));
		l->fd = -1;
	}
	if (l->dotlocked) {
		if (unlink(l->path) < 0)
			log_err("mailbox %s: cannot remove dotlock %s: %s", l->mbox, l->path, strerror(errno));
		l->dotlocked = false;
	}
}
