/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * socketmap.h - the socketmap server: Postfix (socketmap_table(5)) and sendmail (K... socket) ask
 * the relay lookup worker "is this client address authorized" over a persistent connection, with
 * no map file in between.
 *
 * The protocol: each request is a netstring "LEN:NAME KEY," and each reply a netstring "OK value",
 * "NOTFOUND ", "TEMP reason" or "PERM reason". The value of an OK is the authorization's expiry in
 * epoch seconds, all digits, as in the DRAC map, so Postfix's access(5) treats it as OK.
 */
#ifndef POPGATE_RELAYDB_SOCKETMAP_H
#define POPGATE_RELAYDB_SOCKETMAP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/cidr.h"
#include "common/config.h"
#include "relaydb/relaydb.h"

/*
 * Longest request payload ("NAME KEY"). Postfix asks with a client address, a host name (at most
 * 255 octets, RFC 1035) or a part of an address, after a map name; 512 leaves room and bounds what
 * one connection makes the worker hold.
 */
#define SOCKETMAP_REQUEST_MAX 512

/* Longest key and map name inside a request. */
#define SOCKETMAP_KEY_MAX 255
#define SOCKETMAP_NAME_MAX 64

/* Longest reply, netstring framing included. */
#define SOCKETMAP_REPLY_MAX 128

/*
 * Connections served at once. Postfix keeps one per smtpd process that asked (default_process_limit
 * is 100); past this many a new connection is closed and that client retries or reports TEMP.
 */
#define SOCKETMAP_CLIENTS_MAX 256

/* What scanning a buffer for one netstring found. */
enum socketmap_frame {
	SOCKETMAP_FRAME_MORE,      /* incomplete so far: read more */
	SOCKETMAP_FRAME_OK,        /* one whole netstring */
	SOCKETMAP_FRAME_BAD,       /* not a netstring: the stream cannot be resynchronised */
	SOCKETMAP_FRAME_TOO_LONG,  /* its length exceeds the limit */
};

/* The answer to one request. */
enum socketmap_status {
	SOCKETMAP_OK,
	SOCKETMAP_NOTFOUND,
	SOCKETMAP_TEMP,
	SOCKETMAP_PERM,
};

/*
 * socketmap_frame - look for one netstring at the start of BUF (LEN bytes) whose payload is at
 * most MAX bytes. On SOCKETMAP_FRAME_OK *DATA and *DLEN give the payload and *USED the bytes the
 * whole netstring took. Strict: decimal length without sign or leading zero, ':' and ','.
 */
enum socketmap_frame socketmap_frame(const char *buf, size_t len, size_t max, const char **data, size_t *dlen,
				     size_t *used);

/*
 * socketmap_request - check a payload "NAME KEY" (LEN bytes, not NUL-terminated) and read KEY as an
 * address. 1: KEY is an address, CANON gets its canonical text; 0: a well-formed key that is no
 * address (a host name, a part of an address: Postfix asks those too), answered NOTFOUND; -1: a
 * malformed request (no space, an empty or over-long name or key, a byte outside 0x21-0x7e),
 * answered PERM. An address may be IPv4, IPv6 compressed or full, with or without sendmail's
 * "IPv6:" prefix (any case).
 */
int socketmap_request(const char *payload, size_t len, char canon[IP_TEXT_MAX]);

/*
 * socketmap_reply - the netstring for STATUS with TEXT (the value of OK, the reason of TEMP or
 * PERM; ignored for NOTFOUND) into OUT. Returns its length, or 0 when it does not fit CAP.
 */
size_t socketmap_reply(enum socketmap_status status, const char *text, char *out, size_t cap);

/*
 * socketmap_answer - the answer for canonical address CANON from the relay database DB (NULL when it
 * cannot be opened) at NOW: OK with the expiry in VALUE when an authorization holds (the same
 * value the DRAC map exports), TEMP when the database cannot be read, else NOTFOUND.
 */
enum socketmap_status socketmap_answer(const struct config *cfg, struct relaydb *db, const char *canon,
				       time_t now, char *value, size_t cap);

/* Where relay.socketmap_listen says to listen. */
struct socketmap_where {
	bool is_unix;
	struct listen_addr inet;       /* when !is_unix */
	char path[108];                /* when is_unix: sockaddr_un's sun_path */
};

/*
 * socketmap_where_parse - relay.socketmap_listen TEXT: "host:port", "[v6]:port" or "unix:/path".
 * 1 with W set, 0 when TEXT is empty (disabled), -1 with a reason in *WHY.
 */
int socketmap_where_parse(const char *text, struct socketmap_where *w, const char **why);

/* The server state inside the relay lookup worker. */
struct socketmap;

/*
 * socketmap_open - the server for CFG on LISTEN_FD, the inet listener the master bound (-1: none);
 * for a unix: address it binds the path itself. NULL when disabled or on an error (logged).
 */
struct socketmap *socketmap_open(const struct config *cfg, int listen_fd);

/* socketmap_close - close every connection and the listener, free SM and set *SM to NULL. */
void socketmap_close(struct socketmap **sm);

/* socketmap_pollfds - fill up to MAX entries of PFD for the next poll(); returns how many. */
size_t socketmap_pollfds(struct socketmap *sm, struct pollfd *pfd, size_t max);

/*
 * socketmap_serve - after poll(): handle the N entries of PFD that socketmap_pollfds filled, each
 * request answered from the database DB_FN(ARG) returns (NULL: unavailable); then close idle
 * connections.
 */
void socketmap_serve(struct socketmap *sm, const struct pollfd *pfd, size_t n,
		     struct relaydb *(*db_fn)(void *arg), void *arg);

#endif
