/* pidfile.c - pid file locked with flock(2), which a daemonizing fork keeps holding. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "master/pidfile.h"

int pidfile_lock(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

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

void pidfile_release(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* Unprivileged by now, the master may not unlink in /run: an empty file is stale-proof too. */
	if (unlink(path) < 0 && ftruncate(fd, 0) < 0) {
		/* nothing more to do: the lock goes with the close, and that is what counts */
	}
	close(fd);
}
