/* throttle.h - failed logins per client address, for growing delays and temporary lockouts. */
#ifndef POPGATE_THROTTLE_H
#define POPGATE_THROTTLE_H

#include <stdbool.h>
#include <time.h>

#include "common/cidr.h"

struct throttle;

/* throttle_new - remember up to CAP addresses; the oldest is forgotten first. */
struct throttle *throttle_new(unsigned cap);
void throttle_free(struct throttle **t);

/* throttle_fail - count a failed login from IP at NOW. */
void throttle_fail(struct throttle *t, const struct ip_addr *ip, time_t now);

/* throttle_ok - a successful login from IP clears its count. */
void throttle_ok(struct throttle *t, const struct ip_addr *ip);

/* throttle_failures - recent failures of IP: they expire LOCKOUT seconds after the latest one. */
unsigned throttle_failures(struct throttle *t, const struct ip_addr *ip, time_t now, long long lockout);

#endif
