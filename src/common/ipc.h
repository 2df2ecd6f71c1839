/* ipc.h - the one framed record format of every channel between popgate's processes, and its I/O. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A frame is a header (magic, type, payload length) and the payload, with at most one descriptor
 * riding along (SCM_RIGHTS). On a datagram or seqpacket socket one frame is one message; on a
 * stream socket frames follow each other and a short write goes on where it stopped. A receiver
 * says how large a payload it takes, whether a descriptor may or must come, and whether the
 * kernel's stamp of the sender (SCM_CREDENTIALS, the socket has SO_PASSCRED) must be there and
 * name its own uid; anything else is refused whole, its descriptors closed. Both ends are the
 * same popgated binary, so payloads are plain structs; the magic catches a process of an older
 * binary still running across an upgrade, and the type a record sent on the wrong channel.
 */
#ifndef POPGATE_IPC_H
#define POPGATE_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#define IPC_MAGIC 0x70676931u /* "pgi1" */

/* The largest payload any channel has: the privsep hand-over's unread input and a little. */
#define IPC_PAYLOAD_MAX (64 * 1024)

/* Deadlines are CLOCK_MONOTONIC milliseconds (ipc_deadline); these two are special. */
#define IPC_FOREVER ((int64_t)-1) /* wait as long as it takes */
#define IPC_NOW ((int64_t)0)      /* do not wait at all: EAGAIN when it would */

/* Every record type of every channel, numbered once: no record is taken for another channel's. */
enum ipc_type {
	IPC_PRIVSEP_CHECK = 1,  /* privsep: child asks for a credential check (struct privsep_request) */
	IPC_PRIVSEP_REPORT,     /* privsep: child reports an event for the master */
	IPC_PRIVSEP_DONE,       /* privsep: a reused child is done with its connection (empty) */
	IPC_PRIVSEP_RESULT,     /* privsep: the monitor's answer */
	IPC_PRIVSEP_HANDOVER,   /* privsep: the connection (descriptor) and its unread input */
	IPC_SESSION_CONN,       /* dispatch/privsep: a connection for a reused session process */
	IPC_SESSION_REPORT,     /* report channel: struct session_wire_report */
	IPC_RELAY_LOOKUP,       /* lookup.sock: is this address authorized? */
	IPC_RELAY_LOOKUP_REP,   /* lookup.sock: the answer */
	IPC_RELAY_LOGIN,        /* login channel: record this login (with the answer socket) */
	IPC_RELAY_LOGIN_REP,    /* login channel: the answer, on that socket */
	IPC_AUTH_REQ,           /* auth channel: a password or APOP check (with the reply socket) */
	IPC_AUTH_REPLY,         /* auth channel: the answer, on that socket */
	IPC_OWNER_SESSION,      /* owner channel: a session for a kept mailbox process (with the client) */
	IPC_OWNER_DONE,         /* owner channel: that session is over and its client closed */
};

struct ipc_hdr {
	uint32_t magic;
	uint32_t type;          /* enum ipc_type */
	uint32_t len;           /* payload bytes that follow */
};

/* What ipc_recv may accept besides the payload (flags, or-ed). */
#define IPC_FD_MAY 0x1u     /* a descriptor may come along (default: none may) */
#define IPC_FD_MUST 0x2u    /* a descriptor must come along */
#define IPC_CRED 0x4u       /* the kernel's stamp of the sender must be there */
#define IPC_SAME_UID 0x8u   /* ... and name this process's uid */
/*
 * The socket's type, as its owner knows it (at most one); without one ipc_recv asks the kernel
 * (getsockopt SO_TYPE), one system call more for every frame.
 */
#define IPC_STREAM 0x10u
#define IPC_SEQPACKET 0x20u
#define IPC_DGRAM 0x40u

/* A frame as received. */
struct ipc_frame {
	uint32_t type;
	size_t len;             /* payload bytes in the caller's buffer */
	int fd;                 /* the descriptor that came along (close-on-exec), or -1 */
	bool has_cred;          /* cred holds the kernel's stamp of the sender */
	struct ucred cred;
	const char *why;        /* a refused frame: what was wrong with it, for the log */
};

