/* memtrim.c - an idle process gives back the stack and heap pages its busy moments dirtied. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "common/memtrim.h"

/*
 * Room kept under the caller's frame: what mem_trim, malloc_trim and a signal handler may use while
 * the pages below are given back. A page dropped is only zero-filled again on its next touch, so
 * a margin too small costs a fault, never correctness.
 */
#define MEM_STACK_MARGIN 4096

/*
 * stack_low - the lowest address of the main thread's stack mapping, from /proc/self/maps; 0 unknown.
 * Read at each trim: the mapping grows down with the deepest call, and only its own pages may be
 * given back (the range below it may hold other mappings).
 */
static uintptr_t stack_low(void)
{
	uintptr_t low = 0;
	char line[256];
	FILE *f;

	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (strstr(line, "[stack]") != NULL && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			low = (uintptr_t)lo;
			break;
		}
	}
	fclose(f);
	return low;
}

void mem_trim(void)
{
	volatile char here = 0;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t low = stack_low(), top;

	if (page <= 0 || low == 0)
		return;
	/* Said before the pages go: the line's own buffers are then on the stack that stays. */
	log_debug("idle: the stack below this wait and the heap's free pages given back");
	top = ((uintptr_t)&here - MEM_STACK_MARGIN) & ~((uintptr_t)page - 1);
	/* Below the frame nothing is live (this is the one thread): zero-filled again when touched. */
	if (top > low)
		(void)madvise((void *)low, top - low, MADV_DONTNEED);
	(void)malloc_trim(0);
}

int mem_idle_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	int first = timeout_ms >= 0 && timeout_ms < MEM_IDLE_MS ? timeout_ms : MEM_IDLE_MS;
	int r = poll(fds, n, first);

	if (r != 0 || first == timeout_ms)
		return r;
	mem_trim();
	return poll(fds, n, timeout_ms < 0 ? -1 : timeout_ms - first);
}

void mem_idle_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (mem_idle_poll(&p, 1, -1) < 0 && errno == EINTR)
		continue;
}
