/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lookup_wire.h - the relay-lookup worker's messages: one SOCK_SEQPACKET record each way.
 * Both ends are the same popgated binary, so records are plain structs; the magic catches a
 * worker of an older binary still running across an upgrade.
 */
#ifndef POPGATE_RELAYDB_LOOKUP_WIRE_H
#define POPGATE_RELAYDB_LOOKUP_WIRE_H

#include <stdint.h>

#include "relaydb/relaydb.h"

#define RELAY_LOOKUP_MAGIC 0x706c6b31u /* "plk1" */

/* A question: the canonical text form of one address, NUL-terminated. */
struct relay_lookup_req {
	uint32_t magic;
	char ip[IP_TEXT_MAX];
};

/* The answer: relaydb_get's result (1 found, 0 absent, -1 error) and the entry when found. */
struct relay_lookup_rep {
	uint32_t magic;
	int32_t found;
	struct relay_entry entry;
};

/*
 * A POP (or DRAC) login to record. Not sent on lookup.sock, which refuses it: it goes on the login
 * channel (login_channel.c), one datagram carrying, as SCM_RIGHTS, the socket the answer goes to.
 * The worker authorizes IP, puts it into the export map, and only then answers, so the session's
 * +OK follows both.
 */
#define RELAY_LOGIN_MAGIC 0x706c6731u /* "plg1" */

struct relay_login_req {
	uint32_t magic;
	char ip[IP_TEXT_MAX];
	char user[RELAY_USER_MAX];
	char proto[RELAY_PROTO_MAX];
};

/* The answer, on the socket that came with the request: 0 recorded, -1 failed (the worker logged why). */
struct relay_login_rep {
	uint32_t magic;
	int32_t result;
};

#endif
