/* check_mbox.c - the mbox driver: parsing edge cases, sizes, UIDLs, locking, commit. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mailbox_testutil.h"
#include "mbox_fixture.h"
#include "mailbox/mailbox.h"
#include "check_run.h"

START_TEST(test_missing_and_empty)
{
	struct mailbox *mb = open_ok(idx);

	ck_assert_uint_eq(mailbox_count(mb), 0);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert_ptr_null(mb);
	ck_assert_int_eq(access(mbox, F_OK), -1); /* we never create the mailbox */
	put("");
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 0);
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_three_messages)
{
	struct mailbox *mb;

	put(three);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 3);
	expect_msg(mb, 0, "Subject: one\n\nbody one\n.dot line\n");
	expect_msg(mb, 1, "Subject: two\n\nintro\nFrom inside a paragraph is not a boundary\n>From quoted stays as is\n");
	expect_msg(mb, 2, "Subject: three\n\nlast\n");
	ck_assert_uint_eq(mailbox_size(mb, 0), strlen("Subject: one\n\nbody one\n.dot line\n") + 4);
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_odd_files)
{
	struct mailbox *mb;
	static const char nul[] = "From a\nX: y\n\nnul\0byte\n";

	/* No trailing newline at all. */
	put("From a b\nSubject: x\n\nno newline");
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 1);
	expect_msg(mb, 0, "Subject: x\n\nno newline");
	mailbox_close(&mb);

	/* Stored with CRLF: kept, not doubled; the CRLF blank line separates. */
	put("From a b\r\nSubject: x\r\n\r\nline\r\n\r\nFrom c d\r\nSubject: y\r\n\r\nz\r\n");
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 2);
	expect_msg(mb, 0, "Subject: x\r\n\r\nline\r\n");
	expect_msg(mb, 1, "Subject: y\r\n\r\nz\r\n");
	mailbox_close(&mb);

	/* NUL bytes are data. */
	tl_write(mbox, nul, sizeof(nul) - 1);
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 1);
	ck_assert_uint_eq(mailbox_size(mb, 0), strlen("X: y\n\nnul") + 1 + strlen("byte\n") + 3);
	mailbox_close(&mb);

	/* A From_ line alone, and one without its newline. */
	put("From a\n\nFrom b");
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 2);
	ck_assert_uint_eq(mailbox_size(mb, 0), 0);
	ck_assert_uint_eq(mailbox_size(mb, 1), 0);
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_not_an_mbox)
{
	struct mailbox *mb = NULL;

	put("Subject: hello\n\nthis is not an mbox\n");
	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_PERM);
	ck_assert_ptr_null(mb);
	ck_assert_int_eq(mailbox_open("mbox:relative/path", NULL, &mb), MAILBOX_PERM);
	ck_assert_int_eq(mailbox_open("imap:/x", NULL, &mb), MAILBOX_PERM);
	ck_assert_int_eq(mkdir(tl_path(dir, "adir"), 0700), 0);
	snprintf(spec, sizeof(spec), "mbox:%s", tl_path(dir, "adir"));
	ck_assert_int_eq(mailbox_open(spec, NULL, &mb), MAILBOX_PERM);
	/* A symlinked mailbox would be replaced by a file at commit: refused. */
	ck_assert_int_eq(symlink(mbox, tl_path(dir, "link")), 0);
	snprintf(spec, sizeof(spec), "mbox:%s", tl_path(dir, "link"));
	ck_assert_int_eq(mailbox_open(spec, NULL, &mb), MAILBOX_PERM);
}
END_TEST

START_TEST(test_top)
{
	struct mailbox *mb;
	size_t len;
	char *got;

	put("From a\nH: 1\nH: 2\n\nb1\n.b2\nb3\n\n");
	mb = open_ok(idx);
	got = tu_send(mb, 0, 0, &len);
	ck_assert_str_eq(got, "H: 1\r\nH: 2\r\n\r\n");
	free(got);
	got = tu_send(mb, 0, 2, &len);
	ck_assert_str_eq(got, "H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\n");
	free(got);
	got = tu_send(mb, 0, 99, &len);
	ck_assert_str_eq(got, "H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n");
	free(got);
	mailbox_close(&mb);
}
END_TEST

/* big_body - N bytes of body lines, every seventh one starting with a dot; NUL-terminated, caller frees. */
static char *big_body(size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		s[i] = i % 64 == 63 ? '\n' : i % 448 == 0 ? '.' : (char)('a' + i % 26);
	s[n - 1] = '\n';
	s[n] = '\0';
	return s;
}

/*
 * The send buffers grow with the messages sent in one session, past MAILBOX_SEND_CHUNK (mapped by
 * hand from 128 KB), and serve smaller ones after: every message byte-exact in any order.
 */
