/* smtp_received.h - the Received: header popgate prepends (RFC 5321 4.4, with RFC 3848 keywords). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SMTP_RECEIVED_H
#define POPGATE_SMTP_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* What the header says about one transaction. */
struct smtp_received {
	const char *helo;        /* the client's HELO/EHLO name (already validated) */
	const char *client_ip;
	const char *hostname;    /* our name */
	bool esmtp, tls;
	const char *tls_info;    /* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" */
	const char *auth_user;   /* NULL or "" when the session did not authenticate */
	const char *reasons;     /* the relay reasons of the recipients, "relay-domain,authorized" */
	const char *id;          /* our transaction id */
	const char *for_rcpt;    /* the one recipient, or NULL when there are several */
	time_t when;
};

/* smtp_with_keyword - "SMTP", "ESMTP", "ESMTPA", "ESMTPS" or "ESMTPSA" (RFC 3848). */
const char *smtp_with_keyword(bool esmtp, bool tls, bool auth);

/* smtp_received_format - the header, folded, each line CRLF-terminated. Length, or -1 if CAP is short. */
long smtp_received_format(const struct smtp_received *r, char *out, size_t cap);

/* smtp_new_id - a random transaction id of ID_LEN hex digits (for logs and the header). */
void smtp_new_id(char *out, size_t cap);

#endif
