/* check_mbox_crash.c - mbox commit is crash-safe: kill -9 anywhere, full disk, concurrent delivery. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Each round restores a 200-message mbox, and a child process opens it, deletes a random
 * third, sometimes receives new mail, and commits, while it is killed with SIGKILL at a
 * chosen point of the commit (a hook after every 4 KB copied and at each stage) or after a
 * random delay. The parent then checks that the file is byte for byte either the old mailbox
 * or the committed one (nothing lost, truncated or half-written), and that a new session
 * reads every surviving message exactly.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mailbox_testutil.h"
#include "mailbox/mailbox.h"
#include "mailbox/mbox.h"
#include "check_run.h"

#define NMSG 200
#define HOOK_ROUNDS 200
#define TIMED_ROUNDS 150

static char dir[TL_PATH_MAX];
static char idx[4200];
static char mbox[4200];
static char spec[4400];

/* The generated mailbox: whole file, and each message's span and raw content. */
static struct tl_buf orig;
static size_t span_off[NMSG + 1];
static size_t body_off[NMSG];
static size_t body_len[NMSG];
static const char late[] = "From late@example.org Tue Jan  2 00:00:00 2024\nSubject: late\n\narrived during the session\n\n";

/* gen_line - one random body line, sometimes a trap for parsers and formatters. */
static void gen_line(struct tl_buf *b, unsigned *seed)
{
	static const char *const traps[] = { ".", "..two dots", "From not after a blank line",
					     ">From quoted", "line with CRLF\r", "" };
	char line[200];
	int n = rand_r(seed) % 8 == 0 ? -1 : rand_r(seed) % 120;
	bool after_blank = b->len > 0 && b->data[b->len - 1] == '\n' && (b->len < 2 || b->data[b->len - 2] == '\n');

	if (n < 0) {
		const char *t = traps[rand_r(seed) % 6];

		if (after_blank && strncmp(t, "From ", 5) == 0)
			t = ">From after a blank line must be quoted";
		tl_buf_write(b, t, strlen(t));
	} else {
		for (int i = 0; i < n; i++)
			line[i] = (char)(' ' + rand_r(seed) % 94);
		tl_buf_write(b, line, (size_t)n);
	}
	tl_buf_write(b, "\n", 1);
}

/* gen_mbox - the test mailbox: NMSG messages of random length. */
static void gen_mbox(void)
{
	unsigned seed = 4242;

	tl_buf_free(&orig);
	for (int i = 0; i < NMSG; i++) {
		char hdr[256];
		int lines = 1 + rand_r(&seed) % 40;

		span_off[i] = orig.len;
		snprintf(hdr, sizeof(hdr), "From sender%d@example.org Mon Jan  1 00:%02d:%02d 2024\n", i, i / 60, i % 60);
		tl_buf_write(&orig, hdr, strlen(hdr));
		body_off[i] = orig.len;
		snprintf(hdr, sizeof(hdr), "Subject: message %d\nMessage-ID: <%d@test>\n\nbody\n", i, i);
		tl_buf_write(&orig, hdr, strlen(hdr));
		for (int l = 0; l < lines; l++)
			gen_line(&orig, &seed);
		if (rand_r(&seed) % 4 == 0)
			tl_buf_write(&orig, "text before a separator\n", 24); /* ends without a blank line inside */
		body_len[i] = orig.len - body_off[i];
		tl_buf_write(&orig, "\n", 1);
	}
	span_off[NMSG] = orig.len;
}

static void setup(void)
{
	tl_scratch(dir, sizeof(dir), "popgate-mbx");
	tl_pathbuf(mbox, sizeof(mbox), dir, "bob");
	snprintf(spec, sizeof(spec), "mbox:%s", mbox);
	tl_pathbuf(idx, sizeof(idx), dir, "state");
	ck_assert_int_eq(mkdir(idx, 0700), 0);
	mailbox_set_lock_timeout(5);
	gen_mbox();
}

static void teardown(void)
{
	tl_rm_rf(dir);
	tl_buf_free(&orig);
}

/* restore - put the original mailbox back as a new file, plus the late message if LATE_TOO. */
static void restore(void)
{
	unlink(mbox);
	tl_write(mbox, orig.data, orig.len);
}

static long kill_at;
static long hook_calls;
static long max_points = 1; /* hook calls of a complete commit, measured, plus a margin */

static int count_fd = -1;

/* kill_hook - die like kill -9 at the kill_at-th point of the commit; or report how many there are. */
static void kill_hook(enum mbox_commit_stage stage, uint64_t copied)
{
	(void)copied;
	if (++hook_calls == kill_at)
		raise(SIGKILL);
	if (stage == MBOX_STAGE_DONE && count_fd >= 0 && write(count_fd, &hook_calls, sizeof(hook_calls)) < 0)
		_exit(13);
}

