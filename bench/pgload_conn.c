/* pgload_conn.c - the load client's connections: connect, TLS, line and dot-terminated body reads. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Blocking sockets with a 30 s receive and send timeout: a stuck server shows up as an error in
 * the results instead of a hung benchmark. Reads go straight into one large buffer per connection.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pgload.h"

/* Longest wait for any one read or write. */
#define PGL_IO_TIMEOUT_S 30

double pgl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

SSL_CTX *pgl_tls_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Every connection a full handshake: no session cache, no tickets kept. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

int pgl_connect(struct pgl_conn *c, const struct pgl_opts *o)
{
	struct timeval tv = { .tv_sec = PGL_IO_TIMEOUT_S };
	int one = 1, err;

	c->ssl = NULL;
	c->pos = c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) < 0)
		goto fail;
	if (!o->tls)
		return 0;
	if ((c->ssl = SSL_new(o->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
		goto fail;
	return 0;
fail:
	err = errno;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
	errno = err;
	return -1;
}

/* raw_read - up to CAP bytes from the connection: >0, 0 at EOF, -1 on error. */
static ssize_t raw_read(struct pgl_conn *c, char *buf, size_t cap)
{
	if (c->ssl != NULL) {
		int n = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
		if (n > 0)
			return n;
		return SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	for (;;) {
		ssize_t n = recv(c->fd, buf, cap, 0);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

/* raw_write - all of LEN bytes. 0 or -1. */
static int raw_write(struct pgl_conn *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (c->ssl != NULL) {
			int w = SSL_write(c->ssl, buf, (int)len);
			n = w > 0 ? w : -1;
		} else {
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void pgl_close(struct pgl_conn *c)
{
	char scrap[512];
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (c->fd < 0)
		return;
	/* Let the server close first (it does after QUIT): the TIME_WAIT stays on its side. */
	while (poll(&p, 1, 200) > 0 && recv(c->fd, scrap, sizeof(scrap), MSG_DONTWAIT) > 0)
		;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
}

int pgl_send(struct pgl_conn *c, const char *fmt, ...)
{
	char line[PGL_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	line[n++] = '\r';
	line[n++] = '\n';
	return raw_write(c, line, (size_t)n);
}

/* fill - read more after the unread bytes (moved to the front). 0, or -1 on EOF or error. */
static int fill(struct pgl_conn *c)
{
	ssize_t n;

	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->len >= sizeof(c->buf))
		return -1;
	n = raw_read(c, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

char *pgl_line(struct pgl_conn *c)
{
	for (;;) {
		char *start = c->buf + c->pos;
		char *nl = memchr(start, '\n', c->len - c->pos);

		if (nl != NULL) {
			*nl = '\0';
			if (nl > start && nl[-1] == '\r')
				nl[-1] = '\0';
			c->pos = (size_t)(nl + 1 - c->buf);
			return start;
		}
		if (c->len - c->pos > PGL_LINE || fill(c) < 0)
			return NULL;
	}
}

int pgl_ok(struct pgl_conn *c)
{
	const char *l = pgl_line(c);

	return l != NULL && strncmp(l, "+OK", 3) == 0 ? 0 : -1;
}

/* tail_push - keep the last five bytes of the stream in T after N more bytes at P. */
static void tail_push(char t[5], const char *p, size_t n)
{
	if (n >= 5) {
		memcpy(t, p + n - 5, 5);
		return;
	}
	memmove(t, t + n, 5 - n);
	memcpy(t + 5 - n, p, n);
}

long long pgl_body(struct pgl_conn *c)
{
	/* The status line's CRLF precedes the body: an empty body is just ".\r\n". */
	char tail[5] = { 0, 0, 0, '\r', '\n' };
	long long total = 0;
	size_t n = c->len - c->pos;

	/*
	 * Dot-stuffing keeps CRLF.CRLF out of the body and the server sends nothing after it until
	 * the next command, so the end is found by looking only at the last five bytes received.
	 */
	tail_push(tail, c->buf + c->pos, n);
	total += (long long)n;
	c->pos = c->len = 0;
	while (memcmp(tail, "\r\n.\r\n", 5) != 0) {
		ssize_t r = raw_read(c, c->buf, sizeof(c->buf));
		if (r <= 0)
			return -1;
		tail_push(tail, c->buf, (size_t)r);
		total += r;
	}
	return total;
}

int pgl_smtp(struct pgl_conn *c)
{
	for (;;) {
		const char *l = pgl_line(c);

		if (l == NULL || strlen(l) < 3)
			return -1;
		if (l[3] != '-')
			return atoi(l);
	}
}

void pgl_user(const struct pgl_opts *o, long i, char *out, size_t cap)
{
	long n = o->users > 0 ? i % o->users : i;

	snprintf(out, cap, "%s%ld", o->user_prefix, n);
}

int pgl_pop3_login(struct pgl_conn *c, const struct pgl_opts *o, long i)
{
	char user[128];

	pgl_user(o, i, user, sizeof(user));
	if (pgl_ok(c) < 0 || pgl_send(c, "USER %s", user) < 0 || pgl_ok(c) < 0 ||
	    pgl_send(c, "PASS %s", o->pass) < 0 || pgl_ok(c) < 0)
		return -1;
	return 0;
}
