/* admin_api.c - the admin worker's state, reply helpers, and the login, session and relay handlers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin_api.h"
#include "admin/admin_audit.h"
#include "auth/auth.h"
#include "common/log.h"
#include "relaydb/relaydb.h"

/*
 * Verified against when the user name is unknown, so that a wrong name costs the same time as a
 * wrong password (a SHA-512 crypt of a random string nobody knows).
 */
static const char dummy_hash[] =
	"$6$Rrp7isgwR26umtQq$zydLpE1e./hknk.PHQERXWLO4LeGccSFtkl7gLlPXEJnZaV9U6to5lOC4zDhGVf5VVVG"
	".kvWzCaoACMfc6fYE0";

int admin_ctx_init(struct admin_ctx *ctx, const struct config *cfg, const struct stats_shared *stats)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->stats = stats;
	ctx->tls = conf(cfg)->admin.tls;
	if (snprintf(ctx->www_dir, sizeof(ctx->www_dir), "%s", conf(cfg)->admin.www_dir) >=
	    (int)sizeof(ctx->www_dir))
		return -1;
	admin_users_init(&ctx->users, conf(cfg)->admin.users_file);
	admin_sessions_init(&ctx->sessions, conf(cfg)->admin.session_timeout);
	if (snprintf(ctx->sessions_file, sizeof(ctx->sessions_file), "%s/admin-sessions",
		     conf(cfg)->server.state_dir) >= (int)sizeof(ctx->sessions_file))
		return -1;
	/* The worker a reload restarts takes over the sessions the old one saved as it stopped. */
	(void)admin_sessions_load(&ctx->sessions, ctx->sessions_file, time(NULL));
	admin_throttle_init(&ctx->throttle);
	return 0;
}

void admin_ctx_free(struct admin_ctx *ctx)
{
	relaydb_close(&ctx->db);
	if (ctx->sessions_file[0] != '\0')
		(void)admin_sessions_save(&ctx->sessions, ctx->sessions_file);
	admin_sessions_clear(&ctx->sessions);
	admin_users_free(&ctx->users);
}

struct relaydb *admin_ctx_db(struct admin_ctx *ctx, time_t now)
{
	char err[512];

	if (ctx->db)
		return ctx->db;
	if (relaydb_open(ctx->cfg, &ctx->db, err, sizeof(err)) < 0) {
		/* Once a minute is enough: the page polls every few seconds. */
		if (now - ctx->db_complained >= 60) {
			log_err("admin: relay database: %s", err);
			ctx->db_complained = now;
		}
		ctx->db = NULL;
		return NULL;
	}
	return ctx->db;
}

void admin_ctx_db_failed(struct admin_ctx *ctx, time_t now)
{
	if (now - ctx->db_complained >= 60) {
		log_err("admin: relay database operation failed; reopening it");
		ctx->db_complained = now;
	}
	relaydb_close(&ctx->db);
}

