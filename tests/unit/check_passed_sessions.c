/* check_passed_sessions.c - sessions a reused monitor passes on: the master's tables and the monitor's watch. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cidr.h"
#include "master/children.h"
#include "master/pool.h"
#include "master/services.h"
#include "privsep/monitor_watch.h"
#include "check_run.h"

static const struct service pop3 = { .name = "pop3", .family = "pop3" };

static void add(struct children *c, pid_t pid, const char *ip_text)
{
	char text[IP_TEXT_MAX] = { 0 }; /* children_add takes a whole buffer, as the master's callers have */
	struct ip_addr ip;

	snprintf(text, sizeof(text), "%s", ip_text);
	ck_assert_int_eq(ip_parse(text, &ip), 0);
	ck_assert_int_eq(children_add(c, pid, &ip, text, "sid", &pop3), 0);
}

START_TEST(a_passed_session_is_known_by_its_process_and_its_monitor)
{
	struct children *c = children_new(4);
	struct child out;
	struct ip_addr ip;

	add(c, 100, "192.0.2.1");
	ck_assert(children_pass(c, 100, 200));
	ck_assert_ptr_null(children_find(c, 100)); /* the monitor is free for another */
	ck_assert_ptr_null(children_find(c, 200)); /* nor is it the master's own session 200 */
	ck_assert(children_has_group(c, 100));
	ck_assert(!children_pass(c, 100, 300)); /* nothing left to pass */
	/* Still counted: the limits and the address's. */
	ck_assert_uint_eq(children_serving(c), 1);
	ck_assert_int_eq(ip_parse("192.0.2.1", &ip), 0);
	ck_assert_uint_eq(children_count_ip(c, &ip), 1);
	/* Its end counts only from the monitor that passed it. */
	ck_assert(!children_remove_passed(c, 101, 200, &out));
	ck_assert(children_remove_passed(c, 100, 200, &out));
	ck_assert_int_eq(out.pid, 200);
	ck_assert_uint_eq(children_count(c), 0);
	children_free(&c);
}
END_TEST

START_TEST(a_pid_already_passed_to_cannot_be_passed_to)
{
	struct children *c = children_new(4);

	add(c, 100, "192.0.2.1");
	add(c, 101, "192.0.2.2");
	ck_assert(children_pass(c, 101, 200));
	ck_assert(!children_pass(c, 100, 200));
	ck_assert(!children_pass(c, 100, 0));
	ck_assert(!children_pass(c, 102, 300)); /* no session there */
	ck_assert_int_eq(children_find(c, 100)->pid, 100);
	children_free(&c);
}
END_TEST

START_TEST(a_monitors_end_takes_its_passed_sessions_alone)
{
	struct children *c = children_new(4);
	struct child out;
	int n = 0;

	add(c, 100, "192.0.2.1");
	ck_assert(children_pass(c, 100, 200));
	add(c, 100, "192.0.2.2"); /* the monitor's next connection */
	ck_assert(children_pass(c, 100, 201));
	add(c, 100, "192.0.2.3");
	add(c, 110, "192.0.2.4");
	ck_assert(children_pass(c, 110, 210));
	while (children_remove_group(c, 100, &out)) {
		ck_assert(out.pid == 200 || out.pid == 201);
		n++;
	}
	ck_assert_int_eq(n, 2);
	/* Its current session is its own pid's, reaped as before; another monitor's stays. */
	ck_assert(children_remove(c, 100, &out));
	ck_assert(!children_has_group(c, 100));
	ck_assert(children_has_group(c, 110));
	ck_assert_uint_eq(children_count(c), 1);
	children_free(&c);
}
END_TEST

START_TEST(make_room_never_chooses_a_passed_session)
{
	struct children *c = children_new(4);
	struct child out;

	add(c, 100, "192.0.2.1"); /* older, but logged in and passed on */
	ck_assert(children_pass(c, 100, 200));
	add(c, 100, "192.0.2.2");
	ck_assert(children_evict(c, NULL, NULL, &out));
	ck_assert_int_eq(out.pid, 100);
	ck_assert(!children_evict(c, NULL, NULL, &out));
	ck_assert_uint_eq(children_serving(c), 1);
	children_free(&c);
}
END_TEST

/* spare_100 - a make_room that must leave session 100 alone. */
static bool spare_100(void *arg, const struct child *ch)
{
	(void)arg;
	return ch->pid == 100;
}

