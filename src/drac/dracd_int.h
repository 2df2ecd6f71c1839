/* dracd_int.h - what the DRAC worker's files share: its state and the RPC dispatcher. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_DRACD_INT_H
#define POPGATE_DRACD_INT_H

#include <rpc/rpc.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"

struct dracd_state {
	const struct config *cfg;
	double tokens;                /* the token bucket: adds that may go now */
	int64_t last_us;              /* when tokens was last topped up (mono_us) */
	unsigned long added, throttled, refused;
	time_t refusal_logged;
	int udp_fd;                   /* the UDP socket, whose datagrams ... */
	ssize_t dgram_len;            /* ... libtirpc decodes without their length: this is it */
	int login_fd;                 /* the login channel to the relay lookup worker (-l), or -1 */
};

/* dracd_state - the one state of this process (libtirpc's dispatchers take no argument). */
struct dracd_state *dracd_state(void);

/* dracd_dispatch - libtirpc's dispatcher for DRAC_PROG versions 1 and 2. */
void dracd_dispatch(struct svc_req *rq, SVCXPRT *xprt);

#endif
