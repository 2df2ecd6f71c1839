/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_session.h - helpdesk login sessions kept in the admin worker's memory.
 *
 * A session id and its CSRF token are 32 random bytes each (RAND_bytes), in hex. Sessions end
 * after admin.session_timeout without a request and, whatever the activity, after
 * ADMIN_SESSION_MAX_AGE. The table is fixed-size: when it is full the least recently used session
 * is dropped, so a flood of logins costs nothing but other people's sessions, never memory.
 */
#ifndef POPGATE_ADMIN_SESSION_H
#define POPGATE_ADMIN_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define ADMIN_SESSIONS_MAX 64        /* a helpdesk is a handful of people, each with a few tabs */
#define ADMIN_SESSION_MAX_AGE 43200  /* 12 h: a forgotten browser does not stay logged in forever */
#define ADMIN_TOKEN_BYTES 32
#define ADMIN_TOKEN_HEX (2 * ADMIN_TOKEN_BYTES + 1)
#define ADMIN_NAME_MAX 65            /* helpdesk user names: up to 64 characters */

enum admin_role { ADMIN_ROLE_NONE = 0, ADMIN_ROLE_VIEWER, ADMIN_ROLE_ADMIN };

struct admin_session {
	bool used;
	char id[ADMIN_TOKEN_HEX];
	char csrf[ADMIN_TOKEN_HEX];
	char user[ADMIN_NAME_MAX];
	enum admin_role role;     /* as at login; the server re-reads it from the users file */
	time_t created, last;
};

struct admin_sessions {
	long long idle;           /* admin.session_timeout, seconds */
	struct admin_session s[ADMIN_SESSIONS_MAX];
};

/* admin_sessions_init - an empty table whose sessions expire after IDLE seconds without use. */
void admin_sessions_init(struct admin_sessions *t, long long idle);

/*
 * admin_session_create - a new session for USER, evicting the least recently used one when the
 * table is full. NULL when USER is too long or the random generator fails.
 */
struct admin_session *admin_session_create(struct admin_sessions *t, const char *user,
					   enum admin_role role, time_t now);

/* admin_session_find - the live session with id ID (compared in constant time), touched; or NULL. */
struct admin_session *admin_session_find(struct admin_sessions *t, const char *id, time_t now);

/* admin_session_end - forget S and wipe its secrets. */
void admin_session_end(struct admin_session *s);

/* admin_session_csrf_ok - whether TOKEN is S's CSRF token (constant time). */
bool admin_session_csrf_ok(const struct admin_session *s, const char *token);

/* admin_session_expires_in - seconds until S ends if left idle from NOW. */
long long admin_session_expires_in(const struct admin_sessions *t, const struct admin_session *s,
				   time_t now);

/* admin_sessions_count - live sessions at NOW (expired ones are wiped on the way). */
size_t admin_sessions_count(struct admin_sessions *t, time_t now);

/* admin_sessions_clear - end every session (worker shutdown). */
void admin_sessions_clear(struct admin_sessions *t);

/*
 * admin_sessions_save - write T's sessions to PATH (mode 0600, replaced whole), so that the admin
 * worker a reload starts keeps them: a SIGHUP does not log the helpdesk out. 0 or -1 (logged).
 */
int admin_sessions_save(const struct admin_sessions *t, const char *path);

/* admin_sessions_load - the sessions saved in PATH that are still live at NOW into the empty T; how many. */
size_t admin_sessions_load(struct admin_sessions *t, const char *path, time_t now);

/* admin_token_hex - BYTES random bytes as 2*BYTES hex digits into OUT[CAP]. 0 or -1. */
int admin_token_hex(char *out, size_t cap, size_t bytes);

/* admin_role_name - "viewer", "admin" or "none". */
const char *admin_role_name(enum admin_role r);

#endif
