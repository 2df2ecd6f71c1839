/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_users.h - the helpdesk accounts of admin.users_file: "name:HASH:ROLE" per line.
 *
 * HASH is a crypt(3) hash as `popgatectl passwd` prints it; ROLE is "viewer" (reads) or "admin"
 * (also revokes and adds). Blank lines and lines starting with '#' are ignored; a malformed line
 * is logged as FILE:LINE and skipped, so one typo does not lock the whole helpdesk out. The file
 * is re-read whenever its modification time, size or inode changes; when it cannot be read
 * nobody can log in (fail closed).
 */
#ifndef POPGATE_ADMIN_USERS_H
#define POPGATE_ADMIN_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "admin/admin_session.h"

#define ADMIN_USERS_MAX 1000        /* far beyond any helpdesk; bounds memory on a runaway file */
#define ADMIN_USERS_LINE_MAX 1024   /* longer lines are malformed */
#define ADMIN_HASH_MAX 256          /* yescrypt ~73, sha512-crypt ~106 */

struct admin_user {
	char name[ADMIN_NAME_MAX];
	char hash[ADMIN_HASH_MAX];
	enum admin_role role;
};

struct admin_users {
	char path[4096];
	bool stat_ok;               /* the identity below is of a file that was read */
	bool complained;            /* an unreadable file is logged once, not per request */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	size_t n;
	struct admin_user *v;
};

/* admin_users_init - no accounts yet; PATH is read by admin_users_refresh. "" means no file. */
void admin_users_init(struct admin_users *u, const char *path);

/* admin_users_refresh - (re)read the file if it changed since the last read. Accounts loaded, or -1. */
int admin_users_refresh(struct admin_users *u);

/* admin_users_find - NAME's account, or NULL. */
const struct admin_user *admin_users_find(const struct admin_users *u, const char *name);

/* admin_users_free - forget every account, wiping the hashes. */
void admin_users_free(struct admin_users *u);

/* admin_users_parse_line - one non-comment line into OUT. 0, or -1 with a reason in WHY. */
int admin_users_parse_line(const char *line, struct admin_user *out, const char **why);

/* admin_user_name_ok - whether NAME is an acceptable helpdesk user name. */
bool admin_user_name_ok(const char *name, size_t len);

#endif
