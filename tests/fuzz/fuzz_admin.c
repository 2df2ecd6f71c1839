/* fuzz_admin.c - libFuzzer harness: the admin API's input handling, from JSON bodies to routed requests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The first input byte picks what the rest is (its low two bits, so '0'..'3' in a text seed):
 *   0  a request body for json_parse_flat; what parses must survive jw_* and parse back the same,
 *      and any text given to the writer must come out as valid, HTML-safe JSON
 *   1  an admin.users_file: every line through admin_users_parse_line, the file through refresh
 *   2  a static file name: admin_static_type and admin_static_read on a www_dir with a symlink
 *   3  a request: "METHOD PATH" line, headers (Content-Type, Cookie, X-CSRF-Token, Q), a blank
 *      line, the body; "@admin"/"@viewer" as Cookie and "@csrf" as token stand for live ones.
 *      admin_route answers it with the real handlers, users file and relay database. Replies
 *      must be well-formed, and no state change may happen without the session, token and role.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_api.h"
#include "admin/admin_server.h"
#include "admin/admin_static.h"
#include "fuzz_json.h"
#include "fuzz_util.h"

/* MD5-crypt: the fastest hash crypt(3) checks, so a login costs microseconds, not milliseconds. */
#define ADMIN_HASH "$1$fuzzsalt$PTQ9Un8QTaVCYiHFsvjEO1"   /* "pw" */
#define VIEWER_HASH "$1$fuzzsal2$2H/v1N0CGW6r7v8I4oiyx."  /* "view" */

static struct config *cfg;
static struct admin_ctx actx;
static struct admin_users scratch_users;
static char users_path[512], scratch_path[512], www[512];
static char admin_id[ADMIN_TOKEN_HEX], viewer_id[ADMIN_TOKEN_HEX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[2048], state[512], path[600];
	static const char users[] = "# helpdesk\nadmin:" ADMIN_HASH ":admin\nvic:" VIEWER_HASH ":viewer\n";

	fuzz_setup();
	fuzz_path("state", state, sizeof(state));
	fuzz_path("www", www, sizeof(www));
	fuzz_path("users", users_path, sizeof(users_path));
	fuzz_path("users-fuzzed", scratch_path, sizeof(scratch_path));
	FUZZ_CHECK(mkdir(state, 0700) == 0 && mkdir(www, 0700) == 0, "mkdir");
	fuzz_write_file(users_path, users, sizeof(users) - 1);
	snprintf(path, sizeof(path), "%s/index.html", www);
	fuzz_write_file(path, "<!doctype html><title>admin</title>\n", 36);
	snprintf(path, sizeof(path), "%s/app.js", www);
	fuzz_write_file(path, "'use strict';\n", 14);
	snprintf(path, sizeof(path), "%s/secret.txt", www);
	FUZZ_CHECK(symlink("/etc/passwd", path) == 0, "symlink");
	snprintf(path, sizeof(path), "%s/dir.css", www);
	FUZZ_CHECK(mkdir(path, 0700) == 0, "mkdir %s", path);
	snprintf(text, sizeof(text),
		 "[server]\nstate_dir = %s\n[relay]\ndb_dir = %s/relay\ndeny = 192.0.2.0/24\n"
		 "[admin]\nusers_file = %s\nwww_dir = %s\n", state, state, users_path, www);
	cfg = fuzz_config(text);
	FUZZ_CHECK(admin_ctx_init(&actx, cfg, NULL) == 0, "admin_ctx_init");
	admin_users_init(&scratch_users, scratch_path);
	return 0;
}

/* ---- mode 0: JSON bodies and the writer ---- */