START_TEST(test_send_sizes)
{
	static const size_t sizes[] = { 10, 20000, 700000, 0, 150000, 30 };
	size_t n = sizeof(sizes) / sizeof(sizes[0]), cap = 64, used = 0;
	char *raw[sizeof(sizes) / sizeof(sizes[0])], *mbox_text;
	struct mailbox *mb;

	for (size_t i = 0; i < n; i++) {
		char *body = sizes[i] > 0 ? big_body(sizes[i]) : strdup("");
		size_t len = strlen(body) + 32;

		raw[i] = malloc(len);
		ck_assert_ptr_nonnull(raw[i]);
		snprintf(raw[i], len, "Subject: %zu\n\n%s", i, body);
		cap += strlen(raw[i]) + 64;
		free(body);
	}
	mbox_text = malloc(cap);
	ck_assert_ptr_nonnull(mbox_text);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(mbox_text + used, cap - used, "From a@example.org Mon Jan  1 00:00:00 2024\n%s\n",
					 raw[i]);
	put(mbox_text);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), n);
	for (size_t i = 0; i < n; i++)
		expect_msg(mb, i, raw[i]);
	expect_msg(mb, 0, raw[0]); /* and the first again, with the biggest buffers */
	mailbox_close(&mb);
	for (size_t i = 0; i < n; i++)
		free(raw[i]);
	free(mbox_text);
}
END_TEST

START_TEST(test_uidl)
{
	char *a;
	char *b;
	const char *m1 = "From a Mon Jan  1 00:00:00 2024\nSubject: s\nX-UIDL: qpop-1234\n\nx\n\n";
	const char *dup = "From b Mon Jan  1 00:00:00 2024\nSubject: same\n\ny\n\n";
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s%s%s", m1, dup, dup,
		 "From c\nX-UIDL: has space inside\n\nz\n\n");
	put(buf);
	a = uidls(idx);
	b = uidls(NULL);
	ck_assert_str_eq(a, b); /* same with and without the index */
	ck_assert(strncmp(a, "qpop-1234 ", 10) == 0); /* qpopper's X-UIDL is kept */
	{
		char u2[80];
		char u3[80];
		char u4[80];

		ck_assert_int_eq(sscanf(a, "%*s %79s %79s %79s", u2, u3, u4), 3);
		ck_assert_uint_eq(strlen(u2), 32);
		ck_assert_str_ne(u2, u3);              /* identical messages still differ */
		ck_assert(strncmp(u3, u2, 32) == 0 && strcmp(u3 + 32, ".2") == 0);
		ck_assert_uint_eq(strlen(u4), 32);     /* invalid X-UIDL ignored: digest */
	}
	free(b);
	/* An MUA adding Status: must not change the UIDL. */
	snprintf(buf, sizeof(buf), "%s%s", m1, "From b Mon Jan  1 00:00:00 2024\nSubject: same\nStatus: RO\n\ny\n\n");
	put(buf);
	b = uidls(NULL);
	ck_assert(strncmp(a, b, strlen(b) - 1) == 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_in_use)
{
	struct mailbox *one;
	struct mailbox *two = NULL;

	put(three);
	for (int with_index = 0; with_index < 2; with_index++) {
		const char *ix = with_index ? idx : NULL;

		one = open_ok(ix);
		ck_assert_int_eq(mailbox_open(spec, ix, &two), MAILBOX_IN_USE);
		ck_assert_ptr_null(two);
		mailbox_close(&one);
		two = open_ok(ix);
		mailbox_close(&two);
	}
	/* The session lock does not keep an MDA out: appending works while a session is open. */
	one = open_ok(idx);
	tl_append_locked(mbox, "From d\n\nnew\n\n", 13);
	ck_assert_uint_eq(mailbox_count(one), 3);
	mailbox_close(&one);
	one = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(one), 4);
	mailbox_close(&one);
}
END_TEST

START_TEST(test_dotlock_interop)
{
	struct mailbox *mb = NULL;
	char lock[4300];
	char pid[32];
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

	put(three);
	snprintf(lock, sizeof(lock), "%s.lock", mbox);
	/* Held by a live process (our parent): we wait, then report IN_USE. */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getppid());
	tl_write(lock, pid, strlen(pid));
	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_IN_USE);
	/* An empty lock (Postfix writes none) that is old is stale and removed. */
	tl_write(lock, "", 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, lock, old, 0), 0);
	mb = open_ok(idx);
	ck_assert_int_eq(access(lock, F_OK), -1);
	mailbox_close(&mb);
	/* A lock naming a dead process is stale at once. */
	snprintf(pid, sizeof(pid), "%d\n", 999999999);
	tl_write(lock, pid, strlen(pid));
	mb = open_ok(idx);
	/* We release the dotlock after reading: the MDA is not held up by the session. */
	ck_assert_int_eq(access(lock, F_OK), -1);
	mailbox_close(&mb);
}
END_TEST

