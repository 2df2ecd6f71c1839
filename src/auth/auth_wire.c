/* auth_wire.c - build and check the auth channel's records (auth_wire.h): sizes, mechanisms, terminated strings. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "auth/auth_wire.h"

/* terminate - cut every string of a record at its field: the peer is not trusted to have done it. */
#define TERMINATE(field) ((field)[sizeof(field) - 1] = '\0')

int auth_wire_req_parse(const void *buf, size_t len, struct auth_wire_req *out, const char **why)
{
	if (len != sizeof(*out))
		return *why = "a request of the wrong size", -1;
	memcpy(out, buf, sizeof(*out));
	if (out->mech != AUTH_WIRE_PASSWORD && out->mech != AUTH_WIRE_APOP) {
		explicit_bzero(out, sizeof(*out));
		return *why = "a request for an unknown mechanism", -1;
	}
	TERMINATE(out->user);
	TERMINATE(out->secret);
	TERMINATE(out->challenge);
	TERMINATE(out->service);
	TERMINATE(out->client_ip);
	return 0;
}

int auth_wire_reply_parse(const void *buf, size_t len, struct auth_wire_reply *out, const char **why)
{
	if (len != sizeof(*out))
		return *why = "a reply of the wrong size", -1;
	memcpy(out, buf, sizeof(*out));
	if (out->result != AUTH_OK && out->result != AUTH_FAIL && out->result != AUTH_TEMPFAIL)
		return *why = "a reply with an unknown result", -1;
	TERMINATE(out->user.name);
	TERMINATE(out->user.home);
	TERMINATE(out->user.mailbox);
	if (out->result != AUTH_OK)
		memset(&out->user, 0, sizeof(out->user));
	return 0;
}

/* put - STR into the field DST of CAP bytes: 0, or -1 when it would not fit whole. */
static int put(char *dst, size_t cap, const char *str)
{
	return snprintf(dst, cap, "%s", str != NULL ? str : "") < (int)cap ? 0 : -1;
}

int auth_wire_req_fill(struct auth_wire_req *req, enum auth_wire_mech mech, const char *user,
		       const char *secret, const char *challenge, const char *service, const char *client_ip)
{
	memset(req, 0, sizeof(*req));
	req->mech = (uint32_t)mech;
	if (put(req->user, sizeof(req->user), user) < 0 || put(req->secret, sizeof(req->secret), secret) < 0 ||
	    put(req->challenge, sizeof(req->challenge), challenge) < 0 ||
	    put(req->service, sizeof(req->service), service) < 0 ||
	    put(req->client_ip, sizeof(req->client_ip), client_ip) < 0) {
		explicit_bzero(req, sizeof(*req));
		return -1;
	}
	return 0;
}
