/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_admin_http.c - the admin worker over real HTTP on a loopback socket bound by the test:
 * routing, sessions, CSRF, roles, throttling, limits, headers, and a clean stop.
 */

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/admin_api.h"
#include "auth/auth.h"
#include "common/log.h"
#include "common/stats.h"
#include "relaydb/relaydb.h"
#include "check_run.h"
#include "testlib.h"

static char dir[TL_PATH_MAX], users_path[TL_PATH_MAX];
static struct config *cfg;
static struct stats_writer *stats;
static const struct stats_shared *stats_view; /* the admin worker's read-only view */
static int port;
static int lfd = -1;
static volatile sig_atomic_t stop_flag;
static pthread_t worker;
static int worker_rc = -1;
static bool joined;

struct resp {
	int status;
	char head[8192];
	char *body;
	size_t len;
};

static void write_users(void)
{
	char a[256], v[256], text[1024];

	ck_assert_int_eq(auth_hash_password("admin-secret", a, sizeof(a)), 0);
	ck_assert_int_eq(auth_hash_password("viewer-secret", v, sizeof(v)), 0);
	snprintf(text, sizeof(text), "# test accounts\nhelen:%s:admin\nvic:%s:viewer\n", a, v);
	tl_write_text(users_path, text);
	chmod(users_path, 0600);
}

static void *run_worker(void *arg)
{
	worker_rc = admin_worker_main(cfg, &lfd, 1, stats_view, &stop_flag);
	return NULL;
}

static void setup(void)
{
	char err[512];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct relaydb *db;
	struct stats_counters *c;

	tl_scratch(dir, sizeof(dir), "check_admin_http");
	tl_pathbuf(users_path, sizeof(users_path), dir, "users");
	ck_assert_int_eq(mkdir(tl_path(dir, "www"), 0755), 0);
	tl_write_text(tl_path(dir, "www/index.html"), "<!doctype html><title>t</title>\n");
	tl_write_text(tl_path(dir, "www/app.js"), "'use strict';\n");
	write_users();
	cfg = tl_configf("[server]\nstate_dir = %s\n"
			 "[admin]\nusers_file = %s\nwww_dir = %s/www\nsession_timeout = 5m\n"
			 "[relay]\ndb_dir = %s/relay\nallow =\ndeny = 192.0.2.0/24\ntimeout = 30m\n",
			 dir, users_path, dir, dir);
	/* One authorization exists before the worker starts, as a POP3 login would leave it. */
	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), 0);
	ck_assert_int_eq(relaydb_authorize(db, "198.51.100.7", "alice", "pop3", 1800, time(NULL)), 0);
	relaydb_close(&db);
	stats_free(&stats);
	stats = stats_create();
	ck_assert_ptr_nonnull(stats);
	stats_view = stats_attach(stats_fd());
	ck_assert_ptr_nonnull(stats_view);
	stats_begin(stats);
	c = stats_counters_mut(stats);
	c->started = time(NULL) - 60;
	c->logins_ok = 7;
	c->logins_failed = 3;
	c->msgs_relayed = 11;
	c->msgs_denied = 2;
	c->stress_on = 1;
	c->stress_episodes = 4;
	c->hop[STATS_HOP_DEFERRED] = 5;
	c->tls_failed[stats_tls_service("smtps")][STATS_TLS_TIMEOUT] = 6;
	c->worker_restarts[2] = 8;
	c->relaydb_errors[0] = 9;
	c->relaydb_errors[1 + 1] = 10;
	stats_end(stats);
	stats_add_event(stats, "pop3", "198.51.100.7", "alice<b>", "login ok");
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	stop_flag = 0;
	joined = false;
	ck_assert_int_eq(pthread_create(&worker, NULL, run_worker, NULL), 0);
}

static void teardown(void)
{
	stop_flag = 1;
	if (!joined)
		pthread_join(worker, NULL);
	config_free(&cfg);
	tl_rm_rf(dir);
}

