/* bench_time.h - the small timing helpers the C benchmark tools share: a microsecond clock, a sort order. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_BENCH_TIME_H
#define POPGATE_BENCH_TIME_H

#include <time.h>

/* bench_now_us - CLOCK_MONOTONIC in microseconds, as a double for latency arithmetic. */
static inline double bench_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* bench_cmp_double - qsort's order for doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
