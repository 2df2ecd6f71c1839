/* admin_check.c - GET /api/check: "why can't I send?" for an address and/or a user, in the same words as popgatectl check. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "admin/admin_api.h"
#include "auth/blocks.h"
#include "common/log.h"
#include "master/control.h"
#include "relaydb/explain.h"

/* latest - the newest of EV[0..N) (newest first) that is one of WHAT and concerns IP or USER. */
static void latest(const struct stats_event *ev, size_t n, const char *const *what, const char *ip,
		   const char *user, struct relay_explain_seen *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		bool kind = false;
		for (const char *const *w = what; *w != NULL; w++)
			kind = kind || strcmp(ev[i].what, *w) == 0;
		if (!kind || !((ip[0] != '\0' && strcmp(ev[i].ip, ip) == 0) ||
			       (user[0] != '\0' && strcmp(ev[i].user, user) == 0)))
			continue;
		out->time = ev[i].time;
		snprintf(out->proto, sizeof(out->proto), "%.15s", ev[i].proto);
		snprintf(out->ip, sizeof(out->ip), "%s", ev[i].ip);
		snprintf(out->user, sizeof(out->user), "%.63s", ev[i].user);
		snprintf(out->what, sizeof(out->what), "%.47s", ev[i].what);
		return;
	}
}

static void emit_json(const char *line, void *arg)
{
	jw_str(arg, line);
}

/* seen_json - KEY: the event, or null when none was seen. */
static void seen_json(struct jw *w, const char *key, const struct relay_explain_seen *s)
{
	jw_key(w, key);
	if (s->time == 0)
		return jw_null(w);
	jw_obj_begin(w);
	jw_kint(w, "time", s->time);
	jw_kstr(w, "what", s->what);
	jw_kstr(w, "proto", s->proto);
	jw_kstr(w, "proto_words", relay_proto_words(s->proto));
	jw_kstr(w, "ip", s->ip);
	jw_kstr(w, "user", s->user);
	jw_obj_end(w);
}

/* entry_json - the authorization, null when there is none. */
static void entry_json(struct jw *w, const struct relay_explain *x, time_t now)
{
	jw_key(w, "authorization");
	if (x->found != 1)
		return jw_null(w);
	jw_obj_begin(w);
	jw_kstr(w, "user", x->entry.user);
	jw_kstr(w, "proto", x->entry.proto);
	jw_kstr(w, "proto_words", relay_proto_words(x->entry.proto));
	jw_kint(w, "since", x->entry.first);
	jw_kint(w, "last", x->entry.last);
	jw_kint(w, "expires", x->entry.expires);
	jw_kbool(w, "expired", relay_entry_expired(&x->entry, now, x->timeout));
	jw_obj_end(w);
}

/* check_json - the reply: the verdict, its parts as fields, and the same lines popgatectl prints. */
static void check_json(struct jw *w, const struct config *cfg, const struct relay_explain *x, const struct relay_explain_seen *login,
		       const struct relay_explain_seen *attempt, time_t now)
{
	jw_obj_begin(w);
	jw_kint(w, "now", now);
	jw_kstr(w, "ip", x->ip[0] != '\0' ? x->ip : NULL);
	jw_kstr(w, "user", x->user[0] != '\0' ? x->user : NULL);
	if (x->ip[0] != '\0') {
		jw_kbool(w, "allowed", relay_allowed(x->reason));
		jw_kstr(w, "decision", relay_reason_text(x->reason));
		jw_kstr(w, "deny_list", x->deny_net[0] != '\0' ? x->deny_net : NULL);
		jw_kstr(w, "allow_list", x->allow_net[0] != '\0' ? x->allow_net : NULL);
		entry_json(w, x, now);
	}
	jw_key(w, "block");
	if (x->blocked == 1)
		admin_block_json(w, &x->block, now);
	else
		jw_null(w);
	seen_json(w, "last_login", login);
	seen_json(w, "last_relay_attempt", attempt);
	jw_key(w, "lines");
	jw_arr_begin(w);
	relay_explain_lines(x, now, emit_json, w);
	control_lockout_lines(cfg, x->ip, x->by_user ? x->user : NULL, now, emit_json, w);
	relay_explain_seen_lines(x, login, attempt, now, emit_json, w);
	jw_arr_end(w);
	jw_obj_end(w);
}

void admin_api_check(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	static const char *const logins[] = { "login ok", "login failed", NULL };
	static const char *const attempts[] = { "relayed", "relay denied", NULL };
	struct stats_event ev[STATS_EVENTS];
	struct stats_counters c;
	struct relay_explain_seen login, attempt;
	struct relay_explain x;
	const char *ip = call->ip_arg, *user = call->user_arg;
	ssize_t n = 0;
	struct jw w;

	if ((ip == NULL || ip[0] == '\0') && (user == NULL || user[0] == '\0'))
		return admin_reply_error(r, 400, "give ip=ADDRESS, user=NAME or both");
	if (relay_explain(ctx->cfg, admin_ctx_db(ctx, call->now), ip, user, call->now, &x) < 0)
		return admin_reply_error(r, 400, "ip must be an address and user a user name");
	if (ctx->stats != NULL && (n = stats_snapshot(ctx->stats, &c, ev, STATS_EVENTS)) < 0)
		n = 0;   /* the lines then say none was seen among the latest events */
	latest(ev, (size_t)n, logins, x.ip, x.user, &login);
	latest(ev, (size_t)n, attempts, x.ip, x.user, &attempt);
	jw_init(&w, 64 * 1024);
	check_json(&w, ctx->cfg, &x, &login, &attempt, call->now);
	admin_reply_json(r, 200, &w);
}
