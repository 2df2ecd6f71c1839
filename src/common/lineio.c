/* lineio.c - bounded buffered line I/O over plain or TLS sockets, every wait bounded by poll(). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/clock.h"
#include "common/lineio.h"
#include "common/memtrim.h"
#include "common/log.h"

struct lio {
	int fd;
	SSL *ssl;
	int timeout;          /* seconds per wait; 0 = none */
	time_t deadline;      /* monotonic; 0 = none */
	size_t in_pos, in_len;
	size_t in_used;       /* the most of in[] ever filled: what lio_free must wipe */
	size_t out_len;
	bool eof;
	bool answered;        /* a reply went out since the last read: the peer's next line comes after it */
	/* Not zeroed: only what was filled is read, so an idle session dirties none of the 80 KB it did not use. */
	char in[LIO_INBUF];
	char out[LIO_OUTBUF];
};

/* note_input - remember how far in[] has held client bytes, for the wipe at lio_free. */
static void note_input(struct lio *lio)
{
	if (lio->in_len > lio->in_used)
		lio->in_used = lio->in_len;
}

time_t lio_now(void)
{
	return (time_t)(mono_ms() / 1000);
}

/* wrap - the lio of FD, made non-blocking; NODELAY: set TCP_NODELAY too. NULL on failure. */
static struct lio *wrap(int fd, bool nodelay)
{
	struct lio *lio;
	int fl = fcntl(fd, F_GETFL), one = 1;

	/*
	 * Non-blocking, so that every wait happens in poll() under the timeout and the deadline. A
	 * socket handed over by the protocol child is already (the flag is the open file's, shared),
	 * but is checked all the same: the sender is not trusted, and a blocking socket would let a
	 * write outlast every timeout.
	 */
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return NULL;
	/*
	 * Output is assembled in out[] and flushed a reply at a time, so Nagle could only hold back
	 * a reply's last small segment (a RETR's ".") until the peer's delayed ACK: 20-40 ms per
	 * RETR on loopback. Not TCP (the privsep channel): the call fails harmlessly.
	 */
	if (nodelay)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lio = malloc(sizeof(*lio));
	if (lio != NULL) {
		memset(lio, 0, offsetof(struct lio, in));
		lio->fd = fd;
	}
	return lio;
}

struct lio *lio_new(int fd)
{
	return wrap(fd, true);
}

struct lio *lio_adopt(int fd)
{
	return wrap(fd, false);
}

void lio_free(struct lio **liop)
{
	struct lio *lio = *liop;

	if (lio == NULL)
		return;
	if (lio->ssl != NULL) {
		/* One close_notify without waiting: the peer may already be gone. */
		SSL_set_quiet_shutdown(lio->ssl, 0);
		(void)SSL_shutdown(lio->ssl);
		SSL_free(lio->ssl);
	}
	if (lio->fd >= 0)
		close(lio->fd);
	explicit_bzero(lio->in, lio->in_used);
	free(lio);
	*liop = NULL;
}

int lio_fd(const struct lio *lio)
{
	return lio->fd;
}

void lio_set_timeout(struct lio *lio, int seconds)
{
	lio->timeout = seconds;
}

void lio_set_deadline(struct lio *lio, time_t deadline)
{
	lio->deadline = deadline;
}

/* wait_fd - poll for EVENTS within the per-wait timeout and the deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(struct lio *lio, short events)
{
	struct pollfd pfd = { .fd = lio->fd, .events = events };
	time_t now = lio_now();
	long ms = -1;

	if (lio->timeout > 0)
		ms = (long)lio->timeout * 1000;
	if (lio->deadline > 0) {
		long left = lio->deadline > now ? (long)(lio->deadline - now) * 1000 : 0;
		if (ms < 0 || left < ms)
			ms = left;
	}
	for (;;) {
		/* Waiting for the client's next line is where a session idles: give memory back then. */
		int n = events & POLLIN ? mem_idle_poll(&pfd, 1, (int)ms) : poll(&pfd, 1, (int)ms);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* tls_want - translate an SSL_get_error result into the direction to wait for, or -1 for failure. */
