/* clock.c - CLOCK_MONOTONIC in milliseconds and microseconds, the one clock every deadline uses. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <time.h>

#include "common/clock.h"

/* mono_now - the clock's reading; CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
static struct timespec mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

int64_t mono_ms(void)
{
	struct timespec ts = mono_now();

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_us(void)
{
	struct timespec ts = mono_now();

	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
