/* fdpass.h - one record and at most one descriptor over a unix socket (SCM_RIGHTS), both ways. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_FDPASS_H
#define POPGATE_FDPASS_H

#include <stddef.h>

/*
 * fdpass_send - LEN bytes of BUF in one sendmsg on SOCK, with FD riding along when FD >= 0. Never
 * raises SIGPIPE; FLAGS are added to sendmsg's (MSG_DONTWAIT). 0, or -1 with errno (EIO when short).
 */
int fdpass_send(int sock, const void *buf, size_t len, int fd, int flags);

/*
 * fdpass_recv - exactly LEN bytes into BUF from one recvmsg on SOCK (a stream socket waits for all
 * of them), and the descriptor that came with them into *FD (close-on-exec), or -1 when none did.
 * 1, or 0 at end of input before any byte, or -1 (an error, a short or oversized record, a
 * control message that was not one descriptor: whatever came is closed).
 */
int fdpass_recv(int sock, void *buf, size_t len, int *fd);

#endif
