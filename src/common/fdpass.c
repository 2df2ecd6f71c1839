/* fdpass.c - one record and at most one descriptor over a unix socket (SCM_RIGHTS), both ways. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdpass.h"

int fdpass_send(int sock, const void *buf, size_t len, int fd, int flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } cm;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* take_fd - the one descriptor MSG carries into *FD; -1 (all of them closed) for anything else. */
static int take_fd(struct msghdr *msg, int *fd)
{
	int rc = 0;

	*fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0 && rc == 0)
				*fd = got;
			else {
				close(got);
				rc = -1;
			}
		}
	}
	if (rc < 0 || (msg->msg_flags & MSG_CTRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

int fdpass_recv(int sock, void *buf, size_t len, int *fd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } cm;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			      .msg_controllen = sizeof(cm.buf) };
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (take_fd(&msg, fd) < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((size_t)n != len || (msg.msg_flags & MSG_TRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EIO;
		return -1;
	}
	return 1;
}