/* http - one request on a new connection; the whole reply is read until the server closes. */
static void http(const char *method, const char *path, const char *headers, const char *body,
		 struct resp *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 5, 0 };
	char req[16384], *buf = malloc(1 << 20), *sep;
	size_t blen = body ? strlen(body) : 0, got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;
	ssize_t k;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
		     "Content-Length: %zu\r\n\r\n", method, path, headers ? headers : "", blen);
	ck_assert(n > 0 && (size_t)n < sizeof(req));
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	if (blen > 0)
		ck_assert_int_eq(write(fd, body, blen), (ssize_t)blen);
	while ((k = read(fd, buf + got, (1 << 20) - 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	buf[got] = '\0';
	ck_assert_msg(sscanf(buf, "HTTP/1.1 %d", &r->status) == 1, "no status in '%s'", buf);
	sep = strstr(buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->len = got - (size_t)(sep + 4 - buf);
	r->body = strdup(sep + 4);
	free(buf);
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* header - the value of header NAME in R (case-insensitive name), or NULL. */
static const char *header(const struct resp *r, const char *name, char *out, size_t cap)
{
	const char *p = r->head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(e ? (size_t)(e - v) : strlen(v)), v);
			return out;
		}
	}
	return NULL;
}

/* A logged-in client: its cookie header and CSRF token. */
struct client {
	char cookie[128];
	char csrf[80];
};

static int login(const char *user, const char *pass, struct client *c)
{
	char body[256], v[512];
	struct resp r;
	const char *p;
	int status;

	snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, pass);
	http("POST", "/api/login", "Content-Type: application/json\r\n", body, &r);
	status = r.status;
	if (status == 200) {
		ck_assert_ptr_nonnull(header(&r, "Set-Cookie", v, sizeof(v)));
		ck_assert(strncmp(v, ADMIN_COOKIE "=", strlen(ADMIN_COOKIE) + 1) == 0);
		ck_assert_ptr_nonnull(strstr(v, "; HttpOnly"));
		ck_assert_ptr_nonnull(strstr(v, "; SameSite=Strict"));
		ck_assert_ptr_null(strstr(v, "Secure"));   /* plain HTTP here */
		snprintf(c->cookie, sizeof(c->cookie), "Cookie: %.*s\r\n",
			 (int)strcspn(v, ";"), v);
		p = strstr(r.body, "\"csrf\":\"");
		ck_assert_ptr_nonnull(p);
		snprintf(c->csrf, sizeof(c->csrf), "%.64s", p + 8);
	}
	resp_free(&r);
	return status;
}

/* call - a request as client C; CSRF adds the token header. */
static void call(const struct client *c, bool csrf, const char *method, const char *path,
		 const char *body, struct resp *r)
{
	char h[512];

	snprintf(h, sizeof(h), "%s%s%s%s%s", c ? c->cookie : "", csrf ? "X-CSRF-Token: " : "",
		 csrf ? c->csrf : "", csrf ? "\r\n" : "", body ? "Content-Type: application/json\r\n" : "");
	http(method, path, h, body, r);
}

static void expect(const struct client *c, bool csrf, const char *method, const char *path,
		   const char *body, int status, const char *needle)
{
	struct resp r;

	call(c, csrf, method, path, body, &r);
	ck_assert_msg(r.status == status, "%s %s: %d, expected %d: %s", method, path, r.status,
		      status, r.body);
	if (needle)
		ck_assert_msg(strstr(r.body, needle) != NULL, "%s %s: '%s' not in %s", method, path,
			      needle, r.body);
	resp_free(&r);
}