/* append_late - what an MDA does while the session is open (the session holds no spool lock). */
static int append_late(void)
{
	int fd = open(mbox, O_WRONLY | O_APPEND);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int ok;

	if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0)
		return -1;
	ok = write(fd, late, sizeof(late) - 1) == (ssize_t)(sizeof(late) - 1);
	close(fd);
	return ok ? 0 : -1;
}

/* session_child - the POP3 worker: open, delete DEL[], maybe get new mail, commit. Never returns. */
static void session_child(const bool *del, bool with_late, int ready_fd)
{
	struct mailbox *mb = NULL;
	enum mailbox_status st;

	mailbox_set_lock_timeout(5);
	if (mailbox_open(spec, idx, &mb) != MAILBOX_OK || mailbox_count(mb) != NMSG)
		_exit(10);
	for (size_t i = 0; i < NMSG; i++)
		mailbox_set_deleted(mb, i, del[i]);
	if (with_late && append_late() < 0)
		_exit(11);
	if (ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
		_exit(12);
	st = mailbox_commit(mb);
	mailbox_close(&mb);
	_exit(st == MAILBOX_OK ? 0 : 20 + (int)st);
}

/* expected_new - the file a finished commit must leave: kept spans, then the late mail. */
static void expected_new(const bool *del, bool with_late, struct tl_buf *out)
{
	for (int i = 0; i < NMSG; i++)
		if (!del[i])
			tl_buf_write(out, orig.data + span_off[i], span_off[i + 1] - span_off[i]);
	if (with_late)
		tl_buf_write(out, late, sizeof(late) - 1);
	tl_buf_write(out, "", 0);
}

/* check_session - a fresh session sees exactly the messages of the state the file is in. */
static void check_session(const bool *del, bool committed, bool with_late, int round)
{
	struct mailbox *mb = NULL;
	size_t n = 0;

	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_OK);
	for (int i = 0; i < NMSG; i++) {
		size_t glen;
		size_t wlen;
		char *got;
		char *want;

		if (committed && del[i])
			continue;
		ck_assert_msg(n < mailbox_count(mb), "round %d: message %d missing", round, i);
		got = tu_send(mb, n, -1, &glen);
		want = tu_pop3(orig.data + body_off[i], body_len[i], &wlen);
		ck_assert_msg(glen == wlen && memcmp(got, want, glen) == 0, "round %d: message %d differs", round, i);
		free(got);
		free(want);
		n++;
	}
	ck_assert_uint_eq(mailbox_count(mb), n + with_late);
	mailbox_close(&mb);
	ck_assert_msg(access(tl_path(dir, ".bob.popgate-new"), F_OK) < 0, "round %d: temp file left", round);
	ck_assert_msg(access(tl_path(dir, "bob.lock"), F_OK) < 0, "round %d: dotlock left", round);
}

/* one_round - run a session killed per MODE, then check that nothing was lost. Returns 1 if it committed. */
static int one_round(int round, unsigned *seed, bool timed)
{
	bool del[NMSG];
	bool with_late = rand_r(seed) % 3 == 0;
	struct tl_buf want_new = { 0 };
	struct tl_buf want_old = { 0 };
	int ready[2];
	int status;
	size_t len;
	char *now;
	bool committed;
	pid_t pid;

	for (int i = 0; i < NMSG; i++)
		del[i] = rand_r(seed) % 3 == 0;
	restore();
	kill_at = timed ? 0 : 1 + rand_r(seed) % max_points;
	hook_calls = 0;
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		mbox_commit_set_hook(timed ? NULL : kill_hook, 4096);
		session_child(del, with_late, timed ? ready[1] : -1);
	}
	close(ready[1]);
	if (timed) {
		char c;
		struct timespec ts = { 0, (long)(rand_r(seed) % 2500) * 1000 };

		if (read(ready[0], &c, 1) == 1) {
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
		}
	}
	close(ready[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
		      "round %d: session failed with %d", round, WEXITSTATUS(status));
	expected_new(del, with_late, &want_new);
	tl_buf_write(&want_old, orig.data, orig.len);
	if (with_late)
		tl_buf_write(&want_old, late, sizeof(late) - 1);
	now = tl_read(mbox, &len);
	ck_assert_ptr_nonnull(now);
	committed = len == want_new.len && memcmp(now, want_new.data, len) == 0;
	ck_assert_msg(committed || (len == want_old.len && memcmp(now, want_old.data, len) == 0),
		      "round %d: the mbox is neither the old nor the new one (%zu bytes)", round, len);
	free(now);
	tl_buf_free(&want_new);
	tl_buf_free(&want_old);
	check_session(del, committed, with_late, round);
	return committed;
}

