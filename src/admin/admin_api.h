/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_api.h - the admin worker's state and the JSON API handlers, apart from HTTP.
 *
 * The HTTP layer (admin_server.c) turns a request into a struct admin_call, has the routing
 * table check the session, the CSRF token and the role, and calls one handler, which fills a
 * struct admin_reply. Handlers never see libmicrohttpd, so they are tested directly.
 */
#ifndef POPGATE_ADMIN_API_H
#define POPGATE_ADMIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "admin/admin_json.h"
#include "admin/admin_session.h"
#include "admin/admin_throttle.h"
#include "admin/admin_users.h"
#include "common/cidr.h"
#include "common/config.h"
#include "common/stats.h"

#define ADMIN_COOKIE "popgate_admin"
#define ADMIN_CSRF_HEADER "X-CSRF-Token"
#define ADMIN_BODY_MAX 8192          /* the largest request is a login: name and password */
#define ADMIN_JSON_MAX (4u << 20)    /* a reply never exceeds this (about 15,000 relay entries) */
#define ADMIN_RELAYS_MAX 10000       /* entries listed at once; a search narrows the rest */
#define ADMIN_EVENTS_MAX 50          /* latest events shown; stats.h keeps STATS_EVENTS */

struct relaydb;
struct auth_block;

/* Everything the worker keeps between requests. */
struct admin_ctx {
	const struct config *cfg;
	const struct stats_shared *stats;   /* NULL: counters read as zero */
	struct relaydb *db;                 /* opened on first use, reopened after an error */
	time_t db_complained;               /* last time a database failure was logged */
	struct admin_users users;
	struct admin_sessions sessions;
	struct admin_throttle throttle;
	bool tls;                           /* cookies get Secure */
	char www_dir[4096];
	char sessions_file[4096];           /* server.state_dir/admin-sessions: kept over a reload */
};

/* One request as the handlers see it. */
struct admin_call {
	const char *method;
	const char *path;                   /* decoded URL path */
	const char *arg;                    /* the rest of the path after a prefix route, else "" */
	const char *query;                  /* the "q" parameter, or NULL */
	const char *ip_arg;                 /* the "ip" parameter (GET /api/check), or NULL */
	const char *user_arg;               /* the "user" parameter (GET /api/check), or NULL */
	const char *body;                   /* NUL-terminated, body_len bytes; "" when none */
	size_t body_len;
	const char *content_type;           /* or NULL */
	const char *cookie;                 /* the session cookie's value, or NULL */
	const char *csrf;                   /* the X-CSRF-Token header, or NULL */
	char client_ip[IP_TEXT_MAX];
	time_t now;
	struct admin_session *session;      /* set by the router for session routes */
	enum admin_role role;               /* the account's current role */
};

/* What goes back. Every reply also gets the security headers. */
struct admin_reply {
	unsigned status;
	char *body;                         /* owned: free() */
	size_t len;
	const char *type;                   /* Content-Type */
	const char *cache;                  /* Cache-Control */
	const char *allow;                  /* Allow, for 405 */
	char cookie[256];                   /* Set-Cookie, "" for none */
	long retry_after;                   /* Retry-After seconds, 0 for none */
};

/* admin_ctx_init - state for CFG; nothing is opened yet. 0 or -1. */
int admin_ctx_init(struct admin_ctx *ctx, const struct config *cfg, const struct stats_shared *stats);

/* admin_ctx_free - close the database, end sessions, wipe accounts. */
void admin_ctx_free(struct admin_ctx *ctx);

/* admin_ctx_db - the relay database, opening it if needed; NULL when it cannot be opened (logged). */
struct relaydb *admin_ctx_db(struct admin_ctx *ctx, time_t now);

/* admin_ctx_db_failed - an operation failed: close so the next request reopens. */
void admin_ctx_db_failed(struct admin_ctx *ctx, time_t now);

/* admin_reply_free - release the body. */
void admin_reply_free(struct admin_reply *r);

/* admin_reply_error - a {"error": MSG} reply with STATUS. */
void admin_reply_error(struct admin_reply *r, unsigned status, const char *msg);

/* admin_reply_json - W's text as the reply (500 when W overflowed). Frees W. */
void admin_reply_json(struct admin_reply *r, unsigned status, struct jw *w);

/* Handlers, one per route (see docs/ADMIN-API.md). */
typedef void (*admin_handler)(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_login(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_logout(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_session(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_relays(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_relay_add(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_relay_del(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_blocks(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_block_add(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_block_del(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_check(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_audit(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_lockouts(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_unlock(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_lists(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_stats(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);
void admin_api_metrics(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);

/* admin_block_json - one blocked account as an object (admin_blocks.c). */
void admin_block_json(struct jw *w, const struct auth_block *b, time_t now);

#endif
