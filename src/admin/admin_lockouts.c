/* admin_lockouts.c - GET /api/lockouts and DELETE /api/lockouts/IP: the master's penalties, through control.sock. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_api.h"
#include "admin/admin_audit.h"
#include "common/log.h"
#include "master/control.h"

/* The master answers at once; the page must not hang on a stopped one. */
#define ADMIN_CONTROL_TIMEOUT_MS 2000

static void row_json(struct jw *w, const struct control_row *r, time_t now)
{
	jw_obj_begin(w);
	jw_kstr(w, "ip", r->ip);
	jw_kstr(w, "user", r->user);
	jw_kuint(w, "failures", r->failures);
	jw_kint(w, "since", r->first);
	jw_kint(w, "last", r->last);
	jw_kint(w, "until", r->until);
	jw_kint(w, "until_in", r->until - (long long)now);
	jw_kstr(w, "state", r->state);
	jw_kuint(w, "delay", r->delay);
	jw_obj_end(w);
}

void admin_api_lockouts(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	static char reply[CONTROL_REPLY_MAX];
	char err[512], *line, *save = NULL;
	struct control_row row;
	struct jw w;

	if (control_request(ctx->cfg, "lockouts", reply, sizeof(reply), ADMIN_CONTROL_TIMEOUT_MS, err, sizeof(err)) < 0) {
		log_err("admin: lockouts: %s", err);
		return admin_reply_error(r, 503, "popgated did not answer; try again");
	}
	jw_init(&w, 256 * 1024);
	jw_obj_begin(&w);
	jw_kint(&w, "now", call->now);
	jw_kint(&w, "max_failures", conf(ctx->cfg)->auth.max_failures);
	jw_key(&w, "lockouts");
	jw_arr_begin(&w);
	line = strtok_r(reply, "\n", &save);   /* "ok N" */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		if (control_parse_row(line, &row) == 0)
			row_json(&w, &row, call->now);
	jw_arr_end(&w);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}

void admin_api_unlock(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	char ip[IP_TEXT_MAX], req[CONTROL_REQUEST_MAX], reply[64], err[512];
	unsigned long n;
	struct jw w;

	if (ip_canonical(call->arg, ip) < 0)
		return admin_reply_error(r, 400, "not an IP address");
	snprintf(req, sizeof(req), "unlock %s", ip);
	if (control_request(ctx->cfg, req, reply, sizeof(reply), ADMIN_CONTROL_TIMEOUT_MS, err, sizeof(err)) < 0) {
		log_err("admin: unlock %s: %s", ip, err);
		return admin_reply_error(r, 503, "popgated did not answer; try again");
	}
	n = strtoul(reply + 2, NULL, 10);
	if (n == 0)
		return admin_reply_error(r, 404, "no failed logins recorded for this address");
	log_session(LOG_NOTICE, "admin", call->client_ip, call->session->user, "unlocked", "ip=%s users=%lu", ip, n);
	(void)admin_audit_add(ctx->cfg, call->now, call->session->user, call->client_ip, "unlock",
			      "unlocked %s (failed logins forgotten for %lu user name%s)", ip, n, n == 1 ? "" : "s");
	jw_init(&w, 512);
	jw_obj_begin(&w);
	jw_kstr(&w, "unlocked", ip);
	jw_kuint(&w, "cleared", n);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}
