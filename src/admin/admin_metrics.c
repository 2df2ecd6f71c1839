/* admin_metrics.c - live counters and events for the page (JSON) and for Prometheus (/metrics). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/admin_api.h"
#include "admin/admin_audit.h"
#include "auth/blocks.h"
#include "common/log.h"
#include "master/control.h"
#include "relaydb/pg_store.h"
#include "relaydb/relaydb.h"

/*
 * snapshot - the master's counters and latest events; zeros without shared stats. -1 when the page
 * stays mid-update (logged): the caller answers 503 rather than wait for it.
 */
static ssize_t snapshot(const struct admin_ctx *ctx, struct stats_counters *c, struct stats_event *ev,
		       size_t max)
{
	memset(c, 0, sizeof(*c));
	if (!ctx->stats)
		return 0;
	ssize_t n = stats_snapshot(ctx->stats, c, ev, max);
	if (n < 0)
		log_warn("admin: the master's counters stay mid-update; answering 503");
	return n;
}

#define COUNTERS_BUSY "the master's counters are being updated, try again"

static void counters_json(struct jw *w, const struct stats_counters *c)
{
	jw_key(w, "counters");
	jw_obj_begin(w);
	jw_kuint(w, "sessions_active", c->sessions_active);
	jw_kuint(w, "sessions_total", c->sessions_total);
	jw_kuint(w, "pop3_active", c->pop3_active);
	jw_kuint(w, "smtp_active", c->smtp_active);
	jw_kuint(w, "logins_ok", c->logins_ok);
	jw_kuint(w, "logins_failed", c->logins_failed);
	jw_kuint(w, "msgs_relayed", c->msgs_relayed);
	jw_kuint(w, "msgs_denied", c->msgs_denied);
	jw_kuint(w, "refused_limit", c->refused_limit);
	jw_obj_end(w);
}

/* audit_events - the latest admin actions, which the page shows among the events with who did them. */
static void audit_events(struct admin_ctx *ctx, struct jw *w)
{
	struct admin_audit_entry v[ADMIN_EVENTS_MAX];
	long n = admin_audit_latest(ctx->cfg, v, ADMIN_EVENTS_MAX);

	jw_key(w, "admin_events");
	jw_arr_begin(w);
	for (long i = 0; i < n; i++)
		admin_audit_json(w, &v[i]);
	jw_arr_end(w);
}

