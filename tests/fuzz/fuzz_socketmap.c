/* fuzz_socketmap.c - libFuzzer harness: the socketmap stream (netstring framing, NAME KEY requests, replies, answers). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input is what an MTA sends on one connection. It is cut into netstrings as the server does
 * (socketmap_server.c) until one is incomplete, malformed or too long. Each frame must lie inside
 * the input and end at its comma; each request is malformed, a non-address or an address whose
 * canonical form is canonical; an address is answered from a real relay database, OK only for the
 * authorized one, with all-digit expiry; every reply must frame again as one netstring.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz_util.h"
#include "relaydb/socketmap.h"

static struct config *cfg;
static struct relaydb *db;
static time_t now;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[1024], state[512], err[256];

	fuzz_setup();
	fuzz_path("state", state, sizeof(state));
	snprintf(text, sizeof(text), "[server]\nstate_dir = %s\n[relay]\ndb_dir = %s/relay\ntimeout = 30m\n"
		 "deny = 192.0.2.0/24\n", state, state);
	cfg = fuzz_config(text);
	FUZZ_CHECK(mkdir(state, 0700) == 0, "mkdir %s", state);
	now = time(NULL);
	FUZZ_CHECK(relaydb_open(cfg, &db, err, sizeof(err)) == 0, "relaydb_open: %s", err);
	FUZZ_CHECK(relaydb_authorize(db, "127.0.0.6", "alice", "pop3", 1800, now) == 0 &&
			   relaydb_authorize(db, "2001:db8::6", "bob", "pop3", 1800, now) == 0 &&
			   relaydb_authorize(db, "192.0.2.6", "eve", "pop3", 1800, now) == 0,
		   "relaydb_authorize");
	return 0;
}

/* check_reply - a reply frames again as one netstring holding STATUS's word. */
static void check_reply(enum socketmap_status st, const char *text)
{
	static const char *const words[] = { "OK ", "NOTFOUND ", "TEMP ", "PERM " };
	char out[SOCKETMAP_REPLY_MAX];
	const char *data;
	size_t n = socketmap_reply(st, text, out, sizeof(out)), dlen, used;

	FUZZ_CHECK(n > 0 && n < sizeof(out), "no reply for status %d", st);
	FUZZ_CHECK(socketmap_frame(out, n, SOCKETMAP_REPLY_MAX, &data, &dlen, &used) == SOCKETMAP_FRAME_OK &&
			   used == n, "reply \"%s\" does not frame", out);
	FUZZ_CHECK(dlen >= strlen(words[st]) && memcmp(data, words[st], strlen(words[st])) == 0, "reply \"%s\"", out);
}

/* check_request - one payload through the request check and, for an address, the answer. */
static void check_request(const char *p, size_t n)
{
	char canon[IP_TEXT_MAX], again[IP_TEXT_MAX], value[96];
	int kind = socketmap_request(p, n, canon);
	enum socketmap_status st;

	FUZZ_CHECK(kind >= -1 && kind <= 1, "request kind %d", kind);
	if (kind == -1) {
		check_reply(SOCKETMAP_PERM, "malformed request");
		return;
	}
	FUZZ_CHECK(memchr(p, ' ', n) != NULL && memchr(p, '\0', n) == NULL, "accepted without a space or with a NUL");
	if (kind == 0) {
		check_reply(SOCKETMAP_NOTFOUND, NULL);
		return;
	}
	FUZZ_CHECK(ip_canonical(canon, again) == 0 && strcmp(canon, again) == 0, "canon \"%s\" is not canonical",
		   canon);
	st = socketmap_answer(cfg, db, canon, now, value, sizeof(value));
	if (strcmp(canon, "127.0.0.6") == 0 || strcmp(canon, "2001:db8::6") == 0) {
		FUZZ_CHECK(st == SOCKETMAP_OK && value[0] != '\0' && strspn(value, "0123456789") == strlen(value),
			   "%s: status %d value \"%s\"", canon, st, value);
	} else {
		FUZZ_CHECK(st == SOCKETMAP_NOTFOUND, "%s: status %d", canon, st);
	}
	check_reply(st, value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *payload;
	size_t off = 0, dlen, used;

	for (;;) {
		enum socketmap_frame f = socketmap_frame(buf + off, size - off, SOCKETMAP_REQUEST_MAX, &payload, &dlen, &used);

		if (f != SOCKETMAP_FRAME_OK)
			break;
		FUZZ_CHECK(used > dlen && off + used <= size && payload + dlen < buf + size && payload[dlen] == ',' &&
				   payload > buf + off && dlen <= SOCKETMAP_REQUEST_MAX, "frame at %zu: %zu used", off, used);
		check_request(payload, dlen);
		off += used;
	}
	return 0;
}