/* fork_sleeper - a child of this process that waits to be killed. */
static pid_t fork_sleeper(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

START_TEST(a_pairs_child_is_killed_only_when_it_is_the_monitors)
{
	struct pool p = { 0 };
	pid_t me = getpid(), child = fork_sleeper();
	int status;

	/* This test process plays the monitor: the member's pid is ours, its children ours. */
	ck_assert_int_eq(pool_add(&p, me, -1, &pop3), 0);
	ck_assert(!pool_child_killable(&p, me)); /* none named yet */
	pool_set_child(&p, me, getppid());        /* a lie: our parent is not our child */
	ck_assert(!pool_child_killable(&p, me));
	ck_assert(!pool_kill_child(&p, me));
	pool_set_child(&p, me, child);
	ck_assert(pool_child_killable(&p, me));
	pool_set_child(&p, me, 0); /* forking the next: none */
	ck_assert(!pool_kill_child(&p, me));
	pool_set_child(&p, me, child);
	ck_assert(pool_kill_child(&p, me));
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Reaped: whoever takes its pid is not our child, and is not killed. */
	ck_assert(!pool_child_killable(&p, me));
	pool_free(&p);
}
END_TEST

START_TEST(a_session_make_room_must_spare_is_passed_over)
{
	struct children *c = children_new(4);
	struct child out;

	add(c, 100, "192.0.2.1");
	add(c, 101, "192.0.2.2");
	ck_assert(children_evict(c, spare_100, NULL, &out));
	ck_assert_int_eq(out.pid, 101);
	ck_assert(!children_evict(c, spare_100, NULL, &out));
	children_free(&c);
}
END_TEST

START_TEST(a_pid_named_falsely_never_stands_for_that_pids_own_session)
{
	struct children *c = children_new(4);
	struct child out;

	add(c, 100, "192.0.2.1");
	ck_assert(children_pass(c, 100, 300)); /* a monitor names 300, which is not its process */
	add(c, 300, "192.0.2.2");              /* the master's own session 300 */
	ck_assert_str_eq(children_find(c, 300)->ip_text, "192.0.2.2");
	ck_assert(children_remove(c, 300, &out)); /* 300 reaped: its own session goes, not the named one */
	ck_assert_str_eq(out.ip_text, "192.0.2.2");
	ck_assert_ptr_null(children_find(c, 300));
	ck_assert(children_remove_passed(c, 100, 300, &out));
	ck_assert_str_eq(out.ip_text, "192.0.2.1");
	children_free(&c);
}
END_TEST

/* A watch over one socket pair's reading end, counting what it is asked. */
static int watched = -1, readies, expires, due = -1;

static int fill(struct pollfd *fds)
{
	if (watched < 0)
		return 0;
	fds[0] = (struct pollfd){ .fd = watched, .events = POLLIN };
	return 1;
}

static void ready(const struct pollfd *fds, int n)
{
	char b;

	ck_assert_int_eq(n, 1);
	if (fds[0].revents != 0) {
		ck_assert_int_eq(read(watched, &b, 1), 1);
		readies++;
		watched = -1; /* heard: no longer watched */
	}
}

static int due_ms(void)
{
	return due;
}

static void expire(void)
{
	expires++;
	due = -1;
}

static const struct monitor_watch counting = { .fill = fill, .ready = ready, .due_ms = due_ms, .expire = expire };

START_TEST(a_wait_hears_the_watch_before_it_returns)
{
	int w[2], d[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, w), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, d), 0);
	monitor_watch_set(&counting);
	watched = w[0];
	readies = expires = 0;
	due = 0;
	ck_assert(monitor_watching());
	/* The watched end is ready, the awaited one is too: both served, in one wait. */
	ck_assert_int_eq(write(w[1], "x", 1), 1);
	ck_assert_int_eq(write(d[1], "y", 1), 1);
	monitor_wait(d[0], false);
	ck_assert_int_eq(readies, 1);
	ck_assert_int_eq(expires, 1);
	ck_assert(!monitor_watching());
	/* With nothing watched, a wait for -1 (the pair's end) returns at once. */
	monitor_wait(-1, true);
	monitor_watch_set(NULL);
	close(w[0]);
	close(w[1]);
	close(d[0]);
	close(d[1]);
}
END_TEST

START_TEST(a_drain_waits_for_the_last_watched_end)
{
	int w[2];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, w), 0);
	monitor_watch_set(&counting);
	watched = w[0];
	readies = 0;
	due = -1;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		usleep(100 * 1000); /* the drain must wait for this, however long */
		_exit(write(w[1], "z", 1) == 1 ? 0 : 1);
	}
	monitor_wait(-1, true);
	ck_assert_int_eq(readies, 1);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	monitor_watch_set(NULL);
	close(w[0]);
	close(w[1]);
}
END_TEST

static Suite *passed_suite(void)
{
	Suite *s = suite_create("passed sessions");
	TCase *tables = tcase_create("the master's tables");
	TCase *watch = tcase_create("the monitor's watch");

	tcase_add_test(tables, a_passed_session_is_known_by_its_process_and_its_monitor);
	tcase_add_test(tables, a_pid_already_passed_to_cannot_be_passed_to);
	tcase_add_test(tables, a_monitors_end_takes_its_passed_sessions_alone);
	tcase_add_test(tables, make_room_never_chooses_a_passed_session);
	tcase_add_test(tables, a_pairs_child_is_killed_only_when_it_is_the_monitors);
	tcase_add_test(tables, a_session_make_room_must_spare_is_passed_over);
	tcase_add_test(tables, a_pid_named_falsely_never_stands_for_that_pids_own_session);
	tcase_add_test(watch, a_wait_hears_the_watch_before_it_returns);
	tcase_add_test(watch, a_drain_waits_for_the_last_watched_end);
	suite_add_tcase(s, tables);
	suite_add_tcase(s, watch);
	return s;
}

int main(void)
{
	return check_run(passed_suite());
}
