/* smtp_client.h - the client half of SMTP used towards a smarthost: connect, commands, replies. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SMTP_CLIENT_H
#define POPGATE_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/lineio.h"
#include "smtpd/smtp_limits.h"

/* EHLO keywords we act on. */
#define SMTP_CAP_STARTTLS 0x01
#define SMTP_CAP_AUTH_PLAIN 0x02
#define SMTP_CAP_SIZE 0x04
#define SMTP_CAP_8BITMIME 0x08
#define SMTP_CAP_PIPELINING 0x10
#define SMTP_CAP_XFORWARD 0x20

/* One reply from the server. */
struct smtp_client_reply {
	int code;                         /* 100..599, or 0 when no valid reply was read */
	char text[SMTP_REPLY_TEXT_MAX];   /* its first line, "250 2.1.0 Ok", made printable */
	unsigned caps;                    /* SMTP_CAP_* found in the lines after the first */
};

/*
 * smtp_client_connect - a TCP connection to HOST:PORT within TIMEOUT seconds; the socket, or -1
 * with the reason in ERR. *LOOPBACK says whether the peer is a loopback address.
 */
int smtp_client_connect(const char *host, const char *port, int timeout, bool *loopback, char *err,
			size_t errlen);

/* smtp_client_read_reply - read one reply, multi-line or not. 0, or -1 (r->text says why). */
int smtp_client_read_reply(struct lio *lio, struct smtp_client_reply *r);

/* smtp_client_command - send one command line (CRLF added) and read its reply. 0 or -1. */
int smtp_client_command(struct lio *lio, struct smtp_client_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
