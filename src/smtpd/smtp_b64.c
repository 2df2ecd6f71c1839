/* smtp_b64.c - base64 for SASL PLAIN/LOGIN, refusing anything not canonically encoded. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdbool.h>
#include <string.h>

#include "smtpd/smtp_b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long smtp_b64_encode(const void *in, size_t len, char *out, size_t cap)
{
	const unsigned char *s = in;
	size_t need = (len + 2) / 3 * 4, o = 0;

	if (need + 1 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}

/* value - the 6-bit value of C, or -1. */
static int value(char c)
{
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

long smtp_b64_decode(const char *text, unsigned char *out, size_t cap)
{
	size_t len = strlen(text), o = 0;

	if (len % 4 != 0 || len / 4 * 3 + 1 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int a = value(text[i]), b = value(text[i + 1]);
		int c = text[i + 2] == '=' ? -2 : value(text[i + 2]);
		int d = text[i + 3] == '=' ? -2 : value(text[i + 3]);
		bool last = i + 4 == len;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) || (!last && d == -2))
			return -1;
		out[o++] = (unsigned char)((a << 2) | (b >> 4));
		if (c >= 0)
			out[o++] = (unsigned char)(((b & 15) << 4) | (c >> 2));
		else if ((b & 15) != 0)
			return -1; /* non-zero pad bits: not canonical */
		if (d >= 0)
			out[o++] = (unsigned char)(((c & 3) << 6) | d);
		else if (c >= 0 && (c & 3) != 0)
			return -1;
	}
	out[o] = '\0';
	return (long)o;
}
