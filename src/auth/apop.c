/* apop.c - APOP (RFC 1939): shared secrets from auth.apop_secrets_file, the MD5 digest, constant-time checks. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/auth_int.h"
#include "common/log.h"

/* Which version of the secrets file has had its problems logged, and the last open error told. */
static struct auth_file_seen secrets_seen;
static int secrets_open_errno;

int auth_apop_digest(const char *challenge, const char *secret, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, challenge, strlen(challenge)) == 1 &&
		 EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 16;

	EVP_MD_CTX_free(ctx);
	if (!ok) {
		log_err("auth: MD5 for APOP is not available from OpenSSL");
		return -1;
	}
	for (unsigned i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
	explicit_bzero(md, sizeof(md));
	return 0;
}

/* open_secrets - open the secrets file; an error is logged once until it changes. -1 on failure. */
static int open_secrets(const char *path, struct auth_linefile *lf)
{
	if (auth_linefile_open(lf, path, &secrets_seen) == 0) {
		secrets_open_errno = 0;
		return 0;
	}
	if (errno != secrets_open_errno)
		log_err("auth: APOP secrets %s: %s", path, strerror(errno));
	secrets_open_errno = errno;
	return -1;
}

/*
 * scan_secrets - read the whole file, copying NAME's secret (if NAME is not NULL) into SECRET and
 * counting valid entries in *count. 1 NAME found, 0 not, -1 read error.
 */
static int scan_secrets(struct auth_linefile *lf, const char *name, char *secret, size_t *count)
{
	unsigned found_at = 0;
	int r;

	*count = 0;
	while ((r = auth_linefile_next(lf)) == 1) {
		char *colon = strchr(lf->line, ':');
		const char *why = NULL;

		if (colon == NULL)
			why = "expected name:secret";
		else {
			*colon = '\0';
			if (!auth_name_valid(lf->line))
				why = "invalid user name";
			else if (colon[1] == '\0')
				why = "empty secret";
			else if (strlen(colon + 1) >= AUTH_SECRET_MAX)
				why = "secret too long";
		}
		if (why != NULL) {
			auth_linefile_bad(lf, "%s", why);
			continue;
		}
		++*count;
		if (name == NULL || strcmp(lf->line, name) != 0)
			continue;
		if (found_at != 0) {
			auth_linefile_bad(lf, "duplicate entry for %s (line %u is used)", name, found_at);
			continue;
		}
		found_at = lf->lineno;
		memcpy(secret, colon + 1, strlen(colon + 1) + 1);
	}
	return r < 0 ? -1 : found_at != 0;
}

/* find_secret - NAME's secret from auth.apop_secrets_file: 1 found, 0 not (or APOP off), -1 error. */
static int find_secret(const struct config *cfg, const char *name, char *secret, size_t *count)
{
	const char *path = conf(cfg)->auth.apop_secrets_file;
	struct auth_linefile *lf;
	int r;

	*count = 0;
	if (path[0] == '\0')
		return 0;
	if ((lf = malloc(sizeof(*lf))) == NULL) {
		log_err("auth: out of memory reading %s", path);
		return -1;
	}
	if (open_secrets(path, lf) != 0) {
		free(lf);
		return -1;
	}
	r = scan_secrets(lf, name, secret, count);
	auth_linefile_close(lf);
	free(lf);
	return r;
}

bool auth_apop_available(const struct config *cfg)
{
	size_t count = 0;

	return find_secret(cfg, NULL, NULL, &count) >= 0 && count > 0;
}

/* digest_form - DIGEST lower-cased into OUT if it is 32 hex digits; false otherwise. */
static bool digest_form(const char *digest, char out[33])
{
	for (size_t i = 0; i < 32; i++) {
		char c = digest[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[i] = c;
	}
	out[32] = '\0';
	return digest[32] == '\0';
}

/* secret_matches - whether DIGEST is right for CHALLENGE and the user's secret (found or not). */
static enum auth_result secret_matches(const struct config *cfg, const char *user,
				       const char *challenge, const char *given)
{
	char secret[AUTH_SECRET_MAX], want[33];
	size_t count;
	int found = find_secret(cfg, user, secret, &count);
	bool same;

	if (found < 0)
		return AUTH_TEMPFAIL;
	if (auth_apop_digest(challenge, found ? secret : AUTH_APOP_DUMMY_SECRET, want) != 0) {
		explicit_bzero(secret, sizeof(secret));
		return AUTH_TEMPFAIL;
	}
	same = CRYPTO_memcmp(want, given, 32) == 0;
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(want, sizeof(want));
	if (!found)
		log_debug("auth: no APOP secret for %s", LOG_Q(user));
	return found && same ? AUTH_OK : AUTH_FAIL;
}

enum auth_result auth_apop(const struct config *cfg, const char *user, const char *challenge,
			   const char *digest, struct auth_user *out)
{
	struct auth_entry e;
	char given[33];
	enum auth_result r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (!auth_name_valid(user) || challenge == NULL || digest == NULL ||
	    strnlen(challenge, AUTH_CHALLENGE_MAX) >= AUTH_CHALLENGE_MAX || !digest_form(digest, given))
		return AUTH_FAIL;
	if ((r = secret_matches(cfg, user, challenge, given)) != AUTH_OK)
		return r;
	r = auth_backend_lookup(cfg, user, &e);
	if (r == AUTH_FAIL)
		log_info("auth: APOP secret for %s matched but %s is not a usable %s user", LOG_Q(user), LOG_Q(user),
			 cfg_text(cfg, "auth.backend"));
	if (r == AUTH_OK && out != NULL)
		*out = e.user;
	explicit_bzero(&e, sizeof(e));
	return r;
}