/* ipc_deadline - MS milliseconds from now as a deadline; IPC_FOREVER when MS < 0. */
int64_t ipc_deadline(int ms);

/* ipc_ms_left - milliseconds until DEADLINE, at least 0; -1 for IPC_FOREVER (poll's "forever"). */
int ipc_ms_left(int64_t deadline);

/*
 * ipc_wait - poll FD for EVENTS until DEADLINE, going on after EINTR: 1 ready, 0 the deadline
 * passed (errno ETIMEDOUT, or EAGAIN for IPC_NOW), -1 an error.
 */
int ipc_wait(int fd, short events, int64_t deadline);

/*
 * ipc_write_all - all LEN bytes of BUF to FD (a socket, a pipe or a file) by DEADLINE, going on
 * after EINTR, short writes and a full non-blocking socket. Never raises SIGPIPE. 0, or -1 with
 * errno (ETIMEDOUT past the deadline, EPIPE when the peer is gone). The deadline bounds the waits
 * on a socket; a blocking pipe or file is written as write(2) writes it.
 */
int ipc_write_all(int fd, const void *buf, size_t len, int64_t deadline);

/*
 * ipc_read_full - exactly LEN bytes from FD into BUF by DEADLINE, going on after EINTR and short
 * reads: 1, 0 at end of input before any byte, -1 with errno (EIO: it ended part way).
 */
int ipc_read_full(int fd, void *buf, size_t len, int64_t deadline);

/*
 * ipc_sendv - one frame of TYPE whose payload is the IOVCNT (at most 4) buffers of IOV, with FD
 * riding along when FD >= 0, on SOCK by DEADLINE. Never raises SIGPIPE. 0, or -1 with errno
 * (EAGAIN full and IPC_NOW, ETIMEDOUT, EMSGSIZE over IPC_PAYLOAD_MAX, EPIPE the peer is gone).
 */
int ipc_sendv(int sock, uint32_t type, const struct iovec *iov, int iovcnt, int fd, int64_t deadline);

/* ipc_send - ipc_sendv with the LEN bytes of BUF as the payload (BUF may be NULL when LEN is 0). */
int ipc_send(int sock, uint32_t type, const void *buf, size_t len, int fd, int64_t deadline);

/*
 * ipc_recv - the next frame on SOCK by DEADLINE: its payload into BUF (at most CAP bytes), the
 * rest into *F. FLAGS say what may come besides (IPC_FD_*, IPC_CRED, IPC_SAME_UID) and the
 * socket's type (IPC_STREAM, IPC_SEQPACKET, IPC_DGRAM). It waits in recvmsg itself for
 * IPC_FOREVER (so a blocking socket costs one call), not at all for IPC_NOW, and in poll before
 * it reads for a finite deadline: the callers that give one wait for an answer. 1, 0 at end
 * of input before any byte (a stream or seqpacket socket), -1 with errno: EAGAIN nothing waiting
 * and IPC_NOW, ETIMEDOUT, EPROTO a frame refused (wrong magic, truncated, a descriptor where none
 * may come or none where one must, credentials missing or another uid's; F->why says which),
 * EMSGSIZE a payload over CAP. A refused frame's descriptors are closed; its sender's credentials,
 * when they came, are still in *F for the log. On a stream socket a refused frame, or one the
 * deadline cut part way, breaks the channel: its caller drops it.
 */
int ipc_recv(int sock, void *buf, size_t cap, unsigned flags, int64_t deadline, struct ipc_frame *f);

/*
 * ipc_pair - a channel socket pair of TYPE (SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM, or-ed
 * with SOCK_NONBLOCK as wanted), both ends close-on-exec, SV[0] with SO_PASSCRED so that every
 * frame it receives carries its sender's credentials. 0, or -1 with errno (nothing left open).
 */
int ipc_pair(int type, int sv[2]);

/* ipc_peer_cred - the credentials of SOCK's peer as at its connect (SO_PEERCRED). 0 or -1. */
int ipc_peer_cred(int sock, struct ucred *cred);

#endif
