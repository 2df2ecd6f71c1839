/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_parse.h - checking SMTP command arguments apart from acting on them: HELO/EHLO
 * names, MAIL FROM / RCPT TO paths and the ESMTP parameters we offer (SIZE, BODY, AUTH).
 */
#ifndef POPGATE_SMTP_PARSE_H
#define POPGATE_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtpd/smtp_addr.h"

/* smtp_helo_valid - whether ARG is an acceptable HELO/EHLO name: a domain or an address literal. */
bool smtp_helo_valid(const char *arg);

/* ESMTP parameters of MAIL FROM that we understand. */
struct smtp_mail_params {
	bool size_given;
	uint64_t size;        /* SIZE=: the client's estimate (RFC 1870) */
	bool body_8bit;       /* BODY=8BITMIME (RFC 6152) */
	bool auth_given;      /* AUTH=: accepted and not trusted (RFC 4954 5) */
};

/* Outcome of parsing a MAIL or RCPT argument, turned into a reply by the caller. */
enum smtp_arg_error {
	SMTP_ARG_OK = 0,
	SMTP_ARG_SYNTAX,      /* "FROM:" / "TO:" missing or garbage after the path: 501 */
	SMTP_ARG_ADDRESS,     /* the path did not parse: see *addr_error; 501/553 */
	SMTP_ARG_PARAM,       /* an unknown or malformed parameter: 555 */
	SMTP_ARG_NO_PARAMS,   /* parameters after HELO (not EHLO): 555 */
};

/*
 * smtp_parse_mail - "FROM:<path> [params]" for MAIL. ESMTP says whether EHLO was used.
 * On SMTP_ARG_ADDRESS the path's error is in *AE.
 */
enum smtp_arg_error smtp_parse_mail(const char *args, bool esmtp, struct smtp_addr *from,
				    struct smtp_mail_params *params, enum smtp_addr_error *ae);

/* smtp_parse_rcpt - "TO:<path>" for RCPT; no RCPT parameters are offered. */
enum smtp_arg_error smtp_parse_rcpt(const char *args, struct smtp_addr *to, enum smtp_addr_error *ae);

#endif
