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

#include <sys/socket.h>

#include "common/ipc.h"
#include "common/session_wire.h"
#include "common/stats.h"
#include "common/stats_report.h"
#include "master/tally.h"
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
	/*
	 * It gives up: its tries are bounded, each waiting a millisecond at most, about 0.1 s in all
	 * on an idle machine. A loaded one (2 vCPUs, both test builds and a compile) stretched that
	 * to 5 s once, so the bound only tells a loop that gives up from one that does not.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(stats_snapshot(s, &c, ev, STATS_EVENTS), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 30);
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

/* records - every report waiting on FD: how many, and the sum of their counts (0 read as 1). */
static unsigned records(int fd, uint64_t *sum, uint32_t *first_count, uint32_t *event)
{
	struct session_wire_report r;
	struct ipc_frame f;
	unsigned n = 0;

	*sum = 0;
	while (ipc_recv(fd, &r, sizeof(r), 0, IPC_NOW, &f) == 1) {
		ck_assert_uint_eq(f.type, IPC_SESSION_REPORT);
		ck_assert_uint_eq(f.len, sizeof(r));
		ck_assert_int_eq(r.session_pid, getpid());
		if (n++ == 0) {
			*first_count = r.count;
			*event = r.event;
		}
		*sum += r.count == 0 ? 1 : r.count;
	}
	return n;
}

START_TEST(relaydb_errors_reach_the_channel)
{
	struct session_ctx ctx = { .report_fd = -1, .login_fd = -1 };
	uint32_t first = 0, event = 0;
	uint64_t sum;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	stats_note_relaydb_error(); /* bound to nothing (popgatectl): counts nothing, costs nothing */
	ck_assert_uint_eq(records(sv[1], &sum, &first, &event), 0);
	/* A session: one record an error (the monitor's budget bounds a protocol child's). */
	ctx.report_fd = sv[0];
	ctx.session_pid = getpid();
	stats_report_session(&ctx);
	for (int i = 0; i < 5; i++)
		stats_note_relaydb_error();
	ck_assert_uint_eq(records(sv[1], &sum, &first, &event), 5);
	ck_assert_uint_eq(event, SESSION_RELAYDB_ERROR);
	ck_assert_uint_eq(first, 0);
	/* A worker: the first error at once, a burst after it in a record a second, none lost. */
	time_t t0 = time(NULL);
	stats_report_worker(sv[0]);
	for (int i = 0; i < 10000; i++)
		stats_note_relaydb_error();
	unsigned n = records(sv[1], &sum, &first, &event);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, 2 + (unsigned)(time(NULL) - t0));
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_le(sum, 10000);
	stats_report_worker(-1);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* report - a record of EVENT, as the master reads it. */
static struct session_wire_report report(uint32_t event, uint32_t count)
{
	struct session_wire_report r = { .event = event, .count = count };

	return r;
}

START_TEST(master_tallies_what_each_may_report)
{
	struct stats_writer *w = stats_create();
	const struct stats_shared *s;
	struct stats_counters c;
	struct session_wire_report r;

	ck_assert_ptr_nonnull(w);
	s = stats_attach(stats_fd());
	ck_assert_ptr_nonnull(s);
	r = report(SESSION_TLS_TIMEOUT, 0);
	ck_assert(tally_trouble(w, "smtps", -1, &r));
	r = report(SESSION_TLS_FAILED, 0);
	ck_assert(tally_trouble(w, "pop3", -1, &r));
	r = report(SESSION_HOP_DEFERRED, 0);
	ck_assert(tally_trouble(w, "smtp", -1, &r));
	ck_assert(tally_trouble(w, NULL, 2, &r)); /* a worker's hop report: taken, not believed */
	r = report(SESSION_HOP_FAILED, 0);
	ck_assert(tally_trouble(w, "smtp", -1, &r));
	r = report(SESSION_RELAYDB_ERROR, 4000000000u);
	ck_assert(tally_trouble(w, "pop3", -1, &r)); /* a session's count is not its to say */
	ck_assert(tally_trouble(w, NULL, 2, &r));    /* a worker's is, up to a bound */
	r = report(SESSION_RELAYDB_ERROR, 7);
	ck_assert(tally_trouble(w, NULL, 1, &r));
	ck_assert(tally_trouble(w, NULL, STATS_WORKERS, &r)); /* no such worker */
	r = report(SESSION_AUTH_OK, 0);
	ck_assert(!tally_trouble(w, "pop3", -1, &r));
	ck_assert_int_eq(stats_snapshot(s, &c, NULL, 0), 0);
	ck_assert_uint_eq(c.tls_failed[stats_tls_service("smtps")][STATS_TLS_TIMEOUT], 1);
	ck_assert_uint_eq(c.tls_failed[stats_tls_service("pop3")][STATS_TLS_ERROR], 1);
	ck_assert_uint_eq(c.tls_failed[stats_tls_service("pop3s")][STATS_TLS_ERROR], 0);
	ck_assert_uint_eq(c.hop[STATS_HOP_DEFERRED], 1);
	ck_assert_uint_eq(c.hop[STATS_HOP_FAILED], 1);
	ck_assert_uint_eq(c.relaydb_errors[0], 1);
	ck_assert_uint_eq(c.relaydb_errors[1 + 2], TALLY_COALESCED_MAX);
	ck_assert_uint_eq(c.relaydb_errors[1 + 1], 7);
	ck_assert_str_eq(stats_worker_name(2), "relay-lookup");
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
	tcase_add_test(tc, relaydb_errors_reach_the_channel);
	tcase_add_test(tc, master_tallies_what_each_may_report);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