void admin_reply_free(struct admin_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

void admin_reply_json(struct admin_reply *r, unsigned status, struct jw *w)
{
	admin_reply_free(r);
	r->body = jw_take(w, &r->len);
	jw_free(w);
	r->type = "application/json";
	r->cache = "no-store";
	r->status = status;
	if (!r->body) {
		log_err("admin: a %u reply did not fit in %u bytes", status, ADMIN_JSON_MAX);
		admin_reply_error(r, 500, "reply too large");
	}
}

void admin_reply_error(struct admin_reply *r, unsigned status, const char *msg)
{
	struct jw w;

	admin_reply_free(r);
	jw_init(&w, 1024);
	jw_obj_begin(&w);
	jw_kstr(&w, "error", msg);
	jw_obj_end(&w);
	r->body = jw_take(&w, &r->len);
	jw_free(&w);
	if (!r->body) {   /* only when malloc fails: send the bare status */
		r->body = NULL;
		r->len = 0;
	}
	r->type = "application/json";
	r->cache = "no-store";
	r->status = status;
}

/* session_json - the fields of GET /api/session and a successful login. */
static void session_json(struct admin_ctx *ctx, const struct admin_session *s, enum admin_role role,
			 time_t now, struct admin_reply *r, unsigned status)
{
	struct jw w;

	jw_init(&w, 4096);
	jw_obj_begin(&w);
	jw_kstr(&w, "user", s->user);
	jw_kstr(&w, "role", admin_role_name(role));
	jw_kstr(&w, "csrf", s->csrf);
	jw_kint(&w, "expires_in", admin_session_expires_in(&ctx->sessions, s, now));
	jw_kint(&w, "idle_timeout", ctx->sessions.idle);
	jw_kint(&w, "default_ttl", conf(ctx->cfg)->relay.timeout);
	jw_obj_end(&w);
	admin_reply_json(r, status, &w);
}

/* login_refused - the answer while an address is throttled. */
static void login_refused(struct admin_call *call, struct admin_reply *r, long wait, const char *user)
{
	log_session(LOG_NOTICE, "admin", call->client_ip, user, "login refused",
		    "too many failures, %ld s left", wait);
	admin_reply_error(r, 429, "too many failed logins; try again later");
	r->retry_after = wait;
}

/* check_password - the account for USER if PASS is right; the same work whether USER exists or not. */
static const struct admin_user *check_password(struct admin_ctx *ctx, const char *user, const char *pass)
{
	const struct admin_user *a = admin_users_find(&ctx->users, user);
	const char *hash = a ? a->hash : ctx->users.n > 0 ? ctx->users.v[0].hash : dummy_hash;
	bool ok = auth_verify_hash(pass, hash);

	return (ok && a) ? a : NULL;
}

void admin_api_login(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct json_flat in;
	const struct json_field *user, *pass;
	const struct admin_user *a;
	struct admin_session *s;
	const char *why;
	long wait = admin_throttle_wait(&ctx->throttle, call->client_ip, call->now);

	if (wait > 0)
		return login_refused(call, r, wait, NULL);
	if (json_parse_flat(call->body, call->body_len, &in, &why) < 0) {
		json_wipe(&in);   /* it may hold part of a password */
		return admin_reply_error(r, 400, why);
	}
	user = json_get(&in, "user");
	pass = json_get(&in, "password");
	if (!user || user->type != JSON_T_STRING || !pass || pass->type != JSON_T_STRING ||
	    !admin_user_name_ok(user->val, user->len) || pass->len == 0 || pass->len >= AUTH_PASS_MAX) {
		json_wipe(&in);
		return admin_reply_error(r, 400, "user and password are required");
	}
	admin_users_refresh(&ctx->users);
	a = check_password(ctx, user->val, pass->val);
	if (!a) {
		long delay = admin_throttle_fail(&ctx->throttle, call->client_ip, call->now);
		log_session(LOG_NOTICE, "admin", call->client_ip, user->val, "login failed",
			    "%s", delay > 0 ? "address throttled" : "wrong user name or password");
		json_wipe(&in);
		return admin_reply_error(r, 401, "wrong user name or password");
	}
	json_wipe(&in);
	admin_throttle_ok(&ctx->throttle, call->client_ip);
	if (call->cookie)   /* a login replaces the session this browser had */
		if ((s = admin_session_find(&ctx->sessions, call->cookie, call->now)))
			admin_session_end(s);
	s = admin_session_create(&ctx->sessions, a->name, a->role, call->now);
	if (!s) {
		log_err("admin: no random bytes for a session id");
		return admin_reply_error(r, 500, "cannot create a session");
	}
	log_session(LOG_INFO, "admin", call->client_ip, a->name, "login ok", "role=%s",
		    admin_role_name(a->role));
	(void)admin_sessions_save(&ctx->sessions, ctx->sessions_file);
	(void)admin_audit_add(ctx->cfg, call->now, a->name, call->client_ip, "login", "logged in as %s",
			      admin_role_name(a->role));
	snprintf(r->cookie, sizeof(r->cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
		 ADMIN_COOKIE, s->id, ctx->tls ? "; Secure" : "");
	session_json(ctx, s, a->role, call->now, r, 200);
}

void admin_api_logout(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct jw w;

	log_session(LOG_INFO, "admin", call->client_ip, call->session->user, "logout", "%s", "by request");
	(void)admin_audit_add(ctx->cfg, call->now, call->session->user, call->client_ip, "logout", "logged out");
	admin_session_end(call->session);
	call->session = NULL;
	(void)admin_sessions_save(&ctx->sessions, ctx->sessions_file);   /* a logout is not undone by a reload */
	snprintf(r->cookie, sizeof(r->cookie), "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
		 ADMIN_COOKIE, ctx->tls ? "; Secure" : "");
	jw_init(&w, 256);
	jw_obj_begin(&w);
	jw_kbool(&w, "ok", true);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}

void admin_api_session(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	session_json(ctx, call->session, call->role, call->now, r, 200);
}

/*
 * relay_json - one authorization as an object. "expires" is when it stops being honoured: for a
 * login that is also relay.timeout after its last refresh (relay_entry_expired's rule).
 */
static void relay_json(struct jw *w, const struct relay_entry *e, time_t now, long long timeout)
{
	int64_t until = relay_entry_until(e, timeout);

	jw_obj_begin(w);
	jw_kstr(w, "ip", e->ip);
	jw_kstr(w, "user", e->user);
	jw_kstr(w, "proto", e->proto);
	jw_kstr(w, "node", e->node);
	jw_kint(w, "first", e->first);
	jw_kint(w, "last", e->last);
	jw_kint(w, "expires", until);
	jw_kint(w, "expires_in", until - (int64_t)now);
	jw_kbool(w, "expired", relay_entry_expired(e, now, timeout));
	jw_kuint(w, "logins", e->logins);
	jw_obj_end(w);
}

struct list_state {
	struct jw *w;
	const char *q;
	time_t now;
	long long timeout;
	size_t shown, matched;
};

static int list_one(const struct relay_entry *e, void *arg)
{
	struct list_state *st = arg;

	if (st->q && !strcasestr(e->ip, st->q) && !strcasestr(e->user, st->q))
		return 0;
	st->matched++;
	if (st->shown >= ADMIN_RELAYS_MAX)
		return 0;   /* keep counting: the page says how many are not shown */
	relay_json(st->w, e, st->now, st->timeout);
	st->shown++;
	return 0;
}

void admin_api_relays(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct relaydb *db = admin_ctx_db(ctx, call->now);
	struct jw w;
	struct list_state st = { .w = &w, .now = call->now,
				 .timeout = conf(ctx->cfg)->relay.timeout };

	if (call->query && call->query[0] != '\0') {
		if (strlen(call->query) > 128)
			return admin_reply_error(r, 400, "search text too long");
		st.q = call->query;
	}
	if (!db)
		return admin_reply_error(r, 503, "relay database unavailable");
	jw_init(&w, ADMIN_JSON_MAX);
	jw_obj_begin(&w);
	jw_kint(&w, "now", call->now);
	jw_key(&w, "relays");
	jw_arr_begin(&w);
	if (relaydb_foreach(db, list_one, &st) < 0) {
		jw_free(&w);
		admin_ctx_db_failed(ctx, call->now);
		return admin_reply_error(r, 503, "relay database error");
	}
	jw_arr_end(&w);
	jw_kuint(&w, "count", st.matched);
	jw_kbool(&w, "truncated", st.matched > st.shown);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}

/* parse_ttl - seconds from a number or a duration text ("30m"), within relay.timeout's bounds. */
static int parse_ttl(const struct json_field *f, long long def, long long *ttl)
{
	const char *why;
	char *end;

	*ttl = def;
	if (!f || f->type == JSON_T_NULL)
		return 0;
	if (f->type == JSON_T_NUMBER) {
		*ttl = strtoll(f->val, &end, 10);
		if (*end != '\0')
			return -1;
	} else if (f->type != JSON_T_STRING || cfg_parse_duration(f->val, ttl, &why) < 0) {
		return -1;
	}
	return (*ttl >= 1 && *ttl <= 31 * 86400) ? 0 : -1;
}

/* user_ok - a printable label of at most RELAY_USER_MAX-1 bytes, no control characters. */
static bool user_ok(const struct json_field *f)
{
	if (f->type != JSON_T_STRING || f->len >= RELAY_USER_MAX)
		return false;
	for (size_t i = 0; i < f->len; i++)
		if ((unsigned char)f->val[i] < 0x20 || f->val[i] == 0x7f)
			return false;
	return true;
}

void admin_api_relay_add(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct json_flat in;
	const struct json_field *ipf, *userf;
	char ip[IP_TEXT_MAX];
	long long ttl;
	const char *why;
	struct relaydb *db;
	struct relay_entry e, check;
	struct jw w;

	if (json_parse_flat(call->body, call->body_len, &in, &why) < 0)
		return admin_reply_error(r, 400, why);
	ipf = json_get(&in, "ip");
	userf = json_get(&in, "user");
	if (!ipf || ipf->type != JSON_T_STRING || ip_canonical(ipf->val, ip) < 0)
		return admin_reply_error(r, 400, "ip must be an IPv4 or IPv6 address");
	if (parse_ttl(json_get(&in, "ttl"), conf(ctx->cfg)->relay.timeout, &ttl) < 0)
		return admin_reply_error(r, 400, "ttl must be seconds or a duration like 30m, up to 31d");
	if (userf && !user_ok(userf))
		return admin_reply_error(r, 400, "user must be text of at most 127 bytes");
	if (!(db = admin_ctx_db(ctx, call->now)))
		return admin_reply_error(r, 503, "relay database unavailable");
	if (relaydb_authorize(db, ip, userf ? userf->val : "", RELAY_PROTO_MANUAL, ttl, call->now) < 0 ||
	    relaydb_get(db, ip, &e) != 1) {
		admin_ctx_db_failed(ctx, call->now);
		return admin_reply_error(r, 503, "relay database error");
	}
	/* The MTAs' map before the answer; a failure leaves it marked for the sweeper to rebuild. */
	(void)relaydb_map_update(ctx->cfg, db, ip, call->now);
	log_session(LOG_INFO, "admin", call->client_ip, call->session->user, "relay added",
		    "ip=%s ttl=%lld", ip, ttl);
	(void)admin_audit_add(ctx->cfg, call->now, call->session->user, call->client_ip, "add",
			      "authorized %s for %llds%s%s", ip, ttl, userf ? ", user " : "", userf ? userf->val : "");
	jw_init(&w, 8192);
	jw_obj_begin(&w);
	jw_key(&w, "relay");
	relay_json(&w, &e, call->now, conf(ctx->cfg)->relay.timeout);
	jw_kstr(&w, "decision",
		relay_reason_text(relay_check_ip(ctx->cfg, db, ip, call->now, &check)));
	jw_obj_end(&w);
	admin_reply_json(r, 201, &w);
}

void admin_api_relay_del(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	char ip[IP_TEXT_MAX];
	struct relaydb *db;
	struct jw w;
	int rc;

	if (ip_canonical(call->arg, ip) < 0)
		return admin_reply_error(r, 400, "not an IP address");
	if (!(db = admin_ctx_db(ctx, call->now)))
		return admin_reply_error(r, 503, "relay database unavailable");
	rc = relaydb_del(db, ip);
	if (rc < 0) {
		admin_ctx_db_failed(ctx, call->now);
		return admin_reply_error(r, 503, "relay database error");
	}
	if (rc == 0)
		return admin_reply_error(r, 404, "no authorization for this address");
	(void)relaydb_map_update(ctx->cfg, db, ip, call->now);
	log_session(LOG_INFO, "admin", call->client_ip, call->session->user, "relay revoked", "ip=%s", ip);
	(void)admin_audit_add(ctx->cfg, call->now, call->session->user, call->client_ip, "revoke", "revoked %s", ip);
	jw_init(&w, 512);
	jw_obj_begin(&w);
	jw_kstr(&w, "revoked", ip);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}

/* cidrs_json - a config network list as an array of "addr/prefix" strings. */
static void cidrs_json(struct jw *w, const char *key, const struct cidr_list *l)
{
	char text[IP_TEXT_MAX + 4];

	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; l && i < l->n; i++) {
		cidr_format(&l->v[i], text);
		jw_str(w, text);
	}
	jw_arr_end(w);
}

void admin_api_lists(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct jw w;

	jw_init(&w, ADMIN_JSON_MAX);
	jw_obj_begin(&w);
	cidrs_json(&w, "allow", &conf(ctx->cfg)->relay.allow);
	cidrs_json(&w, "deny", &conf(ctx->cfg)->relay.deny);
	jw_kint(&w, "default_ttl", conf(ctx->cfg)->relay.timeout);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}
