/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lookup_wire.h - the relay-lookup worker's records: the payloads of IPC_RELAY_* frames
 * (common/ipc.h), one SOCK_SEQPACKET message each way.
 */
#ifndef POPGATE_RELAYDB_LOOKUP_WIRE_H
#define POPGATE_RELAYDB_LOOKUP_WIRE_H

#include <stdint.h>

#include "relaydb/relaydb.h"

/* A question: the canonical text form of one address, NUL-terminated. */
struct relay_lookup_req {
	char ip[IP_TEXT_MAX];
};

/* The answer: relaydb_get's result (1 found, 0 absent, -1 error) and the entry when found. */
struct relay_lookup_rep {
	int32_t found;
	struct relay_entry entry;
};

/*
 * A POP (or DRAC) login to record. Not sent on lookup.sock, which refuses it: it goes on the login
 * channel (login_channel.c), one datagram carrying, as SCM_RIGHTS, the socket the answer goes to.
 * The worker authorizes IP, puts it into the export map, and only then answers, so the session's
 * +OK follows both.
 */
struct relay_login_req {
	char ip[IP_TEXT_MAX];
	char user[RELAY_USER_MAX];
	char proto[RELAY_PROTO_MAX];
};

/* The answer, on the socket that came with the request: 0 recorded, -1 failed (the worker logged why). */
struct relay_login_rep {
	int32_t result;
};

#endif
