/* sasl.c - strict base64 (OpenSSL's codec behind a canonical-form check) and the SASL PLAIN/LOGIN formats. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/sasl.h"

/* b64_value - the 6-bit value of base64 digit C, or -1 (never for '=' or white space). */
static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * canonical - how many '=' pad IN[0..LEN), or -1 when it is not canonical base64. OpenSSL's
 * EVP_DecodeBlock skips white space and does not check the pad bits, so the shape is checked here.
 */
static int canonical(const char *in, size_t len)
{
	size_t pad = 0;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (b64_value(in[i]) < 0)
			return -1;
	/* The bits the padding leaves over must be zero: "Zh==" is not another spelling of "Zg==". */
	if (pad == 2 && (b64_value(in[len - 3]) & 15) != 0)
		return -1;
	if (pad == 1 && (b64_value(in[len - 2]) & 3) != 0)
		return -1;
	return (int)pad;
}

int sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	int pad = canonical(in, len);
	size_t full = len / 4 * 3;

	*outlen = 0;
	if (pad < 0 || len > (size_t)INT32_MAX)
		return -1;
	if (full - (size_t)pad + 1 > cap)
		return -1;
	if (len > 0) {
		/* EVP_DecodeBlock writes whole triplets; the last one may not fit in OUT. */
		unsigned char tail[3];
		size_t head = full - 3;

		if (head > 0 && EVP_DecodeBlock(out, (const unsigned char *)in, (int)(len - 4)) != (int)head)
			return -1;
		if (EVP_DecodeBlock(tail, (const unsigned char *)in + len - 4, 4) != 3)
			return -1;
		memcpy(out + head, tail, 3 - (size_t)pad);
		explicit_bzero(tail, sizeof(tail));
	}
	*outlen = full - (size_t)pad;
	out[*outlen] = '\0';
	return 0;
}

long sasl_b64_encode(const void *in, size_t len, char *out, size_t cap)
{
	size_t need = (len + 2) / 3 * 4;

	if (need + 1 > cap || len > (size_t)INT32_MAX / 2)
		return -1;
	return (long)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int sasl_plain_parse(const unsigned char *buf, size_t len, char *user, size_t ucap, char *pass, size_t pcap,
		     const char **why)
{
	const unsigned char *z1 = memchr(buf, '\0', len), *z2;
	size_t zlen, ulen, plen;

	*why = "malformed PLAIN response";
	if (z1 == NULL)
		return -1;
	zlen = (size_t)(z1 - buf);
	z2 = memchr(z1 + 1, '\0', len - zlen - 1);
	if (z2 == NULL)
		return -1;
	ulen = (size_t)(z2 - z1 - 1);
	plen = len - zlen - ulen - 2;
	if (ulen == 0 || memchr(z2 + 1, '\0', plen) != NULL)
		return -1;
	*why = "user name or password too long";
	if (ulen >= ucap || plen >= pcap)
		return -1;
	/* Acting for another user (an authorization identity) is not offered. */
	if (zlen > 0 && (zlen != ulen || memcmp(buf, z1 + 1, ulen) != 0)) {
		*why = "authorization identity differs from the user";
		return -2;
	}
	memcpy(user, z1 + 1, ulen);
	user[ulen] = '\0';
	memcpy(pass, z2 + 1, plen);
	pass[plen] = '\0';
	return 0;
}

int sasl_login_field(const unsigned char *buf, size_t len, char *out, size_t cap, int empty_ok)
{
	if ((len == 0 && !empty_ok) || len >= cap || memchr(buf, '\0', len) != NULL)
		return -1;
	memcpy(out, buf, len);
	out[len] = '\0';
	return 0;
}
