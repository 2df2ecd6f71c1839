/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_throttle.h - slow down password guessing on the admin login, per client address.
 *
 * A few mistakes are free (people mistype). From the ADMIN_THROTTLE_FREE-th failure in a row on,
 * each failure closes the door for a period that doubles, from ADMIN_THROTTLE_BASE seconds up to
 * ADMIN_THROTTLE_CAP; while it is closed every login from that address is answered 429, even
 * with the right password, so the answer tells a guesser nothing. The worker is single-threaded
 * and answers other clients meanwhile, so the delay is a refusal, not a sleep. A quiet address is
 * forgotten after ADMIN_THROTTLE_FORGET seconds; the table is fixed-size and reuses the stalest slot.
 */
#ifndef POPGATE_ADMIN_THROTTLE_H
#define POPGATE_ADMIN_THROTTLE_H

#include <time.h>

#include "common/cidr.h"

#define ADMIN_THROTTLE_SLOTS 256
#define ADMIN_THROTTLE_FREE 4
#define ADMIN_THROTTLE_BASE 5
#define ADMIN_THROTTLE_CAP 900
#define ADMIN_THROTTLE_FORGET 3600

struct admin_throttle_slot {
	char ip[IP_TEXT_MAX];   /* "" when free */
	unsigned failures;      /* in a row, since the last success */
	time_t last;            /* time of the latest failure */
	time_t until;           /* logins refused before this time */
};

struct admin_throttle {
	struct admin_throttle_slot s[ADMIN_THROTTLE_SLOTS];
};

/* admin_throttle_init - an empty table. */
void admin_throttle_init(struct admin_throttle *t);

/* admin_throttle_wait - seconds IP must still wait before a login is tried, 0 when it may. */
long admin_throttle_wait(struct admin_throttle *t, const char *ip, time_t now);

/* admin_throttle_fail - count a failed login from IP; returns the seconds it must now wait. */
long admin_throttle_fail(struct admin_throttle *t, const char *ip, time_t now);

/* admin_throttle_ok - a successful login from IP clears its record. */
void admin_throttle_ok(struct admin_throttle *t, const char *ip);

#endif
