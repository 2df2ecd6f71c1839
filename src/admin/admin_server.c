/* admin_server.c - the admin page's routing table and the libmicrohttpd request glue. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin_server.h"
#include "admin/admin_static.h"
#include "common/log.h"

enum {
	NEED_SESSION = 1,   /* 401 without a live session */
	NEED_CSRF = 2,      /* 403 unless X-CSRF-Token matches the session's token */
	NEED_ADMIN = 4,     /* 403 for a viewer */
	NEED_JSON = 8,      /* 415 unless the body is application/json */
	PREFIX = 16,        /* the path continues: the rest is call->arg */
};

struct route {
	const char *method;
	const char *path;
	unsigned flags;
	admin_handler fn;
};

/*
 * The whole API. A change needs the session, its CSRF token and (for relays, blocks, lockouts) the admin role; a
 * JSON body also means no cross-site form can post it (forms cannot send application/json).
 */
static const struct route routes[] = {
	{ "POST", "/api/login", NEED_JSON, admin_api_login },
	{ "POST", "/api/logout", NEED_SESSION | NEED_CSRF, admin_api_logout },
	{ "GET", "/api/session", NEED_SESSION, admin_api_session },
	{ "GET", "/api/relays", NEED_SESSION, admin_api_relays },
	{ "POST", "/api/relays", NEED_SESSION | NEED_CSRF | NEED_ADMIN | NEED_JSON, admin_api_relay_add },
	{ "DELETE", "/api/relays/", NEED_SESSION | NEED_CSRF | NEED_ADMIN | PREFIX, admin_api_relay_del },
	{ "GET", "/api/check", NEED_SESSION, admin_api_check },
	{ "GET", "/api/audit", NEED_SESSION, admin_api_audit },
	{ "GET", "/api/lockouts", NEED_SESSION, admin_api_lockouts },
	{ "DELETE", "/api/lockouts/", NEED_SESSION | NEED_CSRF | NEED_ADMIN | PREFIX, admin_api_unlock },
	{ "GET", "/api/blocks", NEED_SESSION, admin_api_blocks },
	{ "POST", "/api/blocks", NEED_SESSION | NEED_CSRF | NEED_ADMIN | NEED_JSON, admin_api_block_add },
	{ "DELETE", "/api/blocks/", NEED_SESSION | NEED_CSRF | NEED_ADMIN | PREFIX, admin_api_block_del },
	{ "GET", "/api/lists", NEED_SESSION, admin_api_lists },
	{ "GET", "/api/stats", NEED_SESSION, admin_api_stats },
	{ "GET", "/metrics", 0, admin_api_metrics },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static bool path_matches(const struct route *rt, const char *path)
{
	if (rt->flags & PREFIX) {
		size_t n = strlen(rt->path);
		return strncmp(path, rt->path, n) == 0 && path[n] != '\0';
	}
	return strcmp(path, rt->path) == 0;
}

/* allowed_methods - the Allow header for PATH, "" when no route has it. */
static const char *allowed_methods(const char *path)
{
	static char allow[64];
	size_t len = 0;

	allow[0] = '\0';
	for (size_t i = 0; i < NROUTES; i++) {
		size_t m = strlen(routes[i].method);
		if (!path_matches(&routes[i], path) || len + m + 3 > sizeof(allow))
			continue;
		if (len > 0) {
			memcpy(allow + len, ", ", 2);
			len += 2;
		}
		memcpy(allow + len, routes[i].method, m + 1);
		len += m;
	}
	return allow;
}

/* json_body - whether the Content-Type is application/json, with parameters or not. */
static bool json_body(const char *type)
{
	size_t n = strlen("application/json");

	return type && strncasecmp(type, "application/json", n) == 0 &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* check_access - the session, CSRF, role and body checks of RT; false when R holds the refusal. */
static bool check_access(struct admin_ctx *ctx, const struct route *rt, struct admin_call *call,
			 struct admin_reply *r)
{
	const struct admin_user *a;

	if (rt->flags & NEED_SESSION) {
		call->session = admin_session_find(&ctx->sessions, call->cookie, call->now);
		if (!call->session) {
			admin_reply_error(r, 401, "not logged in");
			return false;
		}
		/* The users file is the authority: a removed account or a new role applies at once. */
		admin_users_refresh(&ctx->users);
		a = admin_users_find(&ctx->users, call->session->user);
		if (!a) {
			admin_session_end(call->session);
			call->session = NULL;
			admin_reply_error(r, 401, "account no longer exists");
			return false;
		}
		call->role = a->role;
	}
	if ((rt->flags & NEED_CSRF) && !admin_session_csrf_ok(call->session, call->csrf)) {
		log_session(LOG_NOTICE, "admin", call->client_ip, call->session->user, "refused",
			    "%s %s without a valid CSRF token", LOG_Q(call->method), LOG_Q(call->path));
		admin_reply_error(r, 403, "missing or wrong X-CSRF-Token");
		return false;
	}
	if ((rt->flags & NEED_ADMIN) && call->role != ADMIN_ROLE_ADMIN) {
		admin_reply_error(r, 403, "this needs the admin role");
		return false;
	}
	if ((rt->flags & NEED_JSON) && !json_body(call->content_type)) {
		admin_reply_error(r, 415, "the body must be application/json");
		return false;
	}
	return true;
}

/* serve_static - GET of "/" or "/NAME" from www_dir. */
static void serve_static(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	const char *name = call->path[1] == '\0' ? "index.html" : call->path + 1;
	const char *type = admin_static_type(name);
	int rc;

	if (!type)
		return admin_reply_error(r, 404, "not found");
	admin_reply_free(r);
	rc = admin_static_read(ctx->www_dir, name, &r->body, &r->len);
	if (rc == -1)
		return admin_reply_error(r, 404, "not found");
	if (rc < 0)
		return admin_reply_error(r, 500, "cannot read the file");
	r->status = 200;
	r->type = type;
	/* Small files on a local link: always revalidate, so an upgrade shows at once. */
	r->cache = "no-cache";
}

void admin_route(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	const char *method = strcmp(call->method, "HEAD") == 0 ? "GET" : call->method;
	const char *allow;

	if (call->path[0] != '/')
		return admin_reply_error(r, 400, "bad path");
	for (size_t i = 0; i < NROUTES; i++) {
		const struct route *rt = &routes[i];
		if (strcmp(rt->method, method) != 0 || !path_matches(rt, call->path))
			continue;
		call->arg = (rt->flags & PREFIX) ? call->path + strlen(rt->path) : "";
		if (check_access(ctx, rt, call, r))
			rt->fn(ctx, call, r);
		return;
	}
	allow = allowed_methods(call->path);
	if (allow[0] != '\0') {
		admin_reply_error(r, 405, "method not allowed");
		r->allow = allow;
		return;
	}
	if (strncmp(call->path, "/api/", 5) == 0 || strcmp(call->path, "/api") == 0)
		return admin_reply_error(r, 404, "no such API endpoint");
	if (strcmp(method, "GET") != 0) {
		admin_reply_error(r, 405, "method not allowed");
		r->allow = "GET, HEAD";
		return;
	}
	serve_static(ctx, call, r);
}

/* ---- libmicrohttpd ---- */

/* Per-request state: the body gathered so far. */
struct admin_req {
	char *body;
	size_t len;
	bool too_large;
};

/* add_headers - the security headers every reply carries, and the reply's own. */
static void add_headers(struct MHD_Response *resp, const struct admin_reply *r)
{
	char num[24];

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type ? r->type : "text/plain");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache ? r->cache : "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (r->cookie[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->cookie);
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->retry_after > 0) {
		snprintf(num, sizeof(num), "%ld", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
}

/* send_reply - queue R (taking its body) on CONN. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, struct admin_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : (void *)"",
					       r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		admin_reply_free(r);
		return MHD_NO;
	}
	r->body = NULL;   /* MHD owns it now */
	add_headers(resp, r);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* client_ip - the peer's canonical address text, "-" when unknown. */
static void client_ip(struct MHD_Connection *conn, char out[IP_TEXT_MAX])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct ip_addr ip;

	if (ci && ci->client_addr && ip_from_sockaddr(ci->client_addr, &ip) == 0)
		ip_format(&ip, out);
	else
		snprintf(out, IP_TEXT_MAX, "-");
}

/* gather - keep up to ADMIN_BODY_MAX bytes of the body; past that only remember it was too large. */
static void gather(struct admin_req *q, const char *data, size_t n)
{
	char *nb;

	if (q->too_large)
		return;
	if (n > ADMIN_BODY_MAX - q->len) {
		q->too_large = true;
		free(q->body);
		q->body = NULL;
		q->len = 0;
		return;
	}
	nb = realloc(q->body, q->len + n + 1);
	if (!nb) {
		q->too_large = true;
		return;
	}
	q->body = nb;
	memcpy(q->body + q->len, data, n);
	q->len += n;
	q->body[q->len] = '\0';
}

/* first_call - new request: set up its state, and refuse an announced oversized body at once. */
static enum MHD_Result first_call(struct MHD_Connection *conn, void **req_cls)
{
	struct admin_req *q = calloc(1, sizeof(*q));
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct admin_reply r = { 0 };

	if (!q)
		return MHD_NO;
	*req_cls = q;
	if (cl && strtoull(cl, NULL, 10) > ADMIN_BODY_MAX) {
		q->too_large = true;
		admin_reply_error(&r, 413, "request body too large");
		return send_reply(conn, &r);
	}
	return MHD_YES;
}

enum MHD_Result admin_mhd_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	struct admin_ctx *ctx = cls;
	struct admin_req *q = *req_cls;
	struct admin_call call = { 0 };
	struct admin_reply r = { 0 };

	if (!q)
		return first_call(conn, req_cls);
	if (*upload_data_size > 0) {
		gather(q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (q->too_large) {
		admin_reply_error(&r, 413, "request body too large");
		return send_reply(conn, &r);
	}
	call.method = method;
	call.path = url;
	call.query = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "q");
	call.ip_arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ip");
	call.user_arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "user");
	call.body = q->body ? q->body : "";
	call.body_len = q->len;
	call.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	call.cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, ADMIN_COOKIE);
	call.csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, ADMIN_CSRF_HEADER);
	call.now = time(NULL);
	client_ip(conn, call.client_ip);
	admin_route(ctx, &call, &r);
	if (q->body)
		explicit_bzero(q->body, q->len);   /* it may have held a password */
	return send_reply(conn, &r);
}

void admin_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct admin_req *q = *req_cls;

	if (!q)
		return;
	if (q->body)
		explicit_bzero(q->body, q->len);
	free(q->body);
	free(q);
	*req_cls = NULL;
}