START_TEST(static_files_and_headers)
{
	struct resp r;
	char v[512];

	http("GET", "/", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type", v, sizeof(v)), "text/html; charset=utf-8");
	ck_assert_str_eq(header(&r, "X-Frame-Options", v, sizeof(v)), "DENY");
	ck_assert_str_eq(header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
	ck_assert_str_eq(header(&r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
	ck_assert_ptr_nonnull(strstr(header(&r, "Content-Security-Policy", v, sizeof(v)),
				     "default-src 'self'"));
	ck_assert_ptr_nonnull(header(&r, "Cache-Control", v, sizeof(v)));
	ck_assert_ptr_nonnull(strstr(r.body, "<!doctype html>"));
	resp_free(&r);
	http("GET", "/app.js", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type", v, sizeof(v)), "text/javascript; charset=utf-8");
	resp_free(&r);
	expect(NULL, false, "GET", "/../users", NULL, 404, NULL);
	expect(NULL, false, "GET", "/%2e%2e/users", NULL, 404, NULL);
	expect(NULL, false, "GET", "/www/index.html", NULL, 404, NULL);
	expect(NULL, false, "GET", "/users", NULL, 404, NULL);
	expect(NULL, false, "GET", "/missing.js", NULL, 404, NULL);
	expect(NULL, false, "POST", "/index.html", "{}", 405, NULL);
	expect(NULL, false, "GET", "/api/nothing", NULL, 404, "\"error\"");
	http("PUT", "/api/relays", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(header(&r, "Allow", v, sizeof(v)), "GET, POST");
	resp_free(&r);
}
END_TEST

START_TEST(refused_without_session)
{
	struct client fake = { "Cookie: " ADMIN_COOKIE "=0123456789abcdef0123456789abcdef"
			       "0123456789abcdef0123456789abcdef\r\n", "x" };

	expect(NULL, false, "GET", "/api/session", NULL, 401, "\"error\"");
	expect(NULL, false, "GET", "/api/relays", NULL, 401, NULL);
	expect(NULL, false, "GET", "/api/lists", NULL, 401, NULL);
	expect(NULL, false, "GET", "/api/stats", NULL, 401, NULL);
	expect(NULL, false, "POST", "/api/relays", "{\"ip\":\"192.0.2.1\"}", 401, NULL);
	expect(NULL, false, "DELETE", "/api/relays/198.51.100.7", NULL, 401, NULL);
	expect(NULL, false, "POST", "/api/logout", NULL, 401, NULL);
	expect(&fake, true, "GET", "/api/relays", NULL, 401, NULL);
	expect(&fake, true, "DELETE", "/api/relays/198.51.100.7", NULL, 401, NULL);
}
END_TEST

START_TEST(viewer_reads_but_cannot_change)
{
	struct client v;

	ck_assert_int_eq(login("vic", "viewer-secret", &v), 200);
	expect(&v, false, "GET", "/api/session", NULL, 200, "\"role\":\"viewer\"");
	expect(&v, false, "GET", "/api/relays", NULL, 200, "\"ip\":\"198.51.100.7\"");
	expect(&v, false, "GET", "/api/lists", NULL, 200, "\"deny\":[\"192.0.2.0/24\"]");
	expect(&v, false, "GET", "/api/lists", NULL, 200, "\"allow\":[]");
	expect(&v, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.5\"}", 403, "admin role");
	expect(&v, true, "DELETE", "/api/relays/198.51.100.7", NULL, 403, "admin role");
	expect(&v, false, "GET", "/api/relays", NULL, 200, "\"ip\":\"198.51.100.7\"");
}
END_TEST

START_TEST(admin_changes_need_csrf)
{
	struct client a, other;

	ck_assert_int_eq(login("helen", "admin-secret", &a), 200);
	ck_assert_int_eq(login("vic", "viewer-secret", &other), 200);
	expect(&a, false, "GET", "/api/session", NULL, 200, "\"role\":\"admin\"");
	expect(&a, false, "POST", "/api/relays", "{\"ip\":\"203.0.113.5\"}", 403, "CSRF");
	expect(&a, false, "DELETE", "/api/relays/198.51.100.7", NULL, 403, "CSRF");
	/* Another session's token is no good either. */
	snprintf(a.csrf, sizeof(a.csrf), "%s", other.csrf);
	expect(&a, true, "DELETE", "/api/relays/198.51.100.7", NULL, 403, "CSRF");
	expect(&a, false, "GET", "/api/relays?q=198.51", NULL, 200, "\"count\":1");
}
END_TEST

START_TEST(admin_adds_searches_and_revokes)
{
	struct client a;
	struct resp r;

	ck_assert_int_eq(login("helen", "admin-secret", &a), 200);
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"2001:DB8:0::5\",\"ttl\":\"2h\",\"user\":\"walk-in\"}",
	       201, "\"ip\":\"2001:db8::5\"");
	expect(&a, false, "GET", "/api/relays?q=WALK", NULL, 200, "\"proto\":\"manual\"");
	call(&a, false, "GET", "/api/relays?q=2001:db8", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"expires_in\":7200"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"count\":1"));
	ck_assert_ptr_null(strstr(r.body, "198.51.100.7"));
	resp_free(&r);
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"192.0.2.9\",\"ttl\":60}", 201,
	       "\"decision\":\"deny-list\"");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.9\"}", 201, "\"expires_in\":1800");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.300\"}", 400, "ip must be");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.1\",\"ttl\":0}", 400, "ttl");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.1\",\"ttl\":\"40d\"}", 400, "ttl");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.1\",\"ttl\":1.5}", 400, "ttl");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":\"203.0.113.1\",\"user\":\"a\\u0001\"}", 400, "user");
	expect(&a, true, "POST", "/api/relays", "{\"ip\":[1]}", 400, "nested");
	expect(&a, true, "POST", "/api/relays", "not json", 400, NULL);
	expect(&a, true, "DELETE", "/api/relays/198.51.100.7", NULL, 200, "\"revoked\":\"198.51.100.7\"");
	expect(&a, true, "DELETE", "/api/relays/198.51.100.7", NULL, 404, NULL);
	expect(&a, true, "DELETE", "/api/relays/2001:db8:0:0::5", NULL, 200, "2001:db8::5");
	expect(&a, true, "DELETE", "/api/relays/nonsense", NULL, 400, NULL);
	expect(&a, false, "GET", "/api/relays", NULL, 200, "\"count\":2");
}
END_TEST

