/* smtp_b64.h - strict base64 (RFC 4648 4) for SASL exchanges, both ways, bounded. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SMTP_B64_H
#define POPGATE_SMTP_B64_H

#include <stddef.h>

/* smtp_b64_encode - encode LEN bytes of IN into OUT (NUL-terminated). Length written, or -1 if CAP is short. */
long smtp_b64_encode(const void *in, size_t len, char *out, size_t cap);

/*
 * smtp_b64_decode - decode TEXT (canonical padding, no white space) into OUT. The result is
 * NUL-terminated for convenience, so CAP needs one spare byte. Length, or -1 if invalid or too long.
 */
long smtp_b64_decode(const char *text, unsigned char *out, size_t cap);

#endif
