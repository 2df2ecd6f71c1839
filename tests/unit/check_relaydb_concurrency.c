/* check_relaydb_concurrency.c - many processes refreshing and checking at once; kill -9 mid-write. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relaydb/relaydb.h"
#include "relaydb/relaydb_int.h"
#include "relaydb_fixture.h"
#include "check_run.h"

#define NPROC 6
#define ITER 300
#define SHARED_IP "192.0.2.1"

static struct relaydb *open_db(const struct config *cfg)
{
	struct relaydb *db = NULL;
	char err[512];

	if (relaydb_open(cfg, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return NULL;
	}
	return db;
}

/* refresher - one worker: refresh the shared and its own address, check both, sweep now and then. */
static int refresher(const struct config *cfg, int id)
{
	struct relaydb *db = open_db(cfg);
	char own[IP_TEXT_MAX];
	time_t now = time(NULL);
	int bad = 0;

	if (db == NULL)
		return 2;
	snprintf(own, sizeof(own), "10.0.%d.1", id);
	for (int i = 0; i < ITER; i++) {
		if (relaydb_authorize(db, SHARED_IP, "shared", "pop3", 600, now) < 0 ||
		    relaydb_authorize(db, own, "own", "pop3", 600, now) < 0)
			bad++;
		if (relay_check_ip(cfg, db, SHARED_IP, now, NULL) != RELAY_AUTHORIZED ||
		    relay_check_ip(cfg, db, own, now, NULL) != RELAY_AUTHORIZED)
			bad++;
		if (i % 50 == 0 && relaydb_sweep(db, now - 1, 1800) < 0)
			bad++;
	}
	relaydb_close(&db);
	return bad == 0 ? 0 : 1;
}

START_TEST(concurrent_refresh_and_check_lose_nothing)
{
	struct config *cfg = fx_config("allow =\n");
	struct relaydb *db;
	struct relay_entry e;
	pid_t pids[NPROC];
	char own[IP_TEXT_MAX];
	int status;

	for (int p = 0; p < NPROC; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0)
			_exit(refresher(cfg, p));
	}
	for (int p = 0; p < NPROC; p++) {
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d failed (%d)", p, status);
	}
	ck_assert_ptr_nonnull(db = open_db(cfg));
	/* Every refresh of the shared record counted: no lost update under contention. */
	ck_assert_int_eq(relaydb_get(db, SHARED_IP, &e), 1);
	ck_assert_uint_eq(e.logins, NPROC * ITER);
	for (int p = 0; p < NPROC; p++) {
		snprintf(own, sizeof(own), "10.0.%d.1", p);
		ck_assert_int_eq(relaydb_get(db, own, &e), 1);
		ck_assert_uint_eq(e.logins, ITER);
	}
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

/* writer - refresh its own address forever, reporting each committed login count on FD. */
static void writer(const struct config *cfg, int id, int fd)
{
	struct relaydb *db = open_db(cfg);
	struct relay_entry e;
	char own[IP_TEXT_MAX], other[IP_TEXT_MAX];
	unsigned seed = (unsigned)getpid();

	if (db == NULL)
		_exit(2);
	snprintf(own, sizeof(own), "10.1.0.%d", id);
	for (;;) {
		snprintf(other, sizeof(other), "10.2.%d.%d", rand_r(&seed) % 40, rand_r(&seed) % 250);
		relaydb_authorize(db, other, "noise", "pop3", 600, time(NULL));
		if (relaydb_authorize(db, own, "writer", "pop3", 600, time(NULL)) == 0 &&
		    relaydb_get(db, own, &e) == 1) {
			uint32_t n = e.logins;

			if (write(fd, &n, sizeof(n)) != sizeof(n))
				_exit(3);
		}
	}
}

/* last_count - the last complete count a writer reported before it died. */
static uint32_t last_count(int fd)
{
	uint32_t buf[256], last = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (n >= (ssize_t)sizeof(uint32_t))
			last = buf[n / sizeof(uint32_t) - 1];
	return last;
}

