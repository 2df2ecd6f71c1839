/* ipc.c - the one framed record format of every channel between popgate's processes, and its I/O (ipc.h). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ipc.h"

/* Descriptors a receiver makes room for: one is right; a few more so that extras are seen and closed. */
#define IPC_FDS_SEEN 4

/* The control buffer of a receive: the sender's credentials and the descriptors. */
union ipc_control {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(IPC_FDS_SEEN * sizeof(int))];
};

int64_t ipc_deadline(int ms)
{
	/* A deadline of exactly 0 would read as IPC_NOW; the clock is far past it anyway. */
	return ms < 0 ? IPC_FOREVER : mono_ms() + ms + 1;
}

int ipc_ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline == IPC_FOREVER)
		return -1;
	left = deadline - mono_ms();
	return left <= 0 ? 0 : left > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : (int)left;
}

int ipc_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, ipc_ms_left(deadline));

		if (r > 0)
			return 1;
		if (r == 0) {
			errno = deadline == IPC_NOW ? EAGAIN : ETIMEDOUT;
			return 0;
		}
		if (errno != EINTR)
			return -1;
	}
}

int ipc_write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const char *p = buf;
	bool sock = true;

	while (len > 0) {
		/* With a deadline a socket is never waited on inside send, only in poll. */
		int flags = MSG_NOSIGNAL | (deadline != IPC_FOREVER ? MSG_DONTWAIT : 0);
		ssize_t w = sock ? send(fd, p, len, flags) : write(fd, p, len);

		if (w < 0 && sock && errno == ENOTSOCK) {
			sock = false;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (ipc_wait(fd, POLLOUT, deadline) <= 0)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int ipc_read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		if (deadline != IPC_FOREVER && ipc_wait(fd, POLLIN, deadline) <= 0)
			return -1;
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (ipc_wait(fd, POLLIN, deadline) <= 0)
				return -1;
			continue;
		}
		if (n == 0 && got == 0)
			return 0;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 1;
}

/* attach - FD as MSG's one SCM_RIGHTS descriptor, in CM. */
static void attach(struct msghdr *msg, union ipc_control *cm, int fd)
{
	memset(cm, 0, sizeof(*cm));
	msg->msg_control = cm->buf;
	msg->msg_controllen = CMSG_SPACE(sizeof(int));
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
}

/* advance - drop the first N bytes of the IOV array *V of *CNT entries (a stream's short write). */
static void advance(struct iovec **v, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= (*v)->iov_len) {
		n -= (*v)->iov_len;
		(*v)++;
		(*cnt)--;
	}
	if (*cnt > 0) {
		(*v)->iov_base = (char *)(*v)->iov_base + n;
		(*v)->iov_len -= n;
	}
}

int ipc_sendv(int sock, uint32_t type, const struct iovec *iov, int iovcnt, int fd, int64_t deadline)
{
	struct ipc_hdr h = { .magic = IPC_MAGIC, .type = type };
	struct iovec all[5], *v = all;
	union ipc_control cm;
	size_t total = 0, sent = 0;
	int cnt = 1;

	if (iovcnt < 0 || iovcnt > 4) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		all[cnt++] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > IPC_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	h.len = (uint32_t)total;
	all[0] = (struct iovec){ .iov_base = &h, .iov_len = sizeof(h) };
	total += sizeof(h);
	while (sent < total) {
		struct msghdr msg = { .msg_iov = v, .msg_iovlen = (size_t)cnt };

		if (fd >= 0 && sent == 0)
			attach(&msg, &cm, fd); /* with the first byte: a stream's receiver finds it with the header */
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* Full: a datagram is retried whole; a stream goes on where it stopped. */
			if (ipc_wait(sock, POLLOUT, deadline) <= 0)
				return -1;
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		sent += (size_t)n;
		advance(&v, &cnt, (size_t)n);
	}
	return 0;
}

int ipc_send(int sock, uint32_t type, const void *buf, size_t len, int fd, int64_t deadline)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return ipc_sendv(sock, type, &v, len > 0 ? 1 : 0, fd, deadline);
}

/* take_control - the credentials and descriptors of MSG into F; extra descriptors closed and counted in *EXTRA. */
static void take_control(struct msghdr *msg, struct ipc_frame *f, int *extra)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&f->cred, CMSG_DATA(c), sizeof(f->cred));
			f->has_cred = true;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < n; i++) {
				int got;

				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (f->fd < 0) {
					f->fd = got;
				} else {
					close(got);
					(*extra)++;
				}
			}
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		(*extra)++; /* descriptors the kernel closed for want of room: more than one came */
}

/* refuse - F is refused for WHY (errno ERR): close what came with it. -1. */
static int refuse(struct ipc_frame *f, const char *why, int err)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->why = why;
	errno = err;
	return -1;
}

/* judge - the checks every frame passes besides its length: magic, descriptors, credentials. 1 or -1. */
static int judge(struct ipc_frame *f, const struct ipc_hdr *h, unsigned flags, int extra)
{
	if (h->magic != IPC_MAGIC)
		return refuse(f, "a frame with the wrong magic", EPROTO);
	f->type = h->type;
	if (extra > 0)
		return refuse(f, "a frame with more than one descriptor", EPROTO);
	if (f->fd >= 0 && !(flags & (IPC_FD_MAY | IPC_FD_MUST)))
		return refuse(f, "a frame with a descriptor where none may come", EPROTO);
	if (f->fd < 0 && (flags & IPC_FD_MUST))
		return refuse(f, "a frame without the descriptor it must carry", EPROTO);
	if ((flags & (IPC_CRED | IPC_SAME_UID)) && !f->has_cred)
		return refuse(f, "a frame without its sender's credentials", EPROTO);
	if ((flags & IPC_SAME_UID) && f->cred.uid != getuid())
		return refuse(f, "a frame from another user", EPROTO);
	return 1;
}

