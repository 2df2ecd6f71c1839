/* pop3_owner_wire.h - what the monitor and its mailbox processes say to each other, and the mailbox process's entry. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POP3_OWNER_WIRE_H
#define POPGATE_POP3_OWNER_WIRE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/auth.h"
#include "common/cidr.h"
#include "common/log.h"
#include "pop3d/pop3_int.h"

/* One session for the mailbox process; the client's socket rides along, its unread input follows. */
struct owner_session {
	uint32_t tls;            /* the socket is the protocol child's relay of a TLS session */
	uint32_t pending;        /* bytes of unread client input after this record */
	int64_t deadline;        /* pop3.session_timeout, monotonic (lio_now) */
	char id[LOG_SESSION_ID_MAX];
	char client_ip[IP_TEXT_MAX];
	char index_dir[PATH_MAX];
	struct auth_user user;
};

/* The mailbox process's word that the session is over and its client closed. */
struct owner_done {
	int32_t status;          /* the session's exit status; not 0: the process exits after it */
};

/*
 * pop3_owner_main - in a process the monitor just forked with CHAN, its end of the owner channel:
 * let go of what only the monitor may hold, become USER with GROUPS (the monitor looked them up),
 * tied to the monitor's life, and serve the sessions the monitor passes until it lets go; exit status.
 */
int pop3_owner_main(struct pop3 *p, const struct auth_user *user, const struct pop3_groups *groups, int chan,
		    pid_t monitor, pop3_serve_fn serve);

#endif