/* crash_round - start writers, let them write, kill -9 them all; record the last committed counts. */
static void crash_round(const struct config *cfg, int round, uint32_t committed[3])
{
	pid_t pids[3];
	int fds[3][2];
	struct timespec pause = { 0, (40 + round * 37 % 120) * 1000000L };

	for (int w = 0; w < 3; w++) {
		ck_assert_int_eq(pipe(fds[w]), 0);
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			close(fds[w][0]);
			writer(cfg, w, fds[w][1]);
		}
		close(fds[w][1]);
	}
	/*
	 * Each writer's first commit before the pause: on a loaded machine a fixed pause alone could
	 * end before a writer opened the environment, and the test would prove nothing of it.
	 */
	for (int w = 0; w < 3; w++) {
		uint32_t first = 0;

		ck_assert_int_eq(read(fds[w][0], &first, sizeof(first)), (ssize_t)sizeof(first));
		if (first > committed[w])
			committed[w] = first;
	}
	nanosleep(&pause, NULL);
	for (int w = 0; w < 3; w++)
		kill(pids[w], SIGKILL);
	for (int w = 0; w < 3; w++) {
		int status;

		ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
		ck_assert(WIFSIGNALED(status));
		uint32_t n = last_count(fds[w][0]);
		if (n > committed[w])
			committed[w] = n;
		close(fds[w][0]);
	}
}

/* verify_file - Berkeley DB's own structural check of the btree, outside any environment. */
static void verify_file(void)
{
	char path[256];
	DB *v;

	tl_pathbuf(path, sizeof(path), fx_dir, "relay/" RELAYDB_FILE);
	ck_assert_int_eq(db_create(&v, NULL, 0), 0);
	ck_assert_int_eq(v->verify(v, path, NULL, NULL, 0), 0);
}

START_TEST(kill9_during_writes_then_restart)
{
	struct config *cfg = fx_config("allow =\n");
	struct relaydb *db;
	struct relay_entry e;
	uint32_t committed[3] = { 0, 0, 0 };
	char own[IP_TEXT_MAX];

	ck_assert_ptr_nonnull(db = open_db(cfg));
	ck_assert_int_eq(relaydb_authorize(db, SHARED_IP, "steady", "pop3", 3600, time(NULL)), 0);
	relaydb_close(&db);
	/* Each round's writers open an environment whose last users were killed mid-write. */
	for (int round = 0; round < 20; round++)
		crash_round(cfg, round, committed);

	/* The restart: open (recovery runs if needed), everything committed is there and readable. */
	ck_assert_ptr_nonnull(db = open_db(cfg));
	for (int w = 0; w < 3; w++) {
		snprintf(own, sizeof(own), "10.1.0.%d", w);
		ck_assert_uint_gt(committed[w], 0);
		ck_assert_int_eq(relaydb_get(db, own, &e), 1);
		/* Committed counts survive; at most one commit in flight was not reported. */
		ck_assert_msg(e.logins >= committed[w] && e.logins <= committed[w] + 1,
			      "writer %d: stored %u, committed %u", w, e.logins, committed[w]);
	}
	ck_assert_int_eq(relay_check_ip(cfg, db, SHARED_IP, time(NULL), NULL), RELAY_AUTHORIZED);
	ck_assert_int_eq(relaydb_authorize(db, "10.3.0.1", "after", "pop3", 60, time(NULL)), 0);
	ck_assert_int_eq(relaydb_checkpoint(db), 0);
	relaydb_close(&db);
	verify_file();
	config_free(&cfg);
}
END_TEST

static volatile sig_atomic_t sweeper_stop;

static void on_term(int sig)
{
	(void)sig;
	sweeper_stop = 1;
}

