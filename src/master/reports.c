/* reports.c - the report channel's socket pair, and the check that each record speaks for its sender. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipc.h"
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
	int sv[2];

	memset(r, 0, sizeof(*r));
	r->rd = r->wr = -1;
	if (ipc_pair(SOCK_DGRAM | SOCK_NONBLOCK, sv) < 0)
		return -1;
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

/* what - why a frame that passed ipc_recv's checks is still not a report of its sender's own. */
static const char *what(const struct ipc_frame *f, const struct session_wire_report *rec)
{
	if (f->why != NULL)
		return f->why;
	if (f->type != IPC_SESSION_REPORT)
		return "a record of another channel";
	if (f->len != sizeof(*rec))
		return "a record of the wrong size";
	return "a record naming another session";
}

/* refuse - count a record that failed the checks; warn now and then with what the last one was. */
static void refuse(struct reports *r, const struct ipc_frame *f, const struct session_wire_report *rec)
{
	time_t now = time(NULL);
	bool whole = f->why == NULL && f->type == IPC_SESSION_REPORT && f->len == sizeof(*rec);

	r->dropped++;
	if (r->warned != 0 && now - r->warned < 60)
		return;
	log_warn("reports: dropped %lu session report(s) since the last such warning; the last came from pid %ld, "
		 "%s, naming session %ld: a session may only report about itself",
		 r->dropped, f->has_cred ? (long)f->cred.pid : 0L, what(f, rec), whole ? (long)rec->session_pid : 0L);
	r->dropped = 0;
	r->warned = now;
}

int reports_next(struct reports *r, struct session_wire_report *out)
{
	for (;;) {
		struct ipc_frame f;
		int rc = ipc_recv(r->rd, out, sizeof(*out), IPC_CRED | IPC_DGRAM, IPC_NOW, &f);

		if (rc < 0 && errno != EPROTO && errno != EMSGSIZE)
			return 0; /* none waiting */
		if (rc == 1 && f.type == IPC_SESSION_REPORT && f.len == sizeof(*out) && f.cred.pid > 0 &&
		    f.cred.pid == out->session_pid)
			return 1;
		refuse(r, &f, out);
	}
}
