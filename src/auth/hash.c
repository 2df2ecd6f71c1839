/* hash.c - crypt(3) password hashes: making yescrypt hashes and checking any libxcrypt scheme in constant time. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "auth/sha512_crypt.h"
#include "common/log.h"

/*
 * A yescrypt hash of a password nobody types, made with crypt_gensalt_rn("$y$", 0, ...) - the same
 * cost ("j9T") auth_hash_password uses - so checking an unknown user costs what a real one does.
 * check_auth verifies the parameters still agree with what libxcrypt generates.
 */
static const char dummy_hash[] =
	"$y$j9T$QJN4HQHfHk1jaoQc.XaRf0$kgYPlvKg7uEjboQu/Gnf30gaNf6WtAg5c2fdmISRdp3";

const char *auth_dummy_hash(void)
{
	return dummy_hash;
}

bool auth_hash_usable(const char *hash)
{
	size_t len = strnlen(hash, AUTH_HASH_MAX);

	return len > 0 && len < AUTH_HASH_MAX && hash[0] != '!' && hash[0] != '*';
}

/* new_data - zeroed scratch for crypt_rn; it is ~32 KiB, too big for a worker's stack. */
static struct crypt_data *new_data(void)
{
	struct crypt_data *data = calloc(1, sizeof(*data));

	if (data == NULL)
		log_err("auth: out of memory for crypt data");
	return data;
}

/* free_data - wipe the scratch (it held the passphrase) and free it. */
static void free_data(struct crypt_data **data)
{
	if (*data == NULL)
		return;
	explicit_bzero(*data, sizeof(**data));
	free(*data);
	*data = NULL;
}

/* check_sha512 - check_xcrypt's answer for a "$6$" hash SET parsed from HASH, with OpenSSL's SHA-512. */
static bool check_sha512(const char *pass, const char *hash, const struct sha512_crypt_setting *set)
{
	char out[SHA512_CRYPT_HASH_LEN + 1];
	bool ok = sha512_crypt_hash(pass, set, out) == 0 && set->has_hash &&
		  CRYPTO_memcmp(out, hash + set->setting_len, SHA512_CRYPT_HASH_LEN) == 0;

	explicit_bzero(out, sizeof(out));
	return ok;
}

/* check_xcrypt - hash PASS with HASH's setting through libxcrypt and compare the whole result without an early exit. */
static bool check_xcrypt(const char *pass, const char *hash)
{
	struct crypt_data *data = new_data();
	const char *out;
	size_t len = strlen(hash);
	bool ok = false;

	if (data == NULL)
		return false;
	out = crypt_rn(pass, hash, data, (int)sizeof(*data));
	if (out != NULL && strlen(out) == len)
		ok = CRYPTO_memcmp(out, hash, len) == 0;
	free_data(&data);
	return ok;
}

/*
 * check - whether PASS matches HASH (or, for a setting alone, just the cost of finding out). A
 * "$6$" hash in its usual form is computed here, a quarter cheaper (sha512_crypt.c says why).
 */
static bool check(const char *pass, const char *hash)
{
	struct sha512_crypt_setting set;

	if (sha512_crypt_parse(hash, &set))
		return check_sha512(pass, hash, &set);
	return check_xcrypt(pass, hash);
}

void auth_burn(const char *like, const char *pass)
{
	(void)check(pass, like != NULL ? like : dummy_hash);
}

bool auth_verify_hash(const char *pass, const char *hash)
{
	if (pass == NULL || hash == NULL || !auth_hash_usable(hash)) {
		auth_burn(NULL, pass != NULL ? pass : "");
		return false;
	}
	/* crypt_rn refuses such phrases at once; spend the usual time so length tells nothing. */
	if (strnlen(pass, CRYPT_MAX_PASSPHRASE_SIZE) >= CRYPT_MAX_PASSPHRASE_SIZE) {
		(void)check("", hash);
		return false;
	}
	return check(pass, hash);
}

int auth_hash_password(const char *pass, char *out, size_t cap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	const char *hash;
	int rc = -1;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt)) == NULL) {
		log_err("auth: crypt_gensalt_rn($y$): %m");
		return -1;
	}
	if ((data = new_data()) == NULL)
		return -1;
	hash = crypt_rn(pass, salt, data, (int)sizeof(*data));
	if (hash == NULL)
		log_err("auth: crypt_rn: %m");
	else if (strlen(hash) < cap) {
		memcpy(out, hash, strlen(hash) + 1);
		rc = 0;
	} else
		log_err("auth: hash of %zu bytes does not fit in %zu", strlen(hash), cap);
	free_data(&data);
	return rc;
}
