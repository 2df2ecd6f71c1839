/* check_stats.c - unit tests of the master's counters page: who may write it, and a corrupted page. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/stats.h"
#include "check_run.h"

/* writable_page - this process's writable mapping of the page, found as a test would from outside. */
static volatile uint32_t *writable_page(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long start = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "popgate-stats") != NULL && strstr(line, " rw-s ") != NULL)
			sscanf(line, "%lx-", &start);
	fclose(f);
	ck_assert_uint_ne(start, 0);
	return (volatile uint32_t *)start;
}

START_TEST(snapshot_newest_first)
{
	struct stats_writer *w = stats_create();
	const struct stats_shared *s;
	struct stats_counters c;
	struct stats_event ev[4];

	ck_assert_ptr_nonnull(w);
	s = stats_attach(stats_fd());
	ck_assert_ptr_nonnull(s);
	stats_begin(w);
	stats_counters_mut(w)->logins_ok = 5;
	stats_end(w);
	for (int i = 0; i < STATS_EVENTS + 3; i++) {
		char user[16];
		snprintf(user, sizeof(user), "u%d", i);
		stats_add_event(w, "pop3", "192.0.2.1", user, "login ok");
	}
	ck_assert_int_eq(stats_snapshot(s, &c, ev, 4), 4);
	ck_assert_uint_eq(c.logins_ok, 5);
	ck_assert_str_eq(ev[0].user, "u130");
	ck_assert_str_eq(ev[3].user, "u127");
	stats_free(&w);
}
END_TEST

START_TEST(nobody_else_can_write)
{
	struct stats_writer *w = stats_create();
	char path[64];
	void *p;
	int fd;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(fcntl(stats_fd(), F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, stats_fd(), 0), MAP_FAILED);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, stats_fd(), 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(mprotect(p, 4096, PROT_READ | PROT_WRITE), -1);
	munmap(p, 4096);
	/* Reopened for writing through /proc (same uid): the seals still refuse. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", stats_fd());
	fd = open(path, O_RDWR);
	if (fd >= 0) {
		ck_assert_int_eq(write(fd, "x", 1), -1);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_ptr_eq(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
		ck_assert_int_eq(ftruncate(fd, 0), -1);
		close(fd);
	}
	stats_free(&w);
}
END_TEST

START_TEST(children_do_not_inherit_the_mapping)
{
	struct stats_writer *w = stats_create();
	volatile uint32_t *page;
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(w);
	page = writable_page();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* not the sanitizers' report: die of it */
		page[0] = 1; /* not mapped here: SIGSEGV */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "a child wrote the master's page");
	stats_free(&w);
}
END_TEST

START_TEST(corrupted_page_neither_hangs_nor_steers)
{
	struct stats_writer *w = stats_create();
	const struct stats_shared *s;
	struct stats_counters c;
	struct stats_event ev[STATS_EVENTS];
	volatile uint32_t *page;
	struct timespec t0, t1;

	ck_assert_ptr_nonnull(w);
	s = stats_attach(stats_fd());
	page = writable_page();
	page[0] |= 1;                /* seq odd for good */
	page[2] = 0x7ffffff0;        /* next */
	page[3] = 0xffffffff;        /* count */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(stats_snapshot(s, &c, ev, STATS_EVENTS), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
	/* The writer's own indices: in bounds, and the page is right again after its update. */
	stats_begin(w);
	stats_counters_mut(w)->logins_failed++;
	stats_end(w);
	stats_add_event(w, "pop3", "192.0.2.9", "bob", "login failed");
	ck_assert_int_eq(stats_snapshot(s, &c, ev, STATS_EVENTS), 1);
	ck_assert_uint_eq(c.logins_failed, 1);
	ck_assert_str_eq(ev[0].user, "bob");
	/* Indices corrupted between updates: the reader keeps within the ring. */
	page[2] = 0x7ffffff0;
	page[3] = 0xffffffff;
	ck_assert_int_eq(stats_snapshot(s, &c, ev, STATS_EVENTS), STATS_EVENTS);
	stats_free(&w);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("page");

	tcase_add_test(tc, snapshot_newest_first);
	tcase_add_test(tc, nobody_else_can_write);
	tcase_add_test(tc, children_do_not_inherit_the_mapping);
	tcase_add_test(tc, corrupted_page_neither_hangs_nor_steers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