/* map_value - the value under KEY in the btree file PATH: 1 found, 0 absent or no file yet. */
static int map_value(const char *path, const char *key, char *out, size_t len)
{
	DBT k = { .data = (void *)key, .size = (u_int32_t)strlen(key) }, v;
	DB *m;
	int found = 0;

	memset(&v, 0, sizeof(v));
	if (db_create(&m, NULL, 0) != 0)
		return 0;
	if (m->open(m, NULL, path, NULL, DB_BTREE, DB_RDONLY, 0) == 0 && m->get(m, NULL, &k, &v, 0) == 0) {
		snprintf(out, len, "%.*s", (int)v.size, (const char *)v.data);
		found = 1;
	}
	m->close(m, 0);
	return found;
}

/* wait_map - poll PATH until KEY is present (WANT 1) or absent (WANT 0); milliseconds taken, or -1. */
static long wait_map(const char *path, const char *key, int want, long limit_ms)
{
	struct timespec t0, t1, tick = { 0, 10000000L };
	char val[64];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

		if (map_value(path, key, val, sizeof(val)) == want)
			return ms;
		if (ms > limit_ms)
			return -1;
		nanosleep(&tick, NULL);
	}
}

START_TEST(map_changes_in_place_and_expires_within_a_second)
{
	char extra[256], path[256];
	struct config *cfg;
	struct relaydb *db;
	pid_t pid;
	int status;

	ck_assert_int_lt(snprintf(extra, sizeof(extra), "export_map = %s/dracd\nsweep_interval = 1s\n", fx_dir),
			 (int)sizeof(extra));
	cfg = fx_config(extra);
	tl_pathbuf(path, sizeof(path), fx_dir, "dracd.db");
	ck_assert_ptr_nonnull(db = open_db(cfg));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		relaydb_close(&db);
		signal(SIGTERM, on_term);
		_exit(relaydb_sweeper_run(cfg, &sweeper_stop) == 0 ? 0 : 1);
	}
	/* A login and a revocation change the map in place before they return: no waiting. */
	ck_assert_int_eq(relaydb_login_apply(cfg, db, "192.0.2.10", "a", "pop3", time(NULL)), 0);
	ck_assert_msg(wait_map(path, "192.0.2.10", 1, 0) >= 0, "login not in the map at return");
	ck_assert_int_eq(relaydb_login_apply(cfg, db, "2001:db8::10", "b", "pop3", time(NULL)), 0);
	ck_assert_int_ge(wait_map(path, "IPv6:2001:db8:0:0:0:0:0:10", 1, 0), 0);
	ck_assert_int_eq(relaydb_del(db, "192.0.2.10"), 1);
	ck_assert_int_eq(relaydb_map_update(cfg, db, "192.0.2.10", time(NULL)), 0);
	ck_assert_int_ge(wait_map(path, "192.0.2.10", 0, 0), 0);
	/* An entry that expires leaves the map on time (the sweeper's batch), before any sweep would remove it. */
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.11", "c", "pop3", 2, time(NULL)), 0);
	ck_assert_int_eq(relaydb_map_update(cfg, db, "192.0.2.11", time(NULL)), 0);
	ck_assert_int_ge(wait_map(path, "192.0.2.11", 1, 0), 0);
	ck_assert_int_ge(wait_map(path, "192.0.2.11", 0, 3500), 0);
	/* The map has the key still after all this: it was changed in place, not replaced by the sweeper. */
	ck_assert_int_ge(wait_map(path, "2001:db8::10", 1, 0), 0);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

/* The open lock's path in the scratch environment. */
static void open_lock_path(char *buf, size_t len)
{
	tl_pathbuf(buf, len, fx_dir, "relay/" RELAYDB_OPEN_LOCK);
}

/* elapsed_ms - milliseconds since START. */
static long elapsed_ms(const struct timespec *start)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - start->tv_sec) * 1000 + (t.tv_nsec - start->tv_nsec) / 1000000;
}

