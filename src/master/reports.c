/* reports.c - the report channel's socket pair, and the check that each record speaks for its sender. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "master/reports.h"

/*
 * Each record is ~80 bytes but costs about a kilobyte of socket memory in flight; the defaults
 * (~200 KiB) would hold a couple of hundred, fewer than a burst of sessions ending together writes.
 * The kernel also caps the queue at net.unix.max_dgram_qlen records (512 by default).
 */
#define REPORTS_BUFFER (4 * 1024 * 1024)

/* size_buffer - as large as REPORTS_BUFFER, past the sysctl cap when root. */
static void size_buffer(int fd, int force, int plain)
{
	int want = REPORTS_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, force, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, plain, &want, sizeof(want));
}

int reports_open(struct reports *r)
{
	int sv[2], on = 1;

	memset(r, 0, sizeof(*r));
	r->rd = r->wr = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
		int saved = errno;
		close(sv[0]);
		close(sv[1]);
		errno = saved;
		return -1;
	}
	size_buffer(sv[0], SO_RCVBUFFORCE, SO_RCVBUF);
	size_buffer(sv[1], SO_SNDBUFFORCE, SO_SNDBUF);
	r->rd = sv[0];
	r->wr = sv[1];
	return 0;
}

void reports_close(struct reports *r)
{
	if (r->rd >= 0)
		close(r->rd);
	if (r->wr >= 0)
		close(r->wr);
	r->rd = r->wr = -1;
}

/* refuse - count a record that failed the checks; warn now and then with what the last one was. */
static void refuse(struct reports *r, pid_t sender, const struct session_wire_report *rec, ssize_t len)
{
	time_t now = time(NULL);

	r->dropped++;
	if (r->warned != 0 && now - r->warned < 60)
		return;
	log_warn("reports: dropped %lu session report(s) since the last such warning; the last came from pid %ld, "
		 "%zd bytes, naming session %ld: a session may only report about itself",
		 r->dropped, (long)sender, len, len == (ssize_t)sizeof(*rec) ? (long)rec->session_pid : 0L);
	r->dropped = 0;
	r->warned = now;
}

/* sender_of - the pid the kernel stamped on MSG, or 0 when there is none. */
static pid_t sender_of(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			return cred.pid;
		}
	}
	return 0;
}

int reports_next(struct reports *r, struct session_wire_report *out)
{
	for (;;) {
		union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(struct ucred))]; } cm;
		struct iovec iov = { .iov_base = out, .iov_len = sizeof(*out) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(r->rd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		pid_t sender = sender_of(&msg);
		if (n == (ssize_t)sizeof(*out) && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
		    out->magic == SESSION_WIRE_MAGIC && sender > 0 && sender == out->session_pid)
			return 1;
		refuse(r, sender, out, n);
	}
}
