/* sha512_crypt.h - "$6$" (SHA-crypt) hashes computed with OpenSSL's SHA-512: the canonical form only. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SHA512_CRYPT_H
#define POPGATE_SHA512_CRYPT_H

#include <stdbool.h>
#include <stddef.h>

/* Characters of the hash after the setting: 64 bytes in crypt(3)'s base64. */
#define SHA512_CRYPT_HASH_LEN 86

/* Passphrases this long or longer are left to libxcrypt (which refuses them: CRYPT_MAX_PASSPHRASE_SIZE). */
#define SHA512_CRYPT_PASS_MAX 512

/* A "$6$[rounds=N$]salt$[hash]" as parsed: what sha512_crypt_hash needs. */
struct sha512_crypt_setting {
	unsigned long rounds;
	char salt[16];
	size_t salt_len;
	size_t setting_len;   /* bytes of HASH up to and including the '$' after the salt */
	bool has_hash;        /* the 86 characters follow; without them it is a setting alone */
};

/*
 * sha512_crypt_parse - whether HASH is a "$6$" hash (or setting) in the form every generator
 * writes: rounds 1000-999999999 without a leading zero, 1-16 salt characters of crypt(3)'s
 * alphabet, then nothing or 86 of them. Anything else is for libxcrypt.
 */
bool sha512_crypt_parse(const char *hash, struct sha512_crypt_setting *set);

/* sha512_crypt_hash - the 86 hash characters of PASS under SET into OUT. 0, or -1 for a passphrase too long. */
int sha512_crypt_hash(const char *pass, const struct sha512_crypt_setting *set, char out[SHA512_CRYPT_HASH_LEN + 1]);

#endif
