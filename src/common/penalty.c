/* penalty.c - the auth penalty a session applies: a delay growing with one user's failures from one address. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/penalty.h"
#include "common/session.h"

/* find - USER's entry in the session's table, or NULL. */
static const struct session_penalty *find(const struct session_ctx *ctx, const char *user)
{
	for (unsigned i = 0; i < ctx->npenalties && i < SESSION_PENALTY_USERS; i++)
		if (strncmp(ctx->penalties[i].user, user, SESSION_PENALTY_NAME - 1) == 0)
			return &ctx->penalties[i];
	return NULL;
}

unsigned penalty_failures(const struct session_ctx *ctx, const char *user)
{
	const struct session_penalty *p = find(ctx, user != NULL ? user : "");

	return p != NULL ? p->failures : 0;
}

void penalty_count(struct session_ctx *ctx, const char *user)
{
	struct session_penalty *p = (struct session_penalty *)find(ctx, user != NULL ? user : "");

	if (p == NULL && ctx->npenalties < SESSION_PENALTY_USERS) {
		p = &ctx->penalties[ctx->npenalties++];
		snprintf(p->user, sizeof(p->user), "%s", user != NULL ? user : "");
		p->failures = 0;
	}
	if (p != NULL)
		p->failures++;
}

unsigned penalty_delay(const struct config *cfg, unsigned failures)
{
	long long max = conf(cfg)->auth.fail_delay_max;
	long long d = conf(cfg)->auth.fail_delay;

	for (unsigned i = 0; i < failures && d < max; i++)
		d *= 2;
	return (unsigned)(d > max ? max : d);
}
