/* pop3_sasl.h - the parsing half of SASL for POP3 AUTH: strict base64 and the PLAIN response format. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POP3_SASL_H
#define POPGATE_POP3_SASL_H

#include <stddef.h>

/*
 * pop3_base64_decode - strict RFC 4648 base64 (length a multiple of 4, '=' only as final padding,
 * no white space) of IN[0..LEN) into OUT. 0 with *OUTLEN set, or -1 for bad input or too little room.
 */
int pop3_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen);

/*
 * pop3_sasl_plain_parse - split a decoded PLAIN response (RFC 4616) "authzid NUL authcid NUL passwd"
 * into USER and PASS (NUL-terminated). The authzid must be empty or equal to the authcid.
 * 0 on success; -1 malformed or too long; -2 for a foreign authorization identity; *WHY says which.
 */
int pop3_sasl_plain_parse(const unsigned char *buf, size_t len, char *user, size_t ucap, char *pass,
			  size_t pcap, const char **why);

#endif