void admin_api_stats(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct stats_counters c;
	struct stats_event ev[ADMIN_EVENTS_MAX];
	ssize_t n = snapshot(ctx, &c, ev, ADMIN_EVENTS_MAX);
	struct jw w;

	if (n < 0)
		return admin_reply_error(r, 503, COUNTERS_BUSY);

	jw_init(&w, 64 * 1024);
	jw_obj_begin(&w);
	jw_kint(&w, "now", call->now);
	jw_kint(&w, "started", c.started);
	jw_kint(&w, "uptime", c.started > 0 ? (long long)call->now - c.started : 0);
	counters_json(&w, &c);
	jw_key(&w, "events");
	jw_arr_begin(&w);
	for (size_t i = 0; i < (size_t)n; i++) {
		/* The ring is written by the master from sessions' reports: terminate defensively. */
		ev[i].proto[sizeof(ev[i].proto) - 1] = '\0';
		ev[i].ip[sizeof(ev[i].ip) - 1] = '\0';
		ev[i].user[sizeof(ev[i].user) - 1] = '\0';
		ev[i].what[sizeof(ev[i].what) - 1] = '\0';
		jw_obj_begin(&w);
		jw_kint(&w, "time", ev[i].time);
		jw_kstr(&w, "proto", ev[i].proto);
		jw_kstr(&w, "ip", ev[i].ip);
		jw_kstr(&w, "user", ev[i].user);
		jw_kstr(&w, "what", ev[i].what);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	audit_events(ctx, &w);
	jw_kuint(&w, "admin_sessions", admin_sessions_count(&ctx->sessions, call->now));
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}

/* A text buffer for the exposition format; a fixed size suffices (a few dozen lines). */
struct text {
	char buf[16384];
	size_t len;
	bool overflow;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		t->overflow = true;
	else
		t->len += (size_t)n;
}

/* metric - HELP and TYPE lines, then one sample per label (or one unlabelled sample). */
static void metric(struct text *t, const char *name, const char *type, const char *help)
{
	add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct count_state {
	time_t now;
	long long timeout;
	unsigned long long live, expired;
};

static int count_one(const struct relay_entry *e, void *arg)
{
	struct count_state *st = arg;

	if (relay_entry_expired(e, st->now, st->timeout))
		st->expired++;
	else
		st->live++;
	return 0;
}

/* relay_counts - authorizations in the database; false when it cannot be read. */
static bool relay_counts(struct admin_ctx *ctx, time_t now, struct count_state *st)
{
	struct relaydb *db = admin_ctx_db(ctx, now);

	memset(st, 0, sizeof(*st));
	st->now = now;
	st->timeout = conf(ctx->cfg)->relay.timeout;
	if (!db)
		return false;
	if (relaydb_foreach(db, count_one, st) < 0) {
		admin_ctx_db_failed(ctx, now);
		return false;
	}
	return true;
}

/* lockout_metrics - the master's failed-login penalties and lockouts in force (control.sock). */
static void lockout_metrics(struct admin_ctx *ctx, struct text *t)
{
	static char reply[CONTROL_REPLY_MAX];
	unsigned long long penalty = 0, locked = 0;
	char err[256], *line, *save = NULL;
	struct control_row row;
	bool up = control_request(ctx->cfg, "lockouts", reply, sizeof(reply), 2000, err, sizeof(err)) == 0;

	metric(t, "popgate_control_up", "gauge", "Whether the master answered on its control socket.");
	add(t, "popgate_control_up %d\n", up ? 1 : 0);
	if (!up)
		return;
	line = strtok_r(reply, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		if (control_parse_row(line, &row) == 0) {
			if (strcmp(row.state, "locked out") == 0)
				locked++;
			else
				penalty++;
		}
	metric(t, "popgate_failed_logins_tracked", "gauge",
	       "Address and user name pairs with recent failed logins, by state (penalty, or the address locked out).");
	add(t, "popgate_failed_logins_tracked{state=\"penalty\"} %llu\n", penalty);
	add(t, "popgate_failed_logins_tracked{state=\"locked_out\"} %llu\n", locked);
}

/* block_metrics - accounts an admin has blocked, in force now. */
static void block_metrics(struct admin_ctx *ctx, struct text *t, time_t now)
{
	struct auth_blocks b;

	if (auth_blocks_load(ctx->cfg, &b, now) < 0)
		return;
	metric(t, "popgate_blocked_accounts", "gauge", "Accounts blocked by an admin, in force now.");
	add(t, "popgate_blocked_accounts %zu\n", b.n);
	auth_blocks_free(&b);
}

/* trouble_metrics - the counters an operator alerts on: stress, the next hop, TLS, workers, the database. */
static void trouble_metrics(struct text *t, const struct stats_counters *c)
{
	static const char *const hop[STATS_HOP_OUTCOMES] = { "accepted", "deferred", "failed" };
	static const char *const tls[STATS_TLS_KINDS] = { "error", "timeout" };

	metric(t, "popgate_stress_mode", "gauge",
	       "1 while a stress episode lasts (server.max_connections reached; smtp.stress_timeout in force).");
	add(t, "popgate_stress_mode %llu\n", (unsigned long long)c->stress_on);
	metric(t, "popgate_stress_episodes_total", "counter", "Stress episodes begun since start.");
	add(t, "popgate_stress_episodes_total %llu\n", (unsigned long long)c->stress_episodes);
	metric(t, "popgate_next_hop_handoffs_total", "counter",
	       "Messages handed to sendmail or the smarthost, by outcome (accepted: 250, deferred: 451, failed: 554).");
	for (int i = 0; i < STATS_HOP_OUTCOMES; i++)
		add(t, "popgate_next_hop_handoffs_total{outcome=\"%s\"} %llu\n", hop[i],
		    (unsigned long long)c->hop[i]);
	metric(t, "popgate_tls_handshake_failures_total", "counter",
	       "Server TLS handshakes that failed, by service and reason (error, or timeout: tls.handshake_timeout).");
	for (int s = 0; s < STATS_TLS_SERVICES; s++)
		for (int k = 0; k < STATS_TLS_KINDS; k++)
			add(t, "popgate_tls_handshake_failures_total{service=\"%s\",reason=\"%s\"} %llu\n",
			    stats_tls_service_name(s), tls[k], (unsigned long long)c->tls_failed[s][k]);
	metric(t, "popgate_worker_restarts_total", "counter", "Workers restarted by the master after they died.");
	for (int k = 0; k < STATS_WORKERS; k++)
		add(t, "popgate_worker_restarts_total{worker=\"%s\"} %llu\n", stats_worker_name(k),
		    (unsigned long long)c->worker_restarts[k]);
	metric(t, "popgate_relaydb_errors_total", "counter",
	       "Errors opening, reading or writing the relay database, by the process that met them.");
	add(t, "popgate_relaydb_errors_total{process=\"session\"} %llu\n", (unsigned long long)c->relaydb_errors[0]);
	for (int k = 0; k < STATS_WORKERS; k++)
		add(t, "popgate_relaydb_errors_total{process=\"%s\"} %llu\n", stats_worker_name(k),
		    (unsigned long long)c->relaydb_errors[1 + k]);
}

/*
 * export_map_metrics - seconds since relay.export_map's file last changed: absent when no map is
 * configured, -1 when it is but its file cannot be seen (not written yet, removed, unreadable).
 */
static void export_map_metrics(struct admin_ctx *ctx, struct text *t, time_t now)
{
	const char *map = conf(ctx->cfg)->relay.export_map;
	char path[PATH_MAX];
	struct stat st;
	long long age = -1;

	if (map[0] == '\0')
		return;
	if (snprintf(path, sizeof(path), "%s.db", map) < (int)sizeof(path) && stat(path, &st) == 0)
		age = now >= st.st_mtime ? (long long)(now - st.st_mtime) : 0;
	metric(t, "popgate_export_map_age_seconds", "gauge",
	       "Seconds since relay.export_map's file was last written; -1 when it cannot be seen.");
	add(t, "popgate_export_map_age_seconds %lld\n", age);
}

/* store_metrics - the PostgreSQL store as the lookup worker last saw it (relay.backend = postgresql only). */
static void store_metrics(struct admin_ctx *ctx, struct text *t)
{
	struct pg_store_status s;

	if (pg_store_status_read(ctx->cfg, &s) < 0)
		return;
	metric(t, "popgate_relay_store_up", "gauge", "Whether the lookup worker reaches the PostgreSQL store.");
	add(t, "popgate_relay_store_up %d\n", s.up ? 1 : 0);
	metric(t, "popgate_relay_store_queued", "gauge", "Logins queued locally while the store was unavailable.");
	add(t, "popgate_relay_store_queued %lu\n", s.queued);
	metric(t, "popgate_relay_store_last_query_seconds", "gauge", "Latency of the store's last query.");
	add(t, "popgate_relay_store_last_query_seconds %.6f\n", (double)s.last_us / 1e6);
	metric(t, "popgate_relay_store_query_seconds_total", "counter",
	       "Time the lookup worker's store queries took, summed since it started.");
	add(t, "popgate_relay_store_query_seconds_total %.6f\n", (double)s.total_us / 1e6);
	metric(t, "popgate_relay_store_queries_total", "counter", "Store queries the lookup worker made since it started.");
	add(t, "popgate_relay_store_queries_total %llu\n", s.queries);
}

void admin_api_metrics(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct stats_counters c;
	struct count_state rc;
	bool db_ok = relay_counts(ctx, call->now, &rc);
	struct text *t = calloc(1, sizeof(*t));

	if (snapshot(ctx, &c, NULL, 0) < 0) {
		free(t);
		return admin_reply_error(r, 503, COUNTERS_BUSY);
	}
	if (!t)
		return admin_reply_error(r, 500, "out of memory");
	metric(t, "popgate_build_info", "gauge", "Always 1; the version of popgate serving.");
	add(t, "popgate_build_info{version=\"%s\"} 1\n", POPGATE_VERSION);
	metric(t, "popgate_start_time_seconds", "gauge", "When the popgated master started, epoch seconds.");
	add(t, "popgate_start_time_seconds %lld\n", (long long)c.started);
	metric(t, "popgate_sessions_active", "gauge", "Connections being served now.");
	add(t, "popgate_sessions_active{service=\"all\"} %llu\n", (unsigned long long)c.sessions_active);
	add(t, "popgate_sessions_active{service=\"pop3\"} %llu\n", (unsigned long long)c.pop3_active);
	add(t, "popgate_sessions_active{service=\"smtp\"} %llu\n", (unsigned long long)c.smtp_active);
	metric(t, "popgate_sessions_total", "counter", "Connections served since start.");
	add(t, "popgate_sessions_total %llu\n", (unsigned long long)c.sessions_total);
	metric(t, "popgate_logins_total", "counter", "POP3 and SMTP logins since start, by result.");
	add(t, "popgate_logins_total{result=\"ok\"} %llu\n", (unsigned long long)c.logins_ok);
	add(t, "popgate_logins_total{result=\"failed\"} %llu\n", (unsigned long long)c.logins_failed);
	metric(t, "popgate_messages_total", "counter", "SMTP messages to be relayed, by decision.");
	add(t, "popgate_messages_total{result=\"relayed\"} %llu\n", (unsigned long long)c.msgs_relayed);
	add(t, "popgate_messages_total{result=\"denied\"} %llu\n", (unsigned long long)c.msgs_denied);
	metric(t, "popgate_connections_refused_total", "counter",
	       "Connections refused by a connection limit or a lockout.");
	add(t, "popgate_connections_refused_total %llu\n", (unsigned long long)c.refused_limit);
	metric(t, "popgate_relaydb_up", "gauge", "Whether the relay database could be read.");
	add(t, "popgate_relaydb_up %d\n", db_ok ? 1 : 0);
	if (db_ok) {
		metric(t, "popgate_relay_authorizations", "gauge",
		       "POP-before-SMTP authorizations in the database, by state.");
		add(t, "popgate_relay_authorizations{state=\"live\"} %llu\n", rc.live);
		add(t, "popgate_relay_authorizations{state=\"expired\"} %llu\n", rc.expired);
	}
	trouble_metrics(t, &c);
	export_map_metrics(ctx, t, call->now);
	lockout_metrics(ctx, t);
	block_metrics(ctx, t, call->now);
	metric(t, "popgate_admin_sessions", "gauge", "Helpdesk sessions logged in to the admin page.");
	add(t, "popgate_admin_sessions %zu\n", admin_sessions_count(&ctx->sessions, call->now));
	store_metrics(ctx, t);
	if (t->overflow) {
		free(t);
		return admin_reply_error(r, 500, "metrics too large");
	}
	admin_reply_free(r);
	r->body = malloc(t->len + 1);
	if (r->body) {
		memcpy(r->body, t->buf, t->len + 1);
		r->len = t->len;
	}
	free(t);
	r->status = r->body ? 200 : 500;
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	r->cache = "no-store";
}
