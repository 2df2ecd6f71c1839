/* pidfile.c - pid file locked with flock(2), which a daemonizing fork keeps holding. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "master/pidfile.h"

/*
 * make_parent - create the pid file's directory when it is missing (one level, root's, 0755):
 * systemd makes /run/popgate (RuntimeDirectory=) for the unit, nobody does when popgated is
 * started by hand, and /run is a tmpfs emptied at boot.
 */
static void make_parent(const char *path)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	(void)mkdir(dir, 0755); /* EEXIST or a real failure: open() below reports the latter */
}

int pidfile_lock(const char *path, char *err, size_t errlen)
{
	int fd;

	make_parent(path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open pid file: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (errno == EWOULDBLOCK || errno == EAGAIN || n > 0)
			snprintf(err, errlen, "%s: popgated is already running (pid %s); refusing to start a second one",
				 path, buf[0] != '\0' ? buf : "unknown");
		else
			snprintf(err, errlen, "%s: cannot lock pid file: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int pidfile_write(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/*
 * unlink_as_root - unlink PATH with the file system uid 0 for this one call. The master is
 * server.user by now and its pid file's directory (/run/popgate) is root's; it kept CAP_SETUID,
 * with which it could become root anyway, so this grants nothing new: uid 0 owns the directory,
 * and no CAP_DAC_OVERRIDE is in the master's permitted set to reach anything else.
 */
static int unlink_as_root(const char *path)
{
	uid_t was = (uid_t)setfsuid(0);
	int rc, saved;

	if ((uid_t)setfsuid((uid_t)-1) != 0)
		return -1; /* no CAP_SETUID: not started as root */
	rc = unlink(path);
	saved = errno;
	(void)setfsuid(was);
	errno = saved;
	return rc;
}

void pidfile_release(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* A pid file left behind names a pid that some other process may hold later. */
	if (unlink(path) < 0 && (errno != EACCES || unlink_as_root(path) < 0) && ftruncate(fd, 0) < 0) {
		/* nothing more to do: the lock goes with the close, and that is what counts */
	}
	close(fd);
}