/*
 * recv_msg - one recvmsg of MSG on SOCK, waiting for input until DEADLINE, in as few calls as the
 * deadline allows: IPC_FOREVER waits in recvmsg itself (a blocking socket), IPC_NOW never waits,
 * and a finite deadline polls first unless READY says the bytes are most likely there already (the
 * rest of a frame whose first bytes came): such a caller has just asked and waits for the answer,
 * so a read before the poll would find nothing.
 */
static ssize_t recv_msg(int sock, struct msghdr *msg, int64_t deadline, bool ready)
{
	int how = MSG_CMSG_CLOEXEC | (deadline == IPC_FOREVER ? 0 : MSG_DONTWAIT);

	if (!ready && deadline != IPC_FOREVER && deadline != IPC_NOW && ipc_wait(sock, POLLIN, deadline) <= 0)
		return -1;
	for (;;) {
		ssize_t n = recvmsg(sock, msg, how);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || deadline == IPC_NOW)
			return -1;
		if (ipc_wait(sock, POLLIN, deadline) <= 0) /* a non-blocking socket, or one with SO_RCVTIMEO */
			return -1;
	}
}

/* recv_packet - a frame that is one message (SOCK_DGRAM or SOCK_SEQPACKET, per STYPE). */
static int recv_packet(int sock, int stype, void *buf, size_t cap, unsigned flags, int64_t deadline,
		       struct ipc_frame *f)
{
	struct ipc_hdr h;
	char spare;
	struct iovec iov[3] = { { &h, sizeof(h) }, { buf, cap }, { &spare, 1 } }; /* spare: a longer one shows */
	union ipc_control cm;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	int extra = 0;
	ssize_t n = recv_msg(sock, &msg, deadline, false);

	if (n < 0)
		return -1;
	take_control(&msg, f, &extra);
	if (n == 0 && stype != SOCK_DGRAM) {
		(void)refuse(f, NULL, 0);
		return 0; /* the peer closed: a datagram socket has no end, an empty one is a short frame */
	}
	if ((size_t)n < sizeof(h))
		return refuse(f, "a truncated frame", EPROTO);
	if (judge(f, &h, flags, extra) < 0)
		return -1;
	if (h.len > cap)
		return refuse(f, "an oversized frame", EMSGSIZE);
	if ((msg.msg_flags & MSG_TRUNC) || (size_t)n != sizeof(h) + h.len)
		return refuse(f, (size_t)n < sizeof(h) + h.len ? "a truncated frame" : "a frame longer than it says",
			      EPROTO);
	f->len = h.len;
	return 1;
}

/* recv_rest - the LEN payload bytes of a stream frame whose header came: 1, 0 it ended short, -1 errno. */
static int recv_rest(int sock, void *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recv_msg(sock, &msg, deadline, true); /* sent with the header: most likely here */

		if (n <= 0)
			return (int)n;
		got += (size_t)n;
	}
	return 1;
}

/* recv_stream - a frame on a stream socket: the header (the descriptor comes with it), then the payload. */
static int recv_stream(int sock, void *buf, size_t cap, unsigned flags, int64_t deadline, struct ipc_frame *f)
{
	struct ipc_hdr h;
	size_t got = 0;
	int extra = 0, rc;

	while (got < sizeof(h)) {
		struct iovec iov = { (char *)&h + got, sizeof(h) - got };
		union ipc_control cm;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recv_msg(sock, &msg, deadline, got > 0);

		if (n < 0) {
			(void)refuse(f, NULL, errno);
			return -1;
		}
		take_control(&msg, f, &extra);
		if (n == 0 && got == 0) {
			(void)refuse(f, NULL, 0);
			return 0;
		}
		if (n == 0)
			return refuse(f, "a truncated frame", EPROTO);
		got += (size_t)n;
	}
	if (judge(f, &h, flags, extra) < 0)
		return -1;
	if (h.len > cap)
		return refuse(f, "an oversized frame", EMSGSIZE);
	if (h.len > 0 && (rc = recv_rest(sock, buf, h.len, deadline)) != 1)
		return rc == 0 ? refuse(f, "a truncated frame", EPROTO) : refuse(f, NULL, errno);
	f->len = h.len;
	return 1;
}

/* sock_type - SOCK's type as FLAGS name it, else as the kernel says (a caller that did not say). -1 errno. */
static int sock_type(int sock, unsigned flags)
{
	int stype = 0;
	socklen_t sl = sizeof(stype);

	if (flags & IPC_STREAM)
		return SOCK_STREAM;
	if (flags & IPC_SEQPACKET)
		return SOCK_SEQPACKET;
	if (flags & IPC_DGRAM)
		return SOCK_DGRAM;
	return getsockopt(sock, SOL_SOCKET, SO_TYPE, &stype, &sl) < 0 ? -1 : stype;
}

int ipc_recv(int sock, void *buf, size_t cap, unsigned flags, int64_t deadline, struct ipc_frame *f)
{
	int stype = sock_type(sock, flags);

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (stype < 0)
		return -1;
	if (stype == SOCK_STREAM)
		return recv_stream(sock, buf, cap, flags, deadline, f);
	return recv_packet(sock, stype, buf, cap, flags, deadline, f);
}

int ipc_pair(int type, int sv[2])
{
	int on = 1;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	/* Set before either end is shared, so that every frame received carries its sender. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
		int saved = errno;

		close(sv[0]);
		close(sv[1]);
		errno = saved;
		return -1;
	}
	return 0;
}

int ipc_peer_cred(int sock, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	memset(cred, 0, sizeof(*cred));
	return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, &len);
}
