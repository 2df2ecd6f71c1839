/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * throttle.h - failed logins per client address and user name: the penalty (a delay that grows
 * with each failure of one user from one address, as Dovecot's auth penalty) and the hard lockout
 * of an address past auth.max_failures failures of all its users together.
 */
#ifndef POPGATE_THROTTLE_H
#define POPGATE_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/cidr.h"
#include "common/session.h"

struct throttle;

/* One address and user name with failed logins. */
struct throttle_row {
	struct ip_addr ip;
	char user[SESSION_PENALTY_NAME];   /* the name the client tried, "" when it gave none */
	unsigned failures;
	time_t first, last;                /* first and latest failure */
};

/* throttle_new - remember up to CAP address and user pairs; the one idle longest goes first. */
struct throttle *throttle_new(unsigned cap);
void throttle_free(struct throttle **t);

/* throttle_fail - count a failed login of USER (may be NULL) from IP at NOW. */
void throttle_fail(struct throttle *t, const struct ip_addr *ip, const char *user, time_t now);

/* throttle_ok - USER logged in from IP: its failures there are forgotten (other users' stay). */
void throttle_ok(struct throttle *t, const struct ip_addr *ip, const char *user);

/* throttle_failures - recent failures from IP, all users: each pair's expire WINDOW seconds after its latest. */
unsigned throttle_failures(struct throttle *t, const struct ip_addr *ip, time_t now, long long window);

/* throttle_penalties - IP's users with recent failures into OUT (at most MAX), for a new session; how many. */
unsigned throttle_penalties(struct throttle *t, const struct ip_addr *ip, time_t now, long long window,
			    struct session_penalty *out, unsigned max);

/* throttle_list - every pair with recent failures into OUT (at most MAX), most failures first; how many. */
size_t throttle_list(struct throttle *t, time_t now, long long window, struct throttle_row *out, size_t max);

/* throttle_unlock - forget every failure from IP (an admin lifted its lockout); how many pairs. */
unsigned throttle_unlock(struct throttle *t, const struct ip_addr *ip);

#endif
