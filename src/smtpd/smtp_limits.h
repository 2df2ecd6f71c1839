/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_limits.h - every fixed limit of the SMTP service in one place, each with its reason.
 * Limits an administrator may want to change are config keys ([smtp] in keys_smtp.c) instead.
 */
#ifndef POPGATE_SMTP_LIMITS_H
#define POPGATE_SMTP_LIMITS_H

/*
 * A verb: RFC 5321's are four letters, extensions' longer (STARTTLS). Up to this many letters an
 * unknown verb is "500 5.5.1 Command unrecognized"; beyond it, the line is no command (500 5.5.2).
 */
#define SMTP_VERB_MAX 15

/* A command line, CRLF included (RFC 5321 4.5.3.1.4). */
#define SMTP_CMD_LINE_MAX 512

/*
 * MAIL and RCPT lines may grow by what their ESMTP parameters add: SIZE= 26 octets (RFC 1870 3)
 * and AUTH= 500 octets (RFC 4954 5). We round up to leave room for BODY=.
 */
#define SMTP_MAIL_LINE_MAX 1100

/* An AUTH command or SASL response line, CRLF included (RFC 4954 4: at least 12288). */
#define SMTP_AUTH_LINE_MAX 12288

/* The buffer a command is read into: the longest of the above plus the NUL. */
#define SMTP_READ_MAX (SMTP_AUTH_LINE_MAX + 1)

/*
 * A text line of the message, CRLF included (RFC 5321 4.5.3.1.6, RFC 5322 2.1.1). Longer lines
 * are refused rather than wrapped: a smarthost may refuse them too, and re-wrapping would break
 * signatures, so the client keeps the message and gets a clear 5xx.
 */
#define SMTP_TEXT_LINE_MAX 1000

/* Address parts (RFC 5321 4.5.3.1.1-3). */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_PATH_MAX 256

/* A HELO/EHLO argument: a domain or an address literal. */
#define SMTP_HELO_MAX 255

/* Messages up to this size stay in memory while spooled; larger ones spill to an unlinked file. */
#define SMTP_SPOOL_MEM_MAX (256 * 1024)

/* Replies from a next hop: lines per reply (a hostile smarthost must not make us loop forever). */
#define SMTP_REPLY_LINES_MAX 100

/* The text of one reply line we keep (RFC 5321 4.5.3.1.5 allows 512 with CRLF). */
#define SMTP_REPLY_TEXT_MAX 512

/*
 * Recipient text on one sendmail command line. Linux allows ARG_MAX (2 MiB, less the
 * environment) in all; staying far below it means execve never fails with E2BIG.
 */
#define SMTP_SENDMAIL_ARGV_MAX (256 * 1024)

/* Bytes of a sendmail's stderr kept for the log. */
#define SMTP_SENDMAIL_ERR_MAX 256

#endif
