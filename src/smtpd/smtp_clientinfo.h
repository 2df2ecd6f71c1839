/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_clientinfo.h - telling the next hop who the real client was: XFORWARD commands for an SMTP
 * next hop (Postfix's XFORWARD_README) and -oM options for sendmail, built from what the client
 * said only after checking and encoding it, so that a client can inject neither commands nor
 * options.
 */
#ifndef POPGATE_SMTP_CLIENTINFO_H
#define POPGATE_SMTP_CLIENTINFO_H

#include <stdbool.h>
#include <stddef.h>

/* What is known of the client whose message is handed off. */
struct smtp_client_info {
	const char *ip;        /* canonical address text, NULL or "" when unknown */
	int port;              /* its source port, 0 when unknown */
	const char *name;      /* its verified host name; popgate does no DNS lookup, so NULL */
	const char *helo;      /* the HELO/EHLO argument, NULL or "" before one */
	bool esmtp;            /* EHLO rather than HELO */
	const char *ident;     /* our message id, for the next hop's log */
};

/* Longest XFORWARD command line without CRLF: RFC 5321's 512-octet command line less the CRLF. */
#define SMTP_XFORWARD_LINE_MAX 510

/* XFORWARD commands the six attributes can take at most (each one alone always fits a line). */
#define SMTP_XFORWARD_CMDS_MAX 6

/*
 * smtp_xtext - VALUE in xtext (RFC 3461 4): '!'..'~' but '+' and '=' as they are, every other
 * octet as "+XX". Returns the length, or -1 when it does not fit CAP (OUT is then "").
 */
long smtp_xtext(const char *value, char *out, size_t cap);

/*
 * smtp_xforward_commands - the XFORWARD lines (without CRLF) for CI: NAME ADDR PORT PROTO HELO
 * IDENT, "[UNAVAILABLE]" for what is unknown, as few lines as the 510-octet limit allows. A value
 * too long to fit a line even alone is sent as [UNAVAILABLE]. Returns how many lines CMDS got.
 */
size_t smtp_xforward_commands(const struct smtp_client_info *ci, char cmds[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1]);

/*
 * The -oM arguments for sendmail: -oM{client_addr}ADDR -oMrPROTO -oMsHELO, each one argv element.
 * Not -oMa: in sendmail $a is the origination date (a message without Date: would get the
 * client's address as its date); -oMa means the client address only in Exim.
 */
struct smtp_sendmail_client_args {
	size_t n;
	char v[3][300];
};

/*
 * smtp_sendmail_client_args - fill OUT for CI. The address must parse as one; the HELO name must
 * be a plain host name or address literal (letters, digits, '.', '-', '_', ':', '[', ']', not
 * starting with '-'), else it is left out, as is anything unknown.
 */
void smtp_sendmail_client_args(const struct smtp_client_info *ci, struct smtp_sendmail_client_args *out);

#endif