static int tls_want(struct lio *lio, int rc)
{
	switch (SSL_get_error(lio->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return POLLOUT;
	case SSL_ERROR_ZERO_RETURN:
		lio->eof = true;
		return -1;
	default:
		ERR_clear_error();
		return -1;
	}
}

/* fill - read more input after the unconsumed part; LIO_OK when bytes arrived. */
static enum lio_status fill(struct lio *lio)
{
	if (lio->in_pos > 0) {
		memmove(lio->in, lio->in + lio->in_pos, lio->in_len - lio->in_pos);
		lio->in_len -= lio->in_pos;
		lio->in_pos = 0;
	}
	if (lio->in_len == sizeof(lio->in))
		return LIO_ERROR; /* callers consume before refilling; a full buffer is a bug */
	if (lio->eof)
		return LIO_EOF;
	for (;;) {
		ssize_t n;
		short want = POLLIN;
		if (lio->ssl != NULL) {
			if (SSL_pending(lio->ssl) == 0 && SSL_has_pending(lio->ssl) == 0) {
				int w = wait_fd(lio, POLLIN);
				if (w <= 0)
					return w == 0 ? LIO_TIMEOUT : LIO_ERROR;
			}
			int rc = SSL_read(lio->ssl, lio->in + lio->in_len, (int)(sizeof(lio->in) - lio->in_len));
			if (rc > 0) {
				lio->in_len += (size_t)rc;
				note_input(lio);
				return LIO_OK;
			}
			int t = tls_want(lio, rc);
			if (t < 0)
				return lio->eof ? LIO_EOF : LIO_ERROR;
			want = (short)t;
		} else {
			/*
			 * Right after a reply the peer is reading it, not yet writing: waiting first saves
			 * a read that would only say EAGAIN (pipelined input is in[] already, not here).
			 */
			if (lio->answered) {
				int w = wait_fd(lio, POLLIN);

				lio->answered = false;
				if (w <= 0)
					return w == 0 ? LIO_TIMEOUT : LIO_ERROR;
			}
			n = recv(lio->fd, lio->in + lio->in_len, sizeof(lio->in) - lio->in_len, 0);
			if (n > 0) {
				lio->in_len += (size_t)n;
				note_input(lio);
				return LIO_OK;
			}
			if (n == 0) {
				lio->eof = true;
				return LIO_EOF;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return LIO_ERROR;
		}
		int w = wait_fd(lio, want);
		if (w <= 0)
			return w == 0 ? LIO_TIMEOUT : LIO_ERROR;
	}
}

/* take_line - consume the line ending at NL (index into in[]) into BUF, with its flags. */
static void take_line(struct lio *lio, size_t nl, char *buf, size_t cap, size_t *len, unsigned *flags)
{
	size_t start = lio->in_pos, end = nl;
	unsigned f = 0;

	if (end > start && lio->in[end - 1] == '\r')
		end--;
	else
		f |= LIO_LINE_BARE_LF;
	if (memchr(lio->in + start, '\r', end - start) != NULL)
		f |= LIO_LINE_BARE_CR;
	size_t n = end - start;
	if (n > cap - 1)
		n = cap - 1; /* unreachable: callers check length first */
	memcpy(buf, lio->in + start, n);
	buf[n] = '\0';
	*len = n;
	if (flags != NULL)
		*flags = f;
	lio->in_pos = nl + 1;
}

/* long_line_end - the LIO_LINE_BARE_LF bit for a dropped line whose LF is at NL; PREV is the byte before IN. */
static unsigned long_line_end(const struct lio *lio, size_t nl, char prev)
{
	char before = nl > lio->in_pos ? lio->in[nl - 1] : prev;

	return before == '\r' ? 0 : LIO_LINE_BARE_LF;
}

/*
 * skip_long_line - drop input up to and including the next LF, however long. How the line ended
 * still counts: a CRLF "." CRLF after a long line is a message's end, a bare LF before it is not.
 */
static enum lio_status skip_long_line(struct lio *lio, unsigned *flags)
{
	char prev = '\0'; /* the last byte dropped before a refill, for a CR and LF split across two */

	for (;;) {
		char *nl = memchr(lio->in + lio->in_pos, '\n', lio->in_len - lio->in_pos);
		if (nl != NULL) {
			size_t idx = (size_t)(nl - lio->in);
			if (flags != NULL)
				*flags = long_line_end(lio, idx, prev);
			lio->in_pos = idx + 1;
			return LIO_TOOLONG;
		}
		if (lio->in_len > lio->in_pos)
			prev = lio->in[lio->in_len - 1];
		lio->in_pos = lio->in_len;
		enum lio_status st = fill(lio);
		if (st != LIO_OK)
			return st;
	}
}

enum lio_status lio_read_line(struct lio *lio, char *buf, size_t cap, size_t *len, unsigned *flags)
{
	size_t scanned = 0; /* bytes after in_pos already known to hold no LF */

	*len = 0;
	if (cap == 0)
		return LIO_ERROR;
	if (lio->deadline > 0 && lio_now() >= lio->deadline)
		return LIO_TIMEOUT;
	for (;;) {
		size_t avail = lio->in_len - lio->in_pos;
		char *nl = memchr(lio->in + lio->in_pos + scanned, '\n', avail - scanned);
		if (nl != NULL) {
			size_t idx = (size_t)(nl - lio->in);
			size_t raw = idx - lio->in_pos;
			if (raw > 0 && lio->in[idx - 1] == '\r')
				raw--;
			if (raw > cap - 1) {
				if (flags != NULL)
					*flags = long_line_end(lio, idx, '\0');
				lio->in_pos = idx + 1;
				return LIO_TOOLONG;
			}
			take_line(lio, idx, buf, cap, len, flags);
			return LIO_OK;
		}
		scanned = avail;
		/* Content is at least avail-1 bytes (the last may be the CR of a CRLF still to come). */
		if (avail > cap || avail >= sizeof(lio->in))
			return skip_long_line(lio, flags);
		enum lio_status st = fill(lio); /* compacts: in_pos becomes 0, scanned stays valid */
		if (st == LIO_EOF && lio->in_len > lio->in_pos)
			return LIO_EOF; /* an unterminated last line is not a command */
		if (st != LIO_OK)
			return st;
	}
}

size_t lio_buffered(const struct lio *lio)
{
	return lio->in_len - lio->in_pos;
}

int lio_preload(struct lio *lio, const void *buf, size_t len)
{
	if (len > sizeof(lio->in) - (lio->in_len - lio->in_pos))
		return -1;
	if (lio->in_pos > 0) {
		memmove(lio->in, lio->in + lio->in_pos, lio->in_len - lio->in_pos);
		lio->in_len -= lio->in_pos;
		lio->in_pos = 0;
	}
	memcpy(lio->in + lio->in_len, buf, len);
	lio->in_len += len;
	note_input(lio);
	return 0;
}

void lio_discard_input(struct lio *lio)
{
	lio->in_pos = lio->in_len = 0;
}

size_t lio_take_input(struct lio *lio, void *buf, size_t cap)
{
	size_t n = lio->in_len - lio->in_pos;

	if (n > cap)
		n = cap;
	memcpy(buf, lio->in + lio->in_pos, n);
	lio->in_pos += n;
	return n;
}

/* send_raw - write all of BUF to the socket or TLS within the timeouts. 0 or -1. */
static int send_raw(struct lio *lio, const char *buf, size_t len)
{
	while (len > 0) {
		short want = POLLOUT;
		if (lio->ssl != NULL) {
			size_t done = 0;
			int rc = SSL_write_ex(lio->ssl, buf, len, &done);
			if (rc == 1) {
				buf += done;
				len -= done;
				continue;
			}
			int t = tls_want(lio, rc);
			if (t < 0)
				return -1;
			want = (short)t;
		} else {
			ssize_t n = send(lio->fd, buf, len, MSG_NOSIGNAL);
			if (n > 0) {
				buf += n;
				len -= (size_t)n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
		}
		if (wait_fd(lio, want) <= 0)
			return -1;
	}
	return 0;
}

int lio_flush(struct lio *lio)
{
	int rc = send_raw(lio, lio->out, lio->out_len);

	lio->answered = lio->out_len > 0 && rc == 0;
	lio->out_len = 0;
	return rc;
}

int lio_write(struct lio *lio, const void *buf, size_t len)
{
	if (lio->out_len + len > sizeof(lio->out)) {
		if (lio_flush(lio) < 0)
			return -1;
		if (len > sizeof(lio->out))
			return send_raw(lio, buf, len);
	}
	memcpy(lio->out + lio->out_len, buf, len);
	lio->out_len += len;
	return 0;
}

/*
 * handshake - drive SSL_accept or SSL_connect to completion within the timeouts. 0, or -1 with
 * errno ETIMEDOUT when time ran out and EPROTO for any other failure (counted apart in /metrics).
 */
static int handshake(struct lio *lio, bool server)
{
	for (;;) {
		int rc = server ? SSL_accept(lio->ssl) : SSL_connect(lio->ssl);
		if (rc == 1)
			return 0;
		int want = tls_want(lio, rc), ready = want < 0 ? -1 : wait_fd(lio, (short)want);
		if (ready <= 0) {
			errno = ready == 0 ? ETIMEDOUT : EPROTO;
			return -1;
		}
	}
}

static int start_tls(struct lio *lio, SSL_CTX *ctx, bool server, const char *servername)
{
	if (lio->ssl != NULL || lio_flush(lio) < 0)
		return -1;
	lio->ssl = SSL_new(ctx);
	if (lio->ssl == NULL || SSL_set_fd(lio->ssl, lio->fd) != 1)
		return -1;
	if (!server && servername != NULL && *servername != '\0') {
		SSL_set_tlsext_host_name(lio->ssl, servername);
		SSL_set1_host(lio->ssl, servername);
	}
	/* Plaintext that arrived before the handshake must not be read as if protected (RFC 2595, 3207). */
	lio_discard_input(lio);
	lio->eof = false;
	return handshake(lio, server);
}

int lio_start_tls_server(struct lio *lio, SSL_CTX *ctx)
{
	return start_tls(lio, ctx, true, NULL);
}

int lio_start_tls_client(struct lio *lio, SSL_CTX *ctx, const char *servername)
{
	return start_tls(lio, ctx, false, servername);
}

SSL *lio_tls(const struct lio *lio)
{
	return lio->ssl;
}

const char *lio_tls_info(const struct lio *lio, char *out, size_t cap)
{
	if (lio->ssl == NULL) {
		if (cap > 0)
			out[0] = '\0';
		return out;
	}
	snprintf(out, cap, "%s %s", SSL_get_version(lio->ssl), SSL_get_cipher_name(lio->ssl));
	return out;
}