START_TEST(bodies_bounded_and_typed)
{
	struct client a;
	struct resp r;
	char h[512], *big = malloc(ADMIN_BODY_MAX + 100);

	ck_assert_int_eq(login("helen", "admin-secret", &a), 200);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', ADMIN_BODY_MAX + 99);
	big[0] = '{';
	big[ADMIN_BODY_MAX + 98] = '}';
	big[ADMIN_BODY_MAX + 99] = '\0';
	expect(&a, true, "POST", "/api/relays", big, 413, "too large");
	expect(NULL, false, "POST", "/api/login", big, 413, NULL);
	free(big);
	/* A form post (what a cross-site page could send) is refused by type. */
	snprintf(h, sizeof(h), "%sX-CSRF-Token: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n",
		 a.cookie, a.csrf);
	http("POST", "/api/relays", h, "ip=203.0.113.7", &r);
	ck_assert_int_eq(r.status, 415);
	resp_free(&r);
	http("POST", "/api/login", "Content-Type: text/plain\r\n",
	     "{\"user\":\"helen\",\"password\":\"admin-secret\"}", &r);
	ck_assert_int_eq(r.status, 415);
	resp_free(&r);
}
END_TEST

START_TEST(login_failures_throttled)
{
	struct client a;
	struct resp r;
	char v[64];

	ck_assert_int_eq(login("helen", "wrong", &a), 401);
	ck_assert_int_eq(login("nobody", "admin-secret", &a), 401);
	expect(NULL, false, "POST", "/api/login", "{\"user\":\"helen\"}", 400, NULL);
	for (int i = 2; i < ADMIN_THROTTLE_FREE; i++)
		ck_assert_int_eq(login("helen", "still-wrong", &a), 401);
	/* Now even the right password is refused, with a hint when to come back. */
	http("POST", "/api/login", "Content-Type: application/json\r\n",
	     "{\"user\":\"helen\",\"password\":\"admin-secret\"}", &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_ptr_nonnull(header(&r, "Retry-After", v, sizeof(v)));
	ck_assert_int_gt(atoi(v), 0);
	ck_assert_int_le(atoi(v), ADMIN_THROTTLE_BASE);
	resp_free(&r);
}
END_TEST

START_TEST(logout_and_account_removal)
{
	struct client a, b;

	ck_assert_int_eq(login("helen", "admin-secret", &a), 200);
	ck_assert_int_eq(login("vic", "viewer-secret", &b), 200);
	expect(&a, false, "POST", "/api/logout", NULL, 403, "CSRF");
	expect(&a, true, "POST", "/api/logout", NULL, 200, "\"ok\":true");
	expect(&a, false, "GET", "/api/session", NULL, 401, NULL);
	/* An account removed from the file loses its session at the next request. */
	expect(&b, false, "GET", "/api/session", NULL, 200, NULL);
	tl_write_text(users_path, "helen:$6$x$y:admin\n");
	expect(&b, false, "GET", "/api/session", NULL, 401, "no longer exists");
	expect(&b, false, "GET", "/api/session", NULL, 401, NULL);
}
END_TEST

START_TEST(role_change_applies_at_once)
{
	struct client a;
	char h[256], text[512];

	ck_assert_int_eq(login("helen", "admin-secret", &a), 200);
	ck_assert_int_eq(auth_hash_password("admin-secret", h, sizeof(h)), 0);
	snprintf(text, sizeof(text), "helen:%s:viewer\n", h);
	tl_write_text(users_path, text);
	expect(&a, true, "DELETE", "/api/relays/198.51.100.7", NULL, 403, "admin role");
	expect(&a, false, "GET", "/api/session", NULL, 200, "\"role\":\"viewer\"");
}
END_TEST

START_TEST(stats_and_metrics)
{
	struct client v;
	struct resp r;
	char h[128];

	ck_assert_int_eq(login("vic", "viewer-secret", &v), 200);
	call(&v, false, "GET", "/api/stats", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"logins_ok\":7"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"msgs_relayed\":11"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"uptime\":6"));
	/* Event text is escaped, never HTML. */
	ck_assert_ptr_nonnull(strstr(r.body, "\"user\":\"alice\\u003cb\\u003e\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"what\":\"login ok\""));
	resp_free(&r);
	http("GET", "/metrics", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type", h, sizeof(h)), "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE popgate_logins_total counter\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_logins_total{result=\"ok\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_logins_total{result=\"failed\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_messages_total{result=\"denied\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_relaydb_up 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_relay_authorizations{state=\"live\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_admin_sessions 1\n"));
	/* The operator's alerts: each counter under its label, with its TYPE. */
	ck_assert_ptr_nonnull(strstr(r.body, "\n# TYPE popgate_stress_mode gauge\npopgate_stress_mode 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\n# TYPE popgate_stress_episodes_total counter\n"
					     "popgate_stress_episodes_total 4\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_next_hop_handoffs_total{outcome=\"deferred\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_next_hop_handoffs_total{outcome=\"accepted\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body,
				     "\npopgate_tls_handshake_failures_total{service=\"smtps\",reason=\"timeout\"} 6\n"));
	ck_assert_ptr_nonnull(strstr(r.body,
				     "\npopgate_tls_handshake_failures_total{service=\"pop3s\",reason=\"error\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_worker_restarts_total{worker=\"relay-lookup\"} 8\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_relaydb_errors_total{process=\"session\"} 9\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\npopgate_relaydb_errors_total{process=\"relay-sweeper\"} 10\n"));
	/* No relay.export_map here: no age either. */
	ck_assert_ptr_null(strstr(r.body, "popgate_export_map_age_seconds"));
	resp_free(&r);
}
END_TEST

START_TEST(stops_without_another_request)
{
	struct timespec deadline;

	expect(NULL, false, "GET", "/", NULL, 200, NULL);
	/*
	 * The worker must notice the flag on its own: nobody connects again. The deadline only
	 * keeps a worker that never looks from hanging the suite; it is not a speed claim.
	 */
	stop_flag = 1;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	ck_assert_int_eq(pthread_timedjoin_np(worker, NULL, &deadline), 0);
	joined = true;
	ck_assert_int_eq(worker_rc, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("admin_http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, static_files_and_headers);
	tcase_add_test(tc, refused_without_session);
	tcase_add_test(tc, viewer_reads_but_cannot_change);
	tcase_add_test(tc, admin_changes_need_csrf);
	tcase_add_test(tc, admin_adds_searches_and_revokes);
	tcase_add_test(tc, bodies_bounded_and_typed);
	tcase_add_test(tc, login_failures_throttled);
	tcase_add_test(tc, logout_and_account_removal);
	tcase_add_test(tc, role_change_applies_at_once);
	tcase_add_test(tc, stats_and_metrics);
	tcase_add_test(tc, stops_without_another_request);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_open("check_admin_http", LOG_MAIL, true);
	log_set_level(LOG_WARNING);
	return check_run(suite());
}
