/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.h - popgate's one monotonic clock. Deadlines, ages and idle times are counted on
 * CLOCK_MONOTONIC, which neither an administrator's date(1) nor NTP can step: a clock set back
 * would stretch every timeout, one set forward would end sessions at once.
 */
#ifndef POPGATE_CLOCK_H
#define POPGATE_CLOCK_H

#include <stdint.h>

/* mono_ms - CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);

/* mono_us - the same clock in microseconds, where a millisecond is too coarse (latencies, systemd). */
int64_t mono_us(void);

#endif