/* measure_points - how many kill points a commit deleting a third of the messages has. */
static long measure_points(void)
{
	bool del[NMSG];
	int fds[2];
	long n = 0;
	pid_t pid;

	for (int i = 0; i < NMSG; i++)
		del[i] = i % 3 == 0;
	restore();
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		count_fd = fds[1];
		kill_at = 0;
		mbox_commit_set_hook(kill_hook, 4096);
		session_child(del, true, -1);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &n, sizeof(n)), (ssize_t)sizeof(n));
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return n;
}

START_TEST(test_kill_at_every_stage)
{
	unsigned seed = 7;
	int committed = 0;

	/* Kill points drawn from all of a commit's, plus 10% more to let some commits finish. */
	max_points = measure_points();
	ck_assert_int_gt(max_points, 50);
	max_points += max_points / 10;
	fprintf(stderr, "kill points per commit: %ld\n", max_points);

	for (int round = 0; round < HOOK_ROUNDS; round++)
		committed += one_round(round, &seed, false);
	/* Both outcomes must have occurred, or the kill points were not spread over the commit. */
	ck_assert_int_gt(committed, 5);
	ck_assert_int_lt(committed, HOOK_ROUNDS - 5);
}
END_TEST

START_TEST(test_kill_at_random_times)
{
	unsigned seed = (unsigned)time(NULL);
	int committed = 0;

	for (int round = 0; round < TIMED_ROUNDS; round++)
		committed += one_round(round, &seed, true);
	fprintf(stderr, "timed kills: %d of %d commits completed (seed %u)\n", committed, TIMED_ROUNDS, seed);
}
END_TEST

START_TEST(test_disk_full)
{
	bool del[NMSG] = { false };
	int status;
	pid_t pid;
	size_t len;
	char *now;

	restore();
	for (int i = 0; i < NMSG; i += 10)
		del[i] = true;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The new file cannot grow past half the old one: EFBIG, as ENOSPC would be. */
		struct rlimit rl = { orig.len / 2, orig.len / 2 };

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(9);
		session_child(del, false, -1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 20 + MAILBOX_TEMP);
	now = tl_read(mbox, &len);
	ck_assert_uint_eq(len, orig.len);
	ck_assert(memcmp(now, orig.data, len) == 0);
	free(now);
	ck_assert_int_lt(access(tl_path(dir, ".bob.popgate-new"), F_OK), 0);
	check_session(del, false, false, 0);
}
END_TEST

/* mda_child - deliver COUNT messages the way Postfix local does: dotlock, fcntl, append, unlock. */
static void mda_child(int count)
{
	char lock[4300];

	snprintf(lock, sizeof(lock), "%s.lock", mbox);
	for (int i = 0; i < count; i++) {
		char msg[256];
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int lfd;
		int fd;
		int len = snprintf(msg, sizeof(msg), "From mda Wed Jan  3 00:00:00 2024\nSubject: d%d\n\ndelivery %d\n\n", i, i);

		while ((lfd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0)
			usleep(500);
		close(lfd);
		fd = open(mbox, O_WRONLY | O_APPEND | O_CREAT, 0600);
		if (fd < 0 || fcntl(fd, F_SETLKW, &fl) < 0 || write(fd, msg, (size_t)len) != len)
			_exit(1);
		close(fd);
		unlink(lock);
		usleep(1000 + (unsigned)(i % 7) * 500);
	}
	_exit(0);
}

START_TEST(test_concurrent_delivery)
{
	/* Sessions delete the first message over and over while an MDA delivers: none go missing. */
	enum { DELIVERIES = 60 };
	struct tl_buf deleted = { 0 };
	int status;
	size_t len;
	char *now;
	pid_t mda;

	restore();
	mailbox_set_lock_timeout(5);
	mda = fork();
	ck_assert_int_ge(mda, 0);
	if (mda == 0)
		mda_child(DELIVERIES);
	for (int s = 0; s < 40; s++) {
		struct mailbox *mb = NULL;
		size_t glen;
		char *got;

		ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_OK);
		ck_assert_uint_gt(mailbox_count(mb), 0);
		got = tu_send(mb, 0, -1, &glen);
		tl_buf_write(&deleted, got, glen);
		free(got);
		mailbox_set_deleted(mb, 0, true);
		ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
		mailbox_close(&mb);
		usleep(2000);
	}
	ck_assert_int_eq(waitpid(mda, &status, 0), mda);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	now = tl_read(mbox, &len);
	for (int i = 0; i < DELIVERIES; i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "delivery %d\n", i);
		ck_assert_msg(strstr(now, needle) != NULL || strstr(deleted.data, needle) != NULL,
			      "delivery %d lost", i);
	}
	free(now);
	tl_buf_free(&deleted);
}
END_TEST

static Suite *crash_suite(void)
{
	Suite *s = suite_create("mbox_crash");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kill_at_every_stage);
	tcase_add_test(tc, test_kill_at_random_times);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_concurrent_delivery);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(crash_suite());
}
