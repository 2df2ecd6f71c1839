/* auth_wire.h - the records a session monitor and the auth worker exchange over the auth channel. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One request is one IPC_AUTH_REQ frame (common/ipc.h), a SOCK_SEQPACKET message on the channel
 * the master shares with every session monitor, carrying the reply socket as SCM_RIGHTS; the
 * worker answers with one IPC_AUTH_REPLY frame on that socket and closes it. The frame's checks
 * come first (magic, type, descriptors, the sender's uid); these are the records': a monitor is
 * privileged but a reply is still parsed as untrusted, and a request may come from anything that
 * got hold of the channel.
 */
#ifndef POPGATE_AUTH_WIRE_H
#define POPGATE_AUTH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

/* Longest APOP challenge on the wire: the privsep request's own field size. */
#define AUTH_WIRE_CHALLENGE_MAX 256
/* "pop3", "pop3s", "smtp", "smtps", "admin": which service asks, for the worker's log. */
#define AUTH_WIRE_SERVICE_MAX 16
/* A textual IPv6 address with scope fits in INET6_ADDRSTRLEN (46) plus an interface name. */
#define AUTH_WIRE_ADDR_MAX 64

enum auth_wire_mech {
	AUTH_WIRE_PASSWORD = 1, /* secret = the password */
	AUTH_WIRE_APOP,         /* secret = 32 hex digest, challenge = the greeting's timestamp */
};

struct auth_wire_req {
	uint32_t mech;                          /* enum auth_wire_mech */
	char user[AUTH_NAME_MAX];
	char secret[AUTH_PASS_MAX];
	char challenge[AUTH_WIRE_CHALLENGE_MAX];
	char service[AUTH_WIRE_SERVICE_MAX];
	char client_ip[AUTH_WIRE_ADDR_MAX];
};

struct auth_wire_reply {
	int32_t result;                         /* enum auth_result: AUTH_OK, AUTH_FAIL or AUTH_TEMPFAIL */
	struct auth_user user;                  /* AUTH_OK only; zeros otherwise */
};

/*
 * auth_wire_req_parse - check LEN bytes at BUF as a request and copy it into *OUT with every
 * string terminated at its size. 0, or -1 with *WHY saying what was wrong (for the log).
 */
int auth_wire_req_parse(const void *buf, size_t len, struct auth_wire_req *out, const char **why);

/* auth_wire_reply_parse - the same for a reply; a result other than OK, FAIL, TEMPFAIL is refused. */
int auth_wire_reply_parse(const void *buf, size_t len, struct auth_wire_reply *out, const char **why);

/* auth_wire_req_fill - a request for MECH; strings too long for their field make it -1 (never cut). */
int auth_wire_req_fill(struct auth_wire_req *req, enum auth_wire_mech mech, const char *user,
		       const char *secret, const char *challenge, const char *service, const char *client_ip);

#endif