/* hold_fcntl - fork a child that holds a classic fcntl write lock on the mbox until killed. */
static pid_t hold_fcntl(void)
{
	int ready[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(mbox, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

START_TEST(test_fcntl_interop)
{
	struct mailbox *mb = NULL;
	pid_t holder;

	put(three);
	holder = hold_fcntl();
	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_IN_USE);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	mb = open_ok(idx);
	mailbox_set_deleted(mb, 0, true);
	/* An MDA delivering while we want to commit: we wait, give up, and change nothing. */
	holder = hold_fcntl();
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_TEMP);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	mailbox_close(&mb);
	{
		size_t len;
		char *now = tl_read(mbox, &len);

		ck_assert_uint_eq(len, strlen(three));
		ck_assert(memcmp(now, three, len) == 0);
		free(now);
	}
}
END_TEST

START_TEST(test_commit)
{
	struct mailbox *mb;
	struct stat before;
	struct stat after;
	struct timespec t[2] = { { 1111, 0 }, { 2222, 0 } };
	size_t len;
	char *now;
	const char *appended = "From dave Tue Jan  2 00:00:00 2024\nSubject: four\n\nlate\n\n";

	if (geteuid() != 0)
		return; /* needs root to hand the mailbox to another owner */
	put(three);
	ck_assert_int_eq(chown(mbox, 1234, 8), 0);
	ck_assert_int_eq(chmod(mbox, 0660), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, mbox, t, 0), 0);
	mb = open_ok(idx);
	mailbox_set_deleted(mb, 1, true);
	ck_assert(mailbox_is_deleted(mb, 1));
	mailbox_set_deleted(mb, 0, true);
	mailbox_set_deleted(mb, 0, false); /* RSET-like */
	tl_append_locked(mbox, appended, strlen(appended));
	ck_assert_int_eq(stat(mbox, &before), 0);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert_int_eq(stat(mbox, &after), 0);
	ck_assert_uint_eq(after.st_uid, 1234);
	ck_assert_uint_eq(after.st_gid, 8);
	ck_assert_uint_eq(after.st_mode & 07777, 0660);
	ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	now = tl_read(mbox, &len);
	{
		char want[2048];

		snprintf(want, sizeof(want), "%.*s%s%s", (int)(strstr(three, "From bob") - three), three,
			 strstr(three, "From carol"), appended);
		ck_assert_str_eq(now, want);
	}
	free(now);
	/* The appended message is there for the next session, with the index and without. */
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 3);
	expect_msg(mb, 0, "Subject: one\n\nbody one\n.dot line\n");
	expect_msg(mb, 2, "Subject: four\n\nlate\n");
	/* Deleting everything leaves an empty file, not a missing one. */
	for (size_t i = 0; i < 3; i++)
		mailbox_set_deleted(mb, i, true);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert_int_eq(stat(mbox, &after), 0);
	ck_assert_int_eq(after.st_size, 0);
	ck_assert_int_eq(access(tl_path(dir, ".alice.popgate-new"), F_OK), -1);
}
END_TEST

START_TEST(test_foreign_rewrite)
{
	struct mailbox *mb;
	struct tl_buf b = { 0 };

	put(three);
	mb = open_ok(idx);
	mailbox_set_deleted(mb, 0, true);
	/* Another program rewrites the mailbox in place during our session. */
	{
		const char *other = "From zed\n\nsomething else entirely, long enough to cover offsets\n\n"
				    "From zed2\n\nmore\n\n";
		int fd = open(mbox, O_WRONLY | O_TRUNC);

		ck_assert_int_eq(write(fd, other, strlen(other)), (ssize_t)strlen(other));
		close(fd);
	}
	ck_assert_int_eq(mailbox_send(mb, 1, -1, tl_buf_write, &b), -1);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_TEMP);
	mailbox_close(&mb);
	tl_buf_free(&b);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 2);
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_commit_without_dir_write)
{
	struct mailbox *mb;
	size_t len;
	char *now;

	/* As an unprivileged user without write access to the spool directory. */
	if (geteuid() != 0)
		return; /* needs root to become that user */
	put(three);
	ck_assert_int_eq(chown(mbox, 4321, 4321), 0);
	ck_assert_int_eq(chown(idx, 4321, 4321), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	if (fork() == 0) {
		if (setgid(4321) < 0 || setuid(4321) < 0)
			_exit(2);
		mb = NULL;
		if (mailbox_open(spec, idx, &mb) != MAILBOX_OK || mailbox_count(mb) != 3)
			_exit(3);
		mailbox_set_deleted(mb, 0, true);
		_exit(mailbox_commit(mb) == MAILBOX_TEMP ? 0 : 4);
	}
	{
		int status;

		wait(&status);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	now = tl_read(mbox, &len);
	ck_assert_str_eq(now, three);
	free(now);
}
END_TEST

static Suite *mbox_suite(void)
{
	Suite *s = suite_create("mbox");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, mf_setup, mf_teardown);
	tcase_add_test(tc, test_missing_and_empty);
	tcase_add_test(tc, test_three_messages);
	tcase_add_test(tc, test_odd_files);
	tcase_add_test(tc, test_not_an_mbox);
	tcase_add_test(tc, test_top);
	tcase_add_test(tc, test_send_sizes);
	tcase_add_test(tc, test_uidl);
	tcase_add_test(tc, test_in_use);
	tcase_add_test(tc, test_dotlock_interop);
	tcase_add_test(tc, test_fcntl_interop);
	tcase_add_test(tc, test_commit);
	tcase_add_test(tc, test_foreign_rewrite);
	tcase_add_test(tc, test_commit_without_dir_write);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(mbox_suite());
}
