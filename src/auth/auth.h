/* auth.h - user databases (system, passwd-file) and password checks shared by POP3, SMTP and admin. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_AUTH_H
#define POPGATE_AUTH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"

#define AUTH_NAME_MAX 128
#define AUTH_PASS_MAX 1024
#define AUTH_MAILBOX_MAX (PATH_MAX + 16)

enum auth_result {
	AUTH_OK,
	AUTH_FAIL,      /* unknown user or wrong password: the same answer, in the same time */
	AUTH_TEMPFAIL,  /* the user database could not be read */
	AUTH_REFUSED,   /* the password is right, but an admin has blocked the account (blocks.h) */
	AUTH_LOCKED,    /* not checked: too many failed logins from the client's address (auth.max_failures) */
};

/* What a successful login yields. */
struct auth_user {
	char name[AUTH_NAME_MAX];
	uid_t uid;                     /* who the post-login process runs as */
	gid_t gid;
	char home[PATH_MAX];           /* "" when the backend has none */
	char mailbox[AUTH_MAILBOX_MAX];/* "mbox:/path" or "maildir:/path" */
};

/* auth_password - check USER's PASS against auth.backend. Constant time whether USER exists or not. */
enum auth_result auth_password(const struct config *cfg, const char *user, const char *pass,
			       struct auth_user *out);

/* auth_apop - check an APOP DIGEST (32 hex digits of MD5(challenge secret)) from auth.apop_secrets_file. */
enum auth_result auth_apop(const struct config *cfg, const char *user, const char *challenge,
			   const char *digest, struct auth_user *out);

/* auth_apop_available - whether any APOP secret is configured (decides whether the greeting has a challenge). */
bool auth_apop_available(const struct config *cfg);

/* auth_hash_password - a new yescrypt hash of PASS into OUT. 0 or -1. */
int auth_hash_password(const char *pass, char *out, size_t cap);

/* auth_verify_hash - whether PASS matches crypt(3) HASH (yescrypt, sha512, bcrypt, md5, DES). */
bool auth_verify_hash(const char *pass, const char *hash);

/* auth_name_valid - whether NAME is a possible user name: 1..AUTH_NAME_MAX-1 bytes, no ':', '/' or
 * control characters, not starting with '.' or '-' (names end up in paths through %u). */
bool auth_name_valid(const char *name);

#endif