/* check_json_roundtrip - a parsed object written with jw_* parses back to the same members. */
static void check_json_roundtrip(const struct json_flat *o)
{
	struct json_flat back;
	struct jw w;
	const char *why = NULL;
	char *text;
	size_t len;

	jw_init(&w, 1 << 16);
	jw_obj_begin(&w);
	for (size_t i = 0; i < o->n; i++) {
		const struct json_field *f = &o->f[i];
		if (f->type == JSON_T_STRING)
			jw_kstr(&w, f->key, f->val);
		else if (f->type == JSON_T_BOOL)
			jw_kbool(&w, f->key, strcmp(f->val, "true") == 0);
		else if (f->type == JSON_T_NULL) {
			jw_key(&w, f->key);
			jw_null(&w);
		} else
			jw_kint(&w, f->key, 7); /* numbers are kept as text; any number will do here */
	}
	jw_obj_end(&w);
	text = jw_take(&w, &len);
	jw_free(&w);
	FUZZ_CHECK(text != NULL, "jw overflowed writing %zu members", o->n);
	fuzz_check_json(text, len, true);
	FUZZ_CHECK(json_parse_flat(text, len, &back, &why) == 0, "our own output does not parse (%s): %.200s", why,
		   text);
	FUZZ_CHECK(back.n == o->n, "%zu members, back %zu", o->n, back.n);
	for (size_t i = 0; i < o->n; i++) {
		FUZZ_CHECK(strcmp(back.f[i].key, o->f[i].key) == 0 && back.f[i].type == o->f[i].type,
			   "member %zu: key \"%s\" came back as \"%s\"", i, o->f[i].key, back.f[i].key);
		if (o->f[i].type == JSON_T_STRING || o->f[i].type == JSON_T_BOOL)
			FUZZ_CHECK(back.f[i].len == o->f[i].len && memcmp(back.f[i].val, o->f[i].val, o->f[i].len) == 0,
				   "member %s changed in the round trip", o->f[i].key);
	}
	free(text);
}

/* check_json - the strict parser on IN, and the writer on IN as a string value. */
static void check_json(const uint8_t *in, size_t n)
{
	struct json_flat o;
	const char *why = NULL;
	char *s = fuzz_cstr(in, n), *text;
	struct jw w;
	size_t len;

	if (json_parse_flat((const char *)in, n, &o, &why) == 0) {
		FUZZ_CHECK(o.n <= JSON_FIELDS_MAX, "%zu members", o.n);
		fuzz_check_json((const char *)in, n, false); /* we accepted it: it must be JSON */
		for (size_t i = 0; i < o.n; i++)
			FUZZ_CHECK(memchr(o.f[i].key, '\0', sizeof(o.f[i].key)) != NULL && o.f[i].len < JSON_VAL_MAX &&
					   o.f[i].val[o.f[i].len] == '\0' && strlen(o.f[i].val) == o.f[i].len,
				   "member %zu is not a bounded, NUL-free string", i);
		check_json_roundtrip(&o);
		json_wipe(&o);
	} else {
		FUZZ_CHECK(why != NULL && why[0] != '\0', "refused without a reason");
	}
	jw_init(&w, 1 << 20);
	jw_obj_begin(&w);
	jw_kstr(&w, s, s);
	jw_obj_end(&w);
	text = jw_take(&w, &len);
	jw_free(&w);
	FUZZ_CHECK(text != NULL, "jw overflowed");
	fuzz_check_json(text, len, true);
	free(text);
	free(s);
}

/* ---- mode 1: the users file ---- */

