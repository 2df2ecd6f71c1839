/* admin_throttle.c - per-address refusal periods after repeated failed admin logins. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "admin/admin_throttle.h"

void admin_throttle_init(struct admin_throttle *t)
{
	memset(t, 0, sizeof(*t));
}

static struct admin_throttle_slot *lookup(struct admin_throttle *t, const char *ip, time_t now)
{
	for (size_t i = 0; i < ADMIN_THROTTLE_SLOTS; i++) {
		struct admin_throttle_slot *s = &t->s[i];
		if (s->ip[0] == '\0')
			continue;
		if (now - s->last >= ADMIN_THROTTLE_FORGET && now >= s->until) {
			memset(s, 0, sizeof(*s));
			continue;
		}
		if (strcmp(s->ip, ip) == 0)
			return s;
	}
	return NULL;
}

long admin_throttle_wait(struct admin_throttle *t, const char *ip, time_t now)
{
	struct admin_throttle_slot *s = lookup(t, ip, now);

	return (s && s->until > now) ? (long)(s->until - now) : 0;
}

/* claim - a free slot for IP, or the one whose latest failure is oldest. */
static struct admin_throttle_slot *claim(struct admin_throttle *t, const char *ip)
{
	struct admin_throttle_slot *victim = &t->s[0];
	size_t n = strlen(ip);

	for (size_t i = 0; i < ADMIN_THROTTLE_SLOTS; i++) {
		if (t->s[i].ip[0] == '\0') {
			victim = &t->s[i];
			break;
		}
		if (t->s[i].last < victim->last)
			victim = &t->s[i];
	}
	memset(victim, 0, sizeof(*victim));
	if (n >= sizeof(victim->ip))
		n = sizeof(victim->ip) - 1;
	memcpy(victim->ip, ip, n);
	return victim;
}

long admin_throttle_fail(struct admin_throttle *t, const char *ip, time_t now)
{
	struct admin_throttle_slot *s = lookup(t, ip, now);
	long delay = 0;

	if (!s)
		s = claim(t, ip);
	if (s->failures < 1000)
		s->failures++;
	s->last = now;
	if (s->failures >= ADMIN_THROTTLE_FREE) {
		unsigned shift = s->failures - ADMIN_THROTTLE_FREE;
		delay = ADMIN_THROTTLE_CAP;
		if (shift < 16 && ((long)ADMIN_THROTTLE_BASE << shift) < ADMIN_THROTTLE_CAP)
			delay = (long)ADMIN_THROTTLE_BASE << shift;
		s->until = now + delay;
	}
	return delay;
}

void admin_throttle_ok(struct admin_throttle *t, const char *ip)
{
	for (size_t i = 0; i < ADMIN_THROTTLE_SLOTS; i++)
		if (t->s[i].ip[0] != '\0' && strcmp(t->s[i].ip, ip) == 0)
			memset(&t->s[i], 0, sizeof(t->s[i]));
}