START_TEST(close_waits_for_an_open_in_progress)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = open_db(cfg);
	char path[256], byte;
	int go[2], done[2], fd, status;
	struct timespec start;
	struct pollfd p;
	pid_t pid;

	ck_assert_ptr_nonnull(db);
	relaydb_close(&db);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* A process that holds the environment and closes it while another one opens. */
		db = open_db(cfg);
		if (db == NULL || write(done[1], "o", 1) != 1 || read(go[0], &byte, 1) != 1)
			_exit(2);
		relaydb_close(&db);
		_exit(write(done[1], "c", 1) == 1 ? 0 : 3);
	}
	close(go[0]);
	close(done[1]);
	ck_assert_int_eq(read(done[0], &byte, 1), 1);   /* the child has the environment open */
	open_lock_path(path, sizeof(path));
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);   /* as an opener scanning the registry would */
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &start);
	p.fd = done[0];
	p.events = POLLIN;
	ck_assert_msg(poll(&p, 1, 300) == 0, "the environment was closed during an open");
	close(fd);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(read(done[0], &byte, 1), 1);
	ck_assert_int_ge(elapsed_ms(&start), 300);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(go[1]);
	close(done[0]);
	config_free(&cfg);
}
END_TEST

/* churn - until DEADLINE: a short-lived opener (open, write, close) or a long-lived user (reads, failchk). */
static int churn(const struct config *cfg, int id, bool user, const struct timespec *start, long ms)
{
	struct relay_entry e;
	struct relaydb *db = user ? open_db(cfg) : NULL;
	char ip[IP_TEXT_MAX];
	long n = 0, bad = 0;

	if (user && db == NULL)
		return 2;
	while (elapsed_ms(start) < ms) {
		if (!user) {
			snprintf(ip, sizeof(ip), "10.%d.%ld.%ld", id, n / 250 % 250, n % 250 + 1);
			bad += relaydb_record_login(cfg, ip, "u", "pop3") < 0;
		} else {
			bad += relaydb_get(db, "10.0.0.1", &e) < 0 || relaydb_failchk(db) < 0;
		}
		n++;
	}
	relaydb_close(&db);
	return bad == 0 ? 0 : 1;
}

START_TEST(openers_and_closers_never_trigger_recovery)
{
	const char *env = getenv("RELAYDB_STRESS_MS");
	long ms = env != NULL ? atol(env) : 2000;
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = open_db(cfg);
	char logpath[256], line[512];
	struct timespec start;
	int status, failed = 0, panics = 0;
	FILE *log;

	ck_assert_ptr_nonnull(db);
	relaydb_close(&db);
	tl_pathbuf(logpath, sizeof(logpath), fx_dir, "churn.log");
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0; i < NPROC; i++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			/* Berkeley DB's messages (a PANIC) go to the log, the log to stderr, stderr here. */
			if (freopen(logpath, "a", stderr) == NULL)
				_exit(4);
			setvbuf(stderr, NULL, _IOLBF, 0);
			_exit(churn(cfg, i, i >= NPROC - 2, &start, ms));
		}
	}
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	ck_assert_ptr_nonnull(log = fopen(logpath, "r"));
	while (fgets(line, sizeof(line), log) != NULL)
		panics += strstr(line, "run recovery") != NULL;
	fclose(log);
	printf("check_relaydb_concurrency: %ld ms of opens and closes next to long-lived users: %d panics, "
	       "%d processes with errors\n", ms, panics, failed);
	ck_assert_int_eq(panics, 0);
	ck_assert_int_eq(failed, 0);
	config_free(&cfg);
}
END_TEST

static Suite *concurrency_suite(void)
{
	Suite *s = suite_create("relaydb-concurrency");
	TCase *tc = tcase_create("processes");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_refresh_and_check_lose_nothing);
	tcase_add_test(tc, kill9_during_writes_then_restart);
	tcase_add_test(tc, map_changes_in_place_and_expires_within_a_second);
	tcase_add_test(tc, close_waits_for_an_open_in_progress);
	tcase_add_test(tc, openers_and_closers_never_trigger_recovery);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(concurrency_suite());
}
