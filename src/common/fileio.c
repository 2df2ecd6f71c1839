/* fileio.c - read a small file whole, bounded, with short reads and EINTR handled once. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/ipc.h"

char *fileio_read_small(const char *path, size_t max, bool nofollow, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int err = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL;
	else if ((unsigned long long)st.st_size > max)
		err = EFBIG;
	else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		err = ENOMEM;
	while (buf != NULL && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			free(buf);
			buf = NULL;
		}
		if (r <= 0)
			break; /* a file that shrank under us is read as far as it goes */
		got += (size_t)r;
	}
	close(fd);
	if (buf == NULL) {
		errno = err;
		return NULL;
	}
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
	return buf;
}

int fileio_write_all(int fd, const void *buf, size_t len)
{
	return ipc_write_all(fd, buf, len, IPC_FOREVER);
}

int fileio_read_full(int fd, void *buf, size_t len)
{
	return ipc_read_full(fd, buf, len, IPC_FOREVER);
}

int fileio_fd_arg(const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0)
		return -1;
	return (int)v;
}
