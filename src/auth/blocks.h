/* blocks.h - accounts an admin has blocked: kept in server.state_dir/blocks, read on every login. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_AUTH_BLOCKS_H
#define POPGATE_AUTH_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/auth.h"
#include "common/config.h"

/* Name of the file in server.state_dir, and of its writers' lock. */
#define AUTH_BLOCKS_FILE "blocks"
#define AUTH_BLOCKS_LOCK "blocks.lock"

/* A note says why (a ticket number, "spam run 4 Dec"); 255 bytes fit any of that. */
#define AUTH_BLOCK_NOTE_MAX 256

/* Blocks kept at once: a compromised-account list, not a user database; bounds every read. */
#define AUTH_BLOCKS_MAX 10000

/* One blocked account. */
struct auth_block {
	char user[AUTH_NAME_MAX];
	int64_t since;                   /* epoch seconds the block was set */
	int64_t until;                   /* epoch seconds it ends; 0: until lifted */
	bool pop;                        /* POP logins are refused too, not only relaying */
	char by[AUTH_NAME_MAX];          /* who set it: an admin account, or "popgatectl" */
	char note[AUTH_BLOCK_NOTE_MAX];
};

/* The blocks in force, in the file's order. */
struct auth_blocks {
	struct auth_block *v;
	size_t n;
};

/* auth_block_active - whether B is in force at NOW. */
bool auth_block_active(const struct auth_block *b, time_t now);

/* auth_block_note_ok - whether NOTE can be kept: shorter than AUTH_BLOCK_NOTE_MAX, no control bytes. */
bool auth_block_note_ok(const char *note);

/* auth_blocks_load - the blocks in force at NOW into B (free with auth_blocks_free). 0 or -1 (logged). */
int auth_blocks_load(const struct config *cfg, struct auth_blocks *b, time_t now);

/* auth_blocks_free - release B's entries. */
void auth_blocks_free(struct auth_blocks *b);

/* auth_block_find - USER's block in force at NOW into OUT (may be NULL): 1 blocked, 0 not, -1 error. */
int auth_block_find(const struct config *cfg, const char *user, time_t now, struct auth_block *out);

/*
 * auth_block_set - add B, or replace USER's block, dropping blocks that have ended by NOW. The file
 * is replaced whole under the writers' lock (rename), so a reader never sees half of it.
 * 0, or -1 with ERR saying why.
 */
int auth_block_set(const struct config *cfg, const struct auth_block *b, time_t now, char *err, size_t errlen);

/* auth_block_lift - remove USER's block: 1 lifted, 0 there was none in force, -1 error (ERR). */
int auth_block_lift(const struct config *cfg, const char *user, time_t now, char *err, size_t errlen);

/*
 * auth_block_login - the check every successful login makes before it counts: AUTH_OK when USER
 * may log in over PROTO ("pop3", "pop3s", "smtp"), with *RELAY telling whether the login may
 * authorize relaying; AUTH_REFUSED when the account is blocked for PROTO (SMTP AUTH always, POP
 * when the block says so); AUTH_TEMPFAIL when the blocks cannot be read (fail closed, for now).
 */
enum auth_result auth_block_login(const struct config *cfg, const char *user, const char *proto, time_t now,
				  bool *relay);

#endif
