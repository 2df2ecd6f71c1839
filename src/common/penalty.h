/* penalty.h - what a session knows of failed logins from its client: per user name, for the growing delay. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PENALTY_H
#define POPGATE_PENALTY_H

/* User names a session learns failures of at fork; a client trying more names than this gets the base delay for the rest. */
#define SESSION_PENALTY_USERS 8

/* Longest user name kept (as the master's session reports carry them). */
#define SESSION_PENALTY_NAME 64

/* One user name tried from the client's address, and its recent failures there. */
struct session_penalty {
	char user[SESSION_PENALTY_NAME];
	unsigned failures;
};

struct session_ctx;
struct config;

/* penalty_failures - recent failed logins of USER from the session's client (the master's count at fork plus this session's). */
unsigned penalty_failures(const struct session_ctx *ctx, const char *user);

/* penalty_count - one more failure of USER in this session. */
void penalty_count(struct session_ctx *ctx, const char *user);

/*
 * penalty_delay - seconds a failed login waits before its answer when its user already had
 * FAILURES from that address: auth.fail_delay, doubled for each, up to auth.fail_delay_max.
 */
unsigned penalty_delay(const struct config *cfg, unsigned failures);

#endif
