/* ipc_reply.h - a reply pair kept between requests to a worker, its spare end lent with each one. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_IPC_REPLY_H
#define POPGATE_IPC_REPLY_H

#include <stdint.h>
#include <sys/types.h>

#include "common/ipc.h"

/*
 * A process that asks a worker (the auth worker, the lookup worker's login records) gets its
 * answer on a socket of its own: a SEQPACKET pair whose REPLY end it reads and whose SPARE end
 * goes along with the request (SCM_RIGHTS), its own copy closed meanwhile, and comes back with the
 * answer. Making the pair once instead of per request saves a socketpair and a close.
 *
 * What is kept of the fresh pair's properties:
 * - while a request is out, the worker that took it holds the only copy of SPARE: its end or its
 *   death ends the asker's wait at once, and only it can answer;
 * - the pair is kept only after a whole exchange: one answer, of the caller's checking, with SPARE
 *   itself back (known by its device and inode). On anything else the caller drops it, closing
 *   both ends, so an answer that comes late (a worker stopped past the deadline) has no reader and
 *   can never be taken for a later request's, which goes out with a new pair;
 * - a process forked by the asker that must not read or forge its answers drops its copy.
 */
struct ipc_reply_pair {
	int reply;              /* read by the asker; -1 when there is no pair */
	int spare;              /* lent with a request; -1 while lent */
	dev_t dev;              /* SPARE's identity, to know it when it comes back */
	ino_t ino;
};

#define IPC_REPLY_PAIR_INIT { .reply = -1, .spare = -1, .dev = 0, .ino = 0 }

/* ipc_reply_ready - make RP's pair unless it is kept from the last exchange. 0, or -1 with errno. */
int ipc_reply_ready(struct ipc_reply_pair *rp);

/*
 * ipc_reply_send - send a frame of TYPE with LEN bytes of BUF on CHAN lending RP's spare end, and
 * close our copy of it. ipc_send's result; on failure the pair is dropped.
 */
int ipc_reply_send(struct ipc_reply_pair *rp, int chan, uint32_t type, const void *buf, size_t len, int64_t deadline);

/*
 * ipc_reply_recv - the answer on RP's reply end before DEADLINE into BUF, which must come with a
 * descriptor: ipc_recv's result, and *F. When it is 1 the caller checks the frame and calls
 * ipc_reply_keep or ipc_reply_drop; otherwise the pair is dropped already.
 */
int ipc_reply_recv(struct ipc_reply_pair *rp, void *buf, size_t cap, int64_t deadline, struct ipc_frame *f);

/* ipc_reply_keep - F's descriptor is RP's spare end back: keep the pair (1). Else drop it and say why (0, *WHY). */
int ipc_reply_keep(struct ipc_reply_pair *rp, struct ipc_frame *f, const char **why);

/* ipc_reply_drop - close RP's ends (and F's descriptor, F may be NULL): the next request makes a new pair. */
void ipc_reply_drop(struct ipc_reply_pair *rp, struct ipc_frame *f);

#endif
