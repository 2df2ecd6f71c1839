/* check_memtrim.c - an idle process gives back the stack below its wait, and keeps what is above. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/memtrim.h"
#include "check_run.h"

/* The address of a page deep in the stack, dirtied by deep(); only asked about (mincore), never read. */
static uintptr_t deep_page;

/* deep - dirty 64 KiB of stack below the caller and remember an address near its bottom. */
static __attribute__((noinline)) void deep(void)
{
	volatile char buf[64 * 1024];

	memset((char *)buf, 0x5a, sizeof(buf));
	deep_page = (uintptr_t)&buf[0];
}

/* resident - whether the page holding P is in memory (mincore). */
static bool resident(uintptr_t p)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char vec = 0;
	void *start = (void *)(p & ~((uintptr_t)page - 1));

	ck_assert_int_eq(mincore(start, (size_t)page, &vec), 0);
	return (vec & 1) != 0;
}

START_TEST(trim_gives_back_the_stack_below_and_keeps_the_frame)
{
	char mine[256];

	memset(mine, 0x33, sizeof(mine));
	deep();
	ck_assert(resident(deep_page));
	mem_trim();
	ck_assert_msg(!resident(deep_page), "the page 64 KiB below the caller was not given back");
	for (size_t i = 0; i < sizeof(mine); i++)
		ck_assert_int_eq(mine[i], 0x33);
	deep(); /* given back pages come again, zero-filled, on their next touch */
	ck_assert(resident(deep_page));
}
END_TEST

START_TEST(input_waiting_gives_back_nothing)
{
	int sv[2];
	struct pollfd p;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	p = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	deep();
	ck_assert_int_eq(mem_idle_poll(&p, 1, -1), 1);
	ck_assert_msg(resident(deep_page), "a wait that did not idle gave memory back");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(an_idle_wait_gives_back_and_then_times_out)
{
	int sv[2];
	struct pollfd p;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	deep();
	/* Nothing comes: past MEM_IDLE_MS it gives back, and it still ends at its own timeout. */
	ck_assert_int_eq(mem_idle_poll(&p, 1, MEM_IDLE_MS + 100), 0);
	ck_assert(!resident(deep_page));
	/* A shorter wait than MEM_IDLE_MS is not idle. */
	deep();
	ck_assert_int_eq(mem_idle_poll(&p, 1, 10), 0);
	ck_assert(resident(deep_page));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *memtrim_suite(void)
{
	Suite *s = suite_create("memtrim");
	TCase *tc = tcase_create("trim");

	tcase_add_test(tc, trim_gives_back_the_stack_below_and_keeps_the_frame);
	tcase_add_test(tc, input_waiting_gives_back_nothing);
	tcase_add_test(tc, an_idle_wait_gives_back_and_then_times_out);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(memtrim_suite());
}
