/* admin_blocks.c - the admin API's blocked accounts: list, block (revoking its authorizations), lift. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_api.h"
#include "admin/admin_audit.h"
#include "auth/blocks.h"
#include "common/log.h"
#include "relaydb/relaydb.h"

/* Longest block an admin sets with a duration; longer is "for good" (no duration). */
#define ADMIN_BLOCK_MAX_SECONDS (366LL * 86400)

void admin_block_json(struct jw *w, const struct auth_block *b, time_t now)
{
	jw_obj_begin(w);
	jw_kstr(w, "user", b->user);
	jw_kint(w, "since", b->since);
	if (b->until == 0) {
		jw_key(w, "until");
		jw_null(w);
	} else {
		jw_kint(w, "until", b->until);
		jw_kint(w, "until_in", b->until - (int64_t)now);
	}
	jw_kbool(w, "permanent", b->until == 0);
	jw_kbool(w, "pop", b->pop);
	jw_kstr(w, "by", b->by);
	jw_kstr(w, "note", b->note);
	jw_obj_end(w);
}

void admin_api_blocks(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct auth_blocks b;
	struct jw w;

	if (auth_blocks_load(ctx->cfg, &b, call->now) < 0)
		return admin_reply_error(r, 503, "the blocks file cannot be read");
	jw_init(&w, ADMIN_JSON_MAX);
	jw_obj_begin(&w);
	jw_kint(&w, "now", call->now);
	jw_key(&w, "blocks");
	jw_arr_begin(&w);
	for (size_t i = 0; i < b.n; i++)
		admin_block_json(&w, &b.v[i], call->now);
	jw_arr_end(&w);
	jw_kuint(&w, "count", b.n);
	jw_obj_end(&w);
	auth_blocks_free(&b);
	admin_reply_json(r, 200, &w);
}

/* parse_duration - seconds from a number or "2h"; absent, null, 0 or "forever" mean for good (0). */
static int parse_duration(const struct json_field *f, long long *secs)
{
	const char *why;
	char *end;

	*secs = 0;
	if (!f || f->type == JSON_T_NULL || (f->type == JSON_T_STRING && strcmp(f->val, "forever") == 0))
		return 0;
	if (f->type == JSON_T_NUMBER) {
		*secs = strtoll(f->val, &end, 10);
		if (*end != '\0')
			return -1;
	} else if (f->type != JSON_T_STRING || cfg_parse_duration(f->val, secs, &why) < 0) {
		return -1;
	}
	return *secs >= 0 && *secs <= ADMIN_BLOCK_MAX_SECONDS ? 0 : -1;
}

/* block_from_json - the block the request asks for into B; NULL, or why it is refused. */
static const char *block_from_json(const struct json_flat *in, const struct admin_call *call, struct auth_block *b)
{
	const struct json_field *user = json_get(in, "user"), *pop = json_get(in, "pop");
	const struct json_field *note = json_get(in, "note");
	long long secs;

	memset(b, 0, sizeof(*b));
	if (!user || user->type != JSON_T_STRING || strlen(user->val) != user->len || !auth_name_valid(user->val))
		return "user must be a user name";
	if (parse_duration(json_get(in, "duration"), &secs) < 0)
		return "duration must be seconds or a duration like 2h, up to 366d; none for good";
	if (pop && pop->type != JSON_T_BOOL)
		return "pop must be true or false";
	if (note && (note->type != JSON_T_STRING || strlen(note->val) != note->len || !auth_block_note_ok(note->val)))
		return "note must be text of at most 255 bytes without control characters";
	snprintf(b->user, sizeof(b->user), "%s", user->val);
	snprintf(b->by, sizeof(b->by), "%s", call->session->user);
	snprintf(b->note, sizeof(b->note), "%s", note ? note->val : "");
	b->pop = pop && strcmp(pop->val, "true") == 0;
	b->since = call->now;
	b->until = secs > 0 ? (int64_t)call->now + secs : 0;
	return NULL;
}

/* revoke_relaying - take away what the account's logins authorized; how many, or -1. */
static long revoke_relaying(struct admin_ctx *ctx, const char *user, time_t now)
{
	struct relaydb *db = admin_ctx_db(ctx, now);
	long n = db ? relaydb_revoke_user(ctx->cfg, db, user, now) : -1;

	if (n < 0 && db)
		admin_ctx_db_failed(ctx, now);
	return n;
}

void admin_api_block_add(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	struct json_flat in;
	struct auth_block b;
	const char *why;
	char err[512], when[96], until[112];
	long revoked;
	struct jw w;

	if (json_parse_flat(call->body, call->body_len, &in, &why) < 0)
		return admin_reply_error(r, 400, why);
	if ((why = block_from_json(&in, call, &b)) != NULL)
		return admin_reply_error(r, 400, why);
	snprintf(until, sizeof(until), "until lifted");
	if (b.until != 0) {   /* absolute, as popgatectl writes it: the trail is read later */
		time_t t = (time_t)b.until;
		struct tm tm;
		if (localtime_r(&t, &tm) != NULL && strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) > 0)
			snprintf(until, sizeof(until), "until %s", when);
	}
	if (auth_block_set(ctx->cfg, &b, call->now, err, sizeof(err)) < 0) {
		log_err("admin: block %s: %s", b.user, err);
		return admin_reply_error(r, 503, "the block could not be saved");
	}
	revoked = revoke_relaying(ctx, b.user, call->now);
	log_session(LOG_NOTICE, "admin", call->client_ip, call->session->user, "account blocked",
		    "account=%s until=%lld pop=%s revoked=%ld note=%s", LOG_Q(b.user), (long long)b.until,
		    b.pop ? "yes" : "no", revoked, LOG_Q(b.note));
	(void)admin_audit_add(ctx->cfg, call->now, call->session->user, call->client_ip, "block",
			      "blocked %s %s%s, %ld authorization%s revoked%s%s", b.user, until, b.pop ? ", POP logins too" : "", revoked,
			      revoked == 1 ? "" : "s", b.note[0] != '\0' ? ": " : "", b.note);
	jw_init(&w, 8192);
	jw_obj_begin(&w);
	jw_key(&w, "block");
	admin_block_json(&w, &b, call->now);
	jw_kint(&w, "revoked", revoked);
	jw_obj_end(&w);
	admin_reply_json(r, revoked < 0 ? 202 : 201, &w);
}

void admin_api_block_del(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	char err[512];
	struct jw w;
	int rc;

	if (!auth_name_valid(call->arg))
		return admin_reply_error(r, 400, "not a user name");
	rc = auth_block_lift(ctx->cfg, call->arg, call->now, err, sizeof(err));
	if (rc < 0) {
		log_err("admin: unblock %s: %s", call->arg, err);
		return admin_reply_error(r, 503, "the blocks file could not be changed");
	}
	if (rc == 0)
		return admin_reply_error(r, 404, "this account is not blocked");
	log_session(LOG_NOTICE, "admin", call->client_ip, call->session->user, "account unblocked",
		    "account=%s", LOG_Q(call->arg));
	(void)admin_audit_add(ctx->cfg, call->now, call->session->user, call->client_ip, "unblock", "unblocked %s",
			      call->arg);
	jw_init(&w, 512);
	jw_obj_begin(&w);
	jw_kstr(&w, "unblocked", call->arg);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}
