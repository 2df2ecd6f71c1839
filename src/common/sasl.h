/* sasl.h - the parsing half of SASL PLAIN and LOGIN, shared by POP3 AUTH and SMTP AUTH. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SASL_H
#define POPGATE_SASL_H

#include <stddef.h>

/*
 * sasl_b64_decode - strict RFC 4648 base64 of IN[0..LEN): a multiple of 4 long, '=' only as the
 * final padding, no white space, zero pad bits (so every text has one spelling). The octets go to
 * OUT, followed by a NUL for convenience, so CAP needs one spare byte. 0 with *OUTLEN set, or -1
 * for bad input or too little room.
 */
int sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen);

/* sasl_b64_encode - LEN octets of IN as base64 in OUT (NUL-terminated). Its length, or -1 if CAP is short. */
long sasl_b64_encode(const void *in, size_t len, char *out, size_t cap);

/*
 * sasl_plain_parse - split a decoded PLAIN response (RFC 4616) "authzid NUL authcid NUL passwd"
 * into USER and PASS (NUL-terminated). The authcid must not be empty; the authzid must be empty or
 * equal to the authcid. 0 on success; -1 malformed or too long; -2 for a foreign authorization
 * identity; *WHY says which.
 */
int sasl_plain_parse(const unsigned char *buf, size_t len, char *user, size_t ucap, char *pass, size_t pcap,
		     const char **why);

/*
 * sasl_login_field - one decoded LOGIN answer (user name or password) into OUT, NUL-terminated.
 * -1 when it holds a NUL or does not fit, or when it is empty and EMPTY_OK is false.
 */
int sasl_login_field(const unsigned char *buf, size_t len, char *out, size_t cap, int empty_ok);

#endif