static void check_users(const uint8_t *in, size_t n)
{
	char *text = fuzz_cstr(in, n), *save = NULL;
	struct admin_user a;
	const char *why;

	fuzz_write_file(scratch_path, in, n);
	/* A new file every time: same size and mtime within a tick would look unchanged. */
	admin_users_free(&scratch_users);
	admin_users_init(&scratch_users, scratch_path);
	(void)admin_users_refresh(&scratch_users);
	FUZZ_CHECK(scratch_users.n <= ADMIN_USERS_MAX, "%zu accounts", scratch_users.n);
	for (size_t i = 0; i < scratch_users.n; i++) {
		const struct admin_user *u = &scratch_users.v[i];
		FUZZ_CHECK(admin_user_name_ok(u->name, strlen(u->name)) && u->role != ADMIN_ROLE_NONE &&
				   strchr(u->hash, ':') == NULL && strlen(u->hash) >= 2,
			   "account %zu is not valid: \"%s\"", i, u->name);
		FUZZ_CHECK(admin_users_find(&scratch_users, u->name) == u, "user %s appears twice", u->name);
	}
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (admin_users_parse_line(line, &a, &why) == 0)
			FUZZ_CHECK(strncmp(line, a.name, strlen(a.name)) == 0 && line[strlen(a.name)] == ':' &&
					   (a.role == ADMIN_ROLE_ADMIN || a.role == ADMIN_ROLE_VIEWER),
				   "line \"%.80s\" parsed as user \"%s\"", line, a.name);
	}
	explicit_bzero(&a, sizeof(a));
	free(text);
}

/* ---- mode 2: static file names ---- */

static void check_static(const uint8_t *in, size_t n)
{
	char *name = fuzz_cstr(in, n), *data = NULL;
	const char *type = admin_static_type(name);
	size_t len = 0;
	int rc;

	if (type != NULL) {
		const char *dot = strchr(name, '.');
		FUZZ_CHECK(strlen(name) <= ADMIN_STATIC_NAME_MAX && name[0] != '.' && strchr(name, '/') == NULL &&
				   dot != NULL && strchr(dot + 1, '.') == NULL,
			   "\"%.80s\" may be served", name);
	}
	rc = admin_static_read(www, name, &data, &len);
	FUZZ_CHECK(rc == -1 || (rc == 0 && type != NULL), "admin_static_read(\"%.80s\") = %d", name, rc);
	if (rc == 0)
		FUZZ_CHECK(strcmp(name, "index.html") == 0 || strcmp(name, "app.js") == 0,
			   "served \"%s\", which is no regular file of www_dir", name);
	free(data);
	free(name);
}

/* ---- mode 3: routed requests ---- */

/* A request as the harness builds it; the strings point into its own copy of the input. */
struct request {
	char method[16];
	char *path, *content_type, *cookie, *csrf, *query, *body;
	size_t body_len;
	const struct admin_session *session; /* the live session the cookie names, if any */
	bool csrf_ok;
};

/* live_session - *ID's session, created again if a flood of logins evicted it. */
static const struct admin_session *live_session(char *id, const char *user, enum admin_role role, time_t now)
{
	struct admin_session *s = admin_session_find(&actx.sessions, id, now);

	if (s == NULL) {
		s = admin_session_create(&actx.sessions, user, role, now);
		FUZZ_CHECK(s != NULL, "admin_session_create");
		snprintf(id, ADMIN_TOKEN_HEX, "%s", s->id);
	}
	return s;
}

/* header - the value of a "Name: value" line if LINE is that header. */
static char *header(char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	return line + strspn(line, " ");
}

/* parse_request - split TEXT (LEN octets, NUL-terminated) into RQ; false if it is no request line. */
static bool parse_request(char *text, size_t len, struct request *rq, time_t now)
{
	char *end = memmem(text, len, "\n\n", 2), *line, *save = NULL, *v;

	memset(rq, 0, sizeof(*rq));
	rq->body = end != NULL ? end + 2 : text + len;
	rq->body_len = (size_t)(text + len - rq->body);
	if (end != NULL)
		*end = '\0';
	line = strtok_r(text, "\n", &save);
	if (line == NULL || sscanf(line, "%15s", rq->method) != 1 || (rq->path = strchr(line, ' ')) == NULL)
		return false;
	rq->path++;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if ((v = header(line, "Content-Type")) != NULL)
			rq->content_type = v;
		else if ((v = header(line, "Cookie")) != NULL)
			rq->cookie = v;
		else if ((v = header(line, "X-CSRF-Token")) != NULL)
			rq->csrf = v;
		else if ((v = header(line, "Q")) != NULL)
			rq->query = v;
	}
	if (rq->cookie != NULL && (strcmp(rq->cookie, "@admin") == 0 || strcmp(rq->cookie, "@viewer") == 0)) {
		bool admin = rq->cookie[1] == 'a';
		rq->session = live_session(admin ? admin_id : viewer_id, admin ? "admin" : "vic",
					   admin ? ADMIN_ROLE_ADMIN : ADMIN_ROLE_VIEWER, now);
		rq->cookie = admin ? admin_id : viewer_id;
		if (rq->csrf != NULL && strcmp(rq->csrf, "@csrf") == 0)
			rq->csrf = (char *)rq->session->csrf;
		rq->csrf_ok = rq->csrf != NULL && strcmp(rq->csrf, rq->session->csrf) == 0;
	}
	return true;
}

