/* pop3_limits.h - every fixed limit of the POP3 protocol engine, each with its reason. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POP3_LIMITS_H
#define POPGATE_POP3_LIMITS_H

#include "auth/auth.h"

/*
 * RFC 2449 section 4: a command line is at most 255 octets including CRLF. Some clients send
 * longer ones (long user names, AUTH initial responses), so we accept twice that; anything
 * longer is read to its end, refused once and counted as a bad command.
 */
#define POP3_LINE_MAX 512

/* RFC 2449 section 4: arguments may be up to 40 characters long. */
#define POP3_ARG_MAX 40

/*
 * User names (USER, APOP) are exempt from the 40-character rule: virtual users are often
 * e-mail addresses, and the auth layer bounds names itself.
 */
#define POP3_NAME_ARG_MAX (AUTH_NAME_MAX - 1)

/*
 * RFC 1939 section 3: keywords are three or four characters long; a longer word is no command.
 * No command takes more than two arguments (TOP msg n; AUTH mech initial-response):
 * SESSION_ARGS_MAX in common/session_cmd.h.
 */
#define POP3_VERB_MAX 4

/*
 * RFC 5034 section 4: SASL continuation lines are not bound by the 255-octet rule. A PLAIN
 * response carries two names and a password: base64 of AUTH_NAME_MAX*2 + AUTH_PASS_MAX fits.
 */
#define POP3_SASL_LINE_MAX 4096

/* The decoded SASL response: authzid NUL authcid NUL password. */
#define POP3_SASL_DECODED_MAX (POP3_SASL_LINE_MAX / 4 * 3)

/* RFC 1939 APOP timestamp "<pid.clock@hostname>": the host name is at most 253 octets. */
#define POP3_CHALLENGE_MAX 256

/*
 * How long a monitor waits for the mailbox process it lets go of to exit (it exits as soon as its
 * channel closes) before it kills it: a subverted one must not hold its pair.
 */
#define POP3_OWNER_EXIT_MS 1000

#endif
