/* lineio.h - bounded, buffered line I/O over a socket, plain or TLS, with per-read timeouts and a deadline. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_LINEIO_H
#define POPGATE_LINEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

/* Input buffer size: the longest line any popgate protocol accepts is well below this. */
#define LIO_INBUF 16384
#define LIO_OUTBUF 65536

enum lio_status {
	LIO_OK,
	LIO_EOF,      /* peer closed (or TLS close_notify) */
	LIO_TIMEOUT,  /* idle timeout or session deadline passed */
	LIO_TOOLONG,  /* the line was longer than the caller's buffer: it was read to its end and dropped */
	LIO_ERROR,    /* I/O or TLS error (already logged at debug level) */
};

/* Flags describing how a line read by lio_read_line ended. */
#define LIO_LINE_BARE_LF 0x1 /* ended with LF alone, not CRLF */
#define LIO_LINE_BARE_CR 0x2 /* held a CR not followed by LF */

struct lio;

/* lio_new - wrap connected socket FD (which the lio then owns), non-blocking, TCP_NODELAY. NULL on failure. */
struct lio *lio_new(int fd);

/*
 * lio_adopt - lio_new for a client socket handed over by a process that wrapped it with lio_new:
 * TCP_NODELAY is the socket's, set already (a sender that cleared it slows only its own client),
 * so a call a session is saved. O_NONBLOCK is still checked. NULL on failure.
 */
struct lio *lio_adopt(int fd);

/* lio_free - close the socket (TLS shutdown first) and free; sets *lio to NULL. */
void lio_free(struct lio **lio);

/* lio_fd - the socket. */
int lio_fd(const struct lio *lio);

/* lio_set_timeout - seconds any one read or write may wait (0: no per-read limit). */
void lio_set_timeout(struct lio *lio, int seconds);

/* lio_set_deadline - absolute CLOCK_MONOTONIC second after which every call fails with LIO_TIMEOUT (0: none). */
void lio_set_deadline(struct lio *lio, time_t deadline);

/* lio_now - CLOCK_MONOTONIC seconds, the clock lio_set_deadline uses. */
time_t lio_now(void);

/*
 * lio_read_line - the next line into BUF without its line end, NUL-terminated, length in *LEN.
 * A line is ended by LF (CRLF stripped as a pair). FLAGS, if not NULL, gets LIO_LINE_* bits.
 * A line longer than CAP-1 is consumed to its end and reported once as LIO_TOOLONG; FLAGS then
 * says only how it ended (LIO_LINE_BARE_LF or 0).
 */
enum lio_status lio_read_line(struct lio *lio, char *buf, size_t cap, size_t *len, unsigned *flags);

/* lio_buffered - bytes already read from the peer but not yet consumed (pipelined input). */
size_t lio_buffered(const struct lio *lio);

/* lio_preload - queue LEN bytes as if they had been read from the peer (input handed over). 0 or -1. */
int lio_preload(struct lio *lio, const void *buf, size_t len);

/* lio_discard_input - drop buffered unread input (after STLS/STARTTLS, RFC 2595/3207). */
void lio_discard_input(struct lio *lio);

/*
 * lio_take_input - move up to CAP bytes of buffered unread input into BUF without reading the
 * socket (to hand the connection to another process); the number of bytes.
 */
size_t lio_take_input(struct lio *lio, void *buf, size_t cap);

/* lio_write - queue LEN bytes; flushes when the buffer fills. 0 or -1. */
int lio_write(struct lio *lio, const void *buf, size_t len);

/* lio_flush - send everything queued, within the timeout. 0 or -1. */
int lio_flush(struct lio *lio);

/*
 * lio_start_tls_server - server TLS handshake on the socket within the timeout; discards buffered
 * input. 0, or -1 with errno ETIMEDOUT when the timeout or deadline passed mid-handshake.
 */
int lio_start_tls_server(struct lio *lio, SSL_CTX *ctx);

/* lio_start_tls_client - client TLS handshake (for a smarthost), SNI and verification per CTX. 0 or -1. */
int lio_start_tls_client(struct lio *lio, SSL_CTX *ctx, const char *servername);

/* lio_tls - the TLS session or NULL. */
SSL *lio_tls(const struct lio *lio);

/* lio_tls_info - "TLSv1.3 TLS_AES_256_GCM_SHA384" for logs and Received: headers; "" when plain. */
const char *lio_tls_info(const struct lio *lio, char *out, size_t cap);

#endif