/* check_reply - what every answer must be, and who may have caused a change. */
static void check_reply(const struct request *rq, const struct admin_call *call, const struct admin_reply *r)
{
	bool ok = r->status >= 200 && r->status < 300;
	bool api = strncmp(call->path, "/api/", 5) == 0;
	bool change = strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "DELETE") == 0;

	FUZZ_CHECK(r->status >= 200 && r->status <= 599 && r->type != NULL, "status %u", r->status);
	FUZZ_CHECK(r->body != NULL || r->len == 0, "a body length without a body");
	if (r->type != NULL && strcmp(r->type, "application/json") == 0)
		fuzz_check_json(r->body, r->len, true);
	if (r->cookie[0] != '\0')
		FUZZ_CHECK(strstr(r->cookie, "HttpOnly; SameSite=Strict") != NULL, "cookie %s", r->cookie);
	if (ok && api && strcmp(call->path, "/api/login") != 0)
		FUZZ_CHECK(rq->session != NULL, "%s %s answered %u without a session", rq->method, call->path, r->status);
	if (ok && change && strcmp(call->path, "/api/login") != 0)
		FUZZ_CHECK(rq->csrf_ok, "%s %s answered %u without the CSRF token", rq->method, call->path, r->status);
	if (ok && change && strncmp(call->path, "/api/relays", 11) == 0)
		FUZZ_CHECK(rq->session->role == ADMIN_ROLE_ADMIN, "a viewer changed the relay table");
	if (ok && !api && strcmp(call->path, "/metrics") != 0)
		FUZZ_CHECK(strcmp(call->path, "/") == 0 || strcmp(call->path, "/index.html") == 0 ||
				   strcmp(call->path, "/app.js") == 0,
			   "served %s", call->path);
}

static void check_route(const uint8_t *in, size_t n)
{
	char *text = malloc(n + 1);
	struct request rq;
	struct admin_call call;
	struct admin_reply r;
	time_t now = time(NULL);

	FUZZ_CHECK(text != NULL, "out of memory");
	memcpy(text, in, n);
	text[n] = '\0';
	if (!parse_request(text, n, &rq, now) || rq.body_len > ADMIN_BODY_MAX) {
		free(text);
		return;
	}
	/* Every request starts unthrottled, so that one input replays the same way. */
	admin_throttle_init(&actx.throttle);
	memset(&call, 0, sizeof(call));
	memset(&r, 0, sizeof(r));
	call.method = rq.method;
	call.path = rq.path;
	call.arg = "";
	call.query = rq.query;
	call.body = rq.body;
	call.body_len = rq.body_len;
	call.content_type = rq.content_type;
	call.cookie = rq.cookie;
	call.csrf = rq.csrf;
	call.now = now;
	snprintf(call.client_ip, sizeof(call.client_ip), "127.0.0.1");
	admin_route(&actx, &call, &r);
	check_reply(&rq, &call, &r);
	admin_reply_free(&r);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		check_json(data + 1, size - 1);
		break;
	case 1:
		check_users(data + 1, size - 1);
		break;
	case 2:
		check_static(data + 1, size - 1);
		break;
	default:
		check_route(data + 1, size - 1);
		break;
	}
	return 0;
}
