/* auth_int.h - what the auth modules share among themselves: backend lookups, hashes, line files. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_AUTH_INT_H
#define POPGATE_AUTH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "auth/auth.h"
#include "common/config.h"

/* Longest stored hash we accept; crypt(3) output is at most CRYPT_OUTPUT_SIZE (384) bytes. */
#define AUTH_HASH_MAX 384

/* Longest line in passwd_file or apop_secrets_file; longer lines are malformed (bounded reads). */
#define AUTH_LINE_MAX 4096

/* Longest APOP challenge accepted: RFC 1939 timestamps are short msg-ids; 512 covers any sane one. */
#define AUTH_CHALLENGE_MAX 512

/* Longest APOP shared secret: RFC 1939 leaves it open; qpopper's pop.auth used far less. */
#define AUTH_SECRET_MAX 256

/* Stands in for the secret of a user without one, so the APOP digest is computed either way. */
#define AUTH_APOP_DUMMY_SECRET "popgate-no-such-apop-secret"

/* A user as a backend knows it: the login result plus the stored hash (wiped after use). */
struct auth_entry {
	struct auth_user user;
	char hash[AUTH_HASH_MAX];
};

/* auth_system_lookup - NAME from passwd/shadow, applying lock, expiry and uid policy (refusals logged). */
enum auth_result auth_system_lookup(const struct config *cfg, const char *name, struct auth_entry *e);

/* auth_file_lookup - NAME from auth.passwd_file; malformed lines are logged once and skipped. */
enum auth_result auth_file_lookup(const struct config *cfg, const char *name, struct auth_entry *e);

/* auth_backend_lookup - NAME from whichever backend auth.backend names. */
enum auth_result auth_backend_lookup(const struct config *cfg, const char *name, struct auth_entry *e);

/* auth_dummy_hash - the fixed yescrypt hash a failed login is checked against when the backend has no hash. */
const char *auth_dummy_hash(void);

/*
 * auth_burn - spend the time of one check of PASS against LIKE (a hash or just its setting, as
 * auth_backend_burn_setting gives), or against the dummy hash when LIKE is NULL, so that a login
 * refused before any check answers as slowly as a wrong password.
 */
void auth_burn(const char *like, const char *pass);

/* Longest scheme-and-cost prefix of a hash ("$6$rounds=999999999$", "$y$j9T$") that is told apart. */
#define AUTH_COST_KEY_MAX 64
/* Kinds of hash counted per backend; the one most users have is among the first few anyone sees. */
#define AUTH_BURN_KINDS 8

/* The kinds of hash a backend's users have, by scheme and cost, with one setting of each. */
struct auth_burn_tally {
	struct {
		char key[AUTH_COST_KEY_MAX];
		char setting[AUTH_HASH_MAX];  /* the first such hash's setting (no hash, so no secret) */
		size_t n;
	} kind[AUTH_BURN_KINDS];
	size_t kinds, total;
};

/* auth_burn_tally_reset - forget every kind counted in T. */
void auth_burn_tally_reset(struct auth_burn_tally *t);

/* auth_burn_tally_add - count HASH (a usable one) under its scheme and cost. */
void auth_burn_tally_add(struct auth_burn_tally *t, const char *hash);

/* auth_burn_tally_pick - the setting of the kind most hashes in T are (*N of them), or NULL for none. */
const char *auth_burn_tally_pick(const struct auth_burn_tally *t, size_t *n);

/* What auth_burn_tally_report last logged for one database. */
struct auth_burn_said {
	bool said;
	char key[AUTH_COST_KEY_MAX];  /* the kind picked, "" for none (or DES) */
	size_t n, total;
};

/*
 * auth_burn_tally_report - log which check a failed login costs, counted over WHERE, unless LAST
 * (kept by the caller from one count to the next) says it was logged already: a file read again
 * unchanged says nothing.
 */
void auth_burn_tally_report(const struct auth_burn_tally *t, const char *where, struct auth_burn_said *last);

/* auth_file_burn_setting - the setting most hashes of auth.passwd_file have, or NULL. */
const char *auth_file_burn_setting(const struct config *cfg);

/* auth_system_burn_setting - the setting most usable hashes of the shadow database have, or NULL. */
const char *auth_system_burn_setting(void);

/* auth_backend_burn_setting - the same for whichever backend auth.backend names. */
const char *auth_backend_burn_setting(const struct config *cfg);

/* auth_hash_usable - whether HASH can ever match: not empty, not locked ('!' or '*'), not too long. */
bool auth_hash_usable(const char *hash);

/* auth_apop_digest - lower-case hex MD5(CHALLENGE SECRET) into OUT[33] (RFC 1939). 0 or -1. */
int auth_apop_digest(const char *challenge, const char *secret, char out[33]);

/* Remembers which version of a file was last reported on, so each bad line is logged once. */
struct auth_file_seen {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	bool valid;
};

/* auth_file_seen_of - the snapshot of ST (a file that exists). */
struct auth_file_seen auth_file_seen_of(const struct stat *st);

/* auth_file_same_version - whether two stat snapshots describe the same contents as far as we can tell cheaply. */
bool auth_file_same_version(const struct auth_file_seen *a, const struct auth_file_seen *b);

/* auth_file_loads - how often this process has read auth.passwd_file in full (for tests). */
unsigned long auth_file_loads(void);

/* A "name:..." file read line by line with bounded lines; problems are logged once per file version. */
struct auth_linefile {
	const char *path;
	FILE *fp;
	unsigned lineno;
	bool report;     /* this version of the file has not been reported on yet */
	bool at_eof;     /* read to the end: every problem in it has been reported */
	struct auth_file_seen *seen;
	struct auth_file_seen now;
	char line[AUTH_LINE_MAX + 1];
};

/* auth_linefile_open - open PATH for reading; -1 (errno set) when it cannot be read. */
int auth_linefile_open(struct auth_linefile *lf, const char *path, struct auth_file_seen *seen);

/*
 * auth_linefile_next - the next line that is neither blank nor a comment, without its newline:
 * 1 with lf->line filled, 0 at end of file, -1 on a read error (logged). Over-long lines and
 * lines holding NUL bytes are reported (once) and skipped.
 */
int auth_linefile_next(struct auth_linefile *lf);

/* auth_linefile_bad - report "FILE:LINE: what is wrong" for the current line, once per file version. */
void auth_linefile_bad(struct auth_linefile *lf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* auth_linefile_close - close the file and wipe the line buffer (it may have held a secret). */
void auth_linefile_close(struct auth_linefile *lf);

#endif
