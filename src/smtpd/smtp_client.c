/* smtp_client.c - connecting to a smarthost and reading its replies strictly and within bounds. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cidr.h"
#include "smtpd/smtp_client.h"

/* connect_one - one address, non-blocking with a poll for the timeout; blocking again on success. */
static int connect_one(const struct addrinfo *ai, int timeout, char *err, size_t errlen)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return snprintf(err, errlen, "socket: %s", strerror(errno)), -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		int n;

		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		while ((n = poll(&pfd, 1, timeout * 1000)) < 0 && errno == EINTR)
			;
		if (n <= 0) {
			snprintf(err, errlen, "connection timed out");
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			snprintf(err, errlen, "%s", strerror(soerr != 0 ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int smtp_client_connect(const char *host, const char *port, int timeout, bool *loopback, char *err,
			size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	int fd = -1, rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0)
		return snprintf(err, errlen, "%s: %s", host, gai_strerror(rc)), -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, timeout, err, errlen);
		if (fd >= 0) {
			struct ip_addr ip;

			*loopback = ip_from_sockaddr(ai->ai_addr, &ip) == 0 &&
				    ((ip.family == AF_INET && ip.addr[0] == 127) ||
				     (ip.family == AF_INET6 && memcmp(ip.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0));
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* printable - copy TEXT, replacing anything but printable ASCII: it goes to logs and to clients. */
static void printable(const char *text, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)text[i];

		out[n++] = (c < 32 || c > 126) ? '?' : (char)c;
	}
	out[n] = '\0';
}

/* note_cap - an EHLO keyword line ("STARTTLS", "AUTH LOGIN PLAIN", "SIZE 1000"). */
static unsigned note_cap(const char *kw)
{
	size_t kl = strcspn(kw, " =");

	if (kl == 8 && strncasecmp(kw, "STARTTLS", 8) == 0)
		return SMTP_CAP_STARTTLS;
	if (kl == 4 && strncasecmp(kw, "SIZE", 4) == 0)
		return SMTP_CAP_SIZE;
	if (kl == 8 && strncasecmp(kw, "8BITMIME", 8) == 0)
		return SMTP_CAP_8BITMIME;
	if (kl == 10 && strncasecmp(kw, "PIPELINING", 10) == 0)
		return SMTP_CAP_PIPELINING;
	if (kl == 8 && strncasecmp(kw, "XFORWARD", 8) == 0)
		return SMTP_CAP_XFORWARD;
	if (kl == 4 && strncasecmp(kw, "AUTH", 4) == 0) {
		for (const char *p = kw + 4; *p != '\0'; p += strcspn(p, " ")) {
			p += strspn(p, " =");
			if (strncasecmp(p, "PLAIN", 5) == 0 && (p[5] == '\0' || p[5] == ' '))
				return SMTP_CAP_AUTH_PLAIN;
		}
	}
	return 0;
}

/* reply_line_code - the code of a "DDD[ -]text" line, or -1. *MORE says whether a '-' follows. */
static int reply_line_code(const char *line, size_t len, bool *more)
{
	if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*more = len > 3 && line[3] == '-';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

int smtp_client_read_reply(struct lio *lio, struct smtp_client_reply *r)
{
	char line[1024];

	r->code = 0;
	r->caps = 0;
	r->text[0] = '\0';
	for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++) {
		size_t len = 0;
		bool more = false;
		enum lio_status st = lio_read_line(lio, line, sizeof(line), &len, NULL);
		int code;

		if (st != LIO_OK) {
			snprintf(r->text, sizeof(r->text), "%s", st == LIO_TIMEOUT ? "timed out waiting for a reply"
				 : st == LIO_EOF ? "connection closed" : st == LIO_TOOLONG ? "reply line too long"
				 : "connection error");
			return -1;
		}
		code = reply_line_code(line, len, &more);
		if (code < 0 || (i > 0 && code != r->code)) {
			snprintf(r->text, sizeof(r->text), "malformed reply");
			r->code = 0;
			return -1;
		}
		if (i == 0)
			printable(line, len, r->text, sizeof(r->text));
		else if (len > 4)
			r->caps |= note_cap(line + 4);
		r->code = code;
		if (!more)
			return 0;
	}
	snprintf(r->text, sizeof(r->text), "reply longer than %d lines", SMTP_REPLY_LINES_MAX);
	r->code = 0;
	return -1;
}

int smtp_client_command(struct lio *lio, struct smtp_client_reply *r, const char *fmt, ...)
{
	char cmd[SMTP_MAIL_LINE_MAX + SMTP_AUTH_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 2) {
		snprintf(r->text, sizeof(r->text), "command too long");
		r->code = 0;
		return -1;
	}
	memcpy(cmd + n, "\r\n", 2);
	n = lio_write(lio, cmd, (size_t)n + 2) < 0 || lio_flush(lio) < 0 ? -1 : 0;
	explicit_bzero(cmd, sizeof(cmd)); /* it may have carried AUTH credentials */
	if (n < 0) {
		snprintf(r->text, sizeof(r->text), "connection error while sending");
		r->code = 0;
		return -1;
	}
	return smtp_client_read_reply(lio, r);
}
