/* ipc_reply.c - a reply pair kept between requests to a worker, its spare end lent with each one (ipc_reply.h). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ipc_reply.h"

/* close_fd - close *FD if open and mark it so. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void ipc_reply_drop(struct ipc_reply_pair *rp, struct ipc_frame *f)
{
	close_fd(&rp->reply);
	close_fd(&rp->spare);
	if (f != NULL)
		close_fd(&f->fd);
}

int ipc_reply_ready(struct ipc_reply_pair *rp)
{
	struct stat st;
	int sv[2];

	if (rp->reply >= 0 && rp->spare >= 0)
		return 0;
	ipc_reply_drop(rp, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	rp->reply = sv[0];
	rp->spare = sv[1];
	if (fstat(rp->spare, &st) < 0) {
		int err = errno;

		ipc_reply_drop(rp, NULL);
		errno = err;
		return -1;
	}
	rp->dev = st.st_dev;
	rp->ino = st.st_ino;
	return 0;
}

int ipc_reply_send(struct ipc_reply_pair *rp, int chan, uint32_t type, const void *buf, size_t len, int64_t deadline)
{
	int rc = ipc_send(chan, type, buf, len, rp->spare, deadline);

	if (rc < 0) {
		int err = errno;

		ipc_reply_drop(rp, NULL);
		errno = err;
		return rc;
	}
	/* In flight: once the worker takes it, it holds the only copy. */
	close_fd(&rp->spare);
	return rc;
}

int ipc_reply_recv(struct ipc_reply_pair *rp, void *buf, size_t cap, int64_t deadline, struct ipc_frame *f)
{
	int rc = ipc_recv(rp->reply, buf, cap, IPC_FD_MUST | IPC_SEQPACKET, deadline, f);

	if (rc != 1) {
		int err = errno;

		ipc_reply_drop(rp, f);
		errno = err;
	}
	return rc;
}

int ipc_reply_keep(struct ipc_reply_pair *rp, struct ipc_frame *f, const char **why)
{
	struct stat st;

	if (f->fd < 0 || fstat(f->fd, &st) < 0 || st.st_dev != rp->dev || st.st_ino != rp->ino) {
		*why = "the answer came back with another socket";
		ipc_reply_drop(rp, f);
		return 0;
	}
	rp->spare = f->fd;
	f->fd = -1;
	return 1;
}
