/* check_mbox_index.c - the mbox index: used when valid, distrusted when not, tail parsing, random files. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox_testutil.h"
#include "mbox_fixture.h"
#include "check_run.h"

START_TEST(test_commit_nothing_writes_nothing)
{
	struct mailbox *mb;
	struct stat a1;
	struct stat a2;
	struct stat i1;
	struct stat i2;
	char ipath[4300];
	char *name;

	put(three);
	mb = open_ok(idx);
	mailbox_mark_seen(mb, 0);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert_int_eq(stat(mbox, &a1), 0);
	index_file(ipath, sizeof(ipath));
	name = ipath;
	ck_assert_int_eq(stat(name, &i1), 0);
	sleep(1);
	mb = open_ok(idx);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert_int_eq(stat(mbox, &a2), 0);
	ck_assert_int_eq(stat(name, &i2), 0);
	ck_assert_uint_eq(a1.st_ino, a2.st_ino);
	ck_assert_int_eq(a1.st_mtim.tv_nsec, a2.st_mtim.tv_nsec);
	ck_assert_int_eq(a1.st_mtim.tv_sec, a2.st_mtim.tv_sec);
	ck_assert_uint_eq(i1.st_ino, i2.st_ino); /* the index was not rewritten either */
	ck_assert_int_eq(i1.st_mtim.tv_sec, i2.st_mtim.tv_sec);
}
END_TEST

/* keep_size_change_bytes - the mbox rewritten with the first byte of AT_TEXT made a LF, size and mtime kept. */
static void keep_size_change_bytes(const char *at_text)
{
	struct stat st;
	size_t len;
	char *copy = tl_read(mbox, &len);
	char *at = strstr(copy, at_text);
	int fd;

	ck_assert_ptr_nonnull(at);
	ck_assert_int_eq(stat(mbox, &st), 0);
	at[0] = '\n';
	fd = open(mbox, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, copy, len, 0), (ssize_t)len);
	close(fd);
	struct timespec t[2] = { st.st_atim, st.st_mtim };
	ck_assert_int_eq(utimensat(AT_FDCWD, mbox, t, 0), 0);
	free(copy);
}

START_TEST(test_index_is_used_and_checked)
{
	struct mailbox *mb;
	char ipath[4300];
	uint64_t size1;
	char four[1024];

	/* Four messages: the spot checks look at messages 0, 2 and 3, so 1 is changed unseen. */
	snprintf(four, sizeof(four), "%sFrom dan\nSubject: 4\n\nfour\n\n", three);
	put(four);
	mb = open_ok(idx);
	size1 = mailbox_size(mb, 1);
	mailbox_close(&mb);
	index_file(ipath, sizeof(ipath));

	/* Same size, same mtime, different bytes deep inside a message: the index is trusted. */
	keep_size_change_bytes("a paragraph"); /* one more LF: a parse would see size + 1 */
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1);
	mailbox_close(&mb);
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1 + 1);
	mailbox_close(&mb);

	/* A changed mtime invalidates it. */
	ck_assert_int_eq(utimensat(AT_FDCWD, mbox, NULL, 0), 0);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1 + 1);
	mailbox_close(&mb);

	/* A damaged index is ignored. */
	{
		size_t ilen;
		char *ib = tl_read(ipath, &ilen);

		ib[ilen / 2] ^= 0x55;
		tl_write(ipath, ib, ilen);
		free(ib);
	}
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 4);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1 + 1);
	mailbox_close(&mb);

	/* A replaced file (new inode) is parsed afresh. */
	unlink(mbox);
	put(four);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1);
	mailbox_close(&mb);
}
END_TEST

/* Small indexes are read, big ones mapped (mbox_index.c): a big one is trusted as a small one is. */
START_TEST(test_big_index_is_used)
{
	enum { N = 700 }; /* 700 records of 120 bytes: an index past the 64 KiB read limit */
	size_t cap = N * 64, used = 0;
	char *text = malloc(cap);
	char ipath[4300];
	struct stat ist;
	struct mailbox *mb;
	uint64_t size1;

	for (int i = 0; i < N; i++)
		used += (size_t)snprintf(text + used, cap - used, "From m%d\nSubject: %d\n\nline of message %d\n\n", i,
					 i, i);
	put(text);
	free(text);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), N);
	size1 = mailbox_size(mb, 1);
	mailbox_close(&mb);
	index_file(ipath, sizeof(ipath));
	ck_assert_int_eq(stat(ipath, &ist), 0);
	ck_assert_int_gt(ist.st_size, 64 * 1024);
	keep_size_change_bytes("line of message 1\n");
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), N);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1); /* from the index, not a parse */
	mailbox_close(&mb);
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_size(mb, 1), size1 + 1);
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_index_tail)
{
	struct mailbox *mb;
	char *with;
	char *without;
	const char *more = "From eve\nSubject: 4\n\nfour\n\nFrom fay\nSubject: 5\n\nfive\n";

	put(three);
	mb = open_ok(idx);
	mailbox_close(&mb);
	/* Appended mail: the index is reused and only the tail parsed; results equal a full parse. */
	tl_append_locked(mbox, more, strlen(more));
	with = uidls(idx);
	without = uidls(NULL);
	ck_assert_str_eq(with, without);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 5);
	expect_msg(mb, 2, "Subject: three\n\nlast\n");
	expect_msg(mb, 4, "Subject: 5\n\nfive\n");
	mailbox_close(&mb);
	free(with);
	free(without);
	/* Appended to a last message that had no final newline: it grows, it does not split. */
	put("From a\n\nx");
	mb = open_ok(idx);
	mailbox_close(&mb);
	tl_append_locked(mbox, "\nFrom b\n\ny\n", 11);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 1);
	expect_msg(mb, 0, "\nx\nFrom b\n\ny\n");
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_random_files)
{
	/* Random mboxes built from tricky pieces: sizes agree with RETR, TOP is a prefix of RETR,
	 * and the index (fresh, reused, and after growth) gives the same answers as a parse. */
	static const char *const pieces[] = { "From ", "\n", "\r", "\r\n", ".", "x", ">From ", "\n\n", "\0",
					      "X-UIDL: u1\n" };
	unsigned seed = 99;

	for (int round = 0; round < 300; round++) {
		struct tl_buf f = { 0 };
		struct mailbox *a;
		struct mailbox *b;
		int n = rand_r(&seed) % 60;

		tl_buf_write(&f, "From ", 5);
		for (int k = 0; k < n; k++) {
			const char *p = pieces[rand_r(&seed) % 10];

			tl_buf_write(&f, p, p[0] == '\0' ? 1 : strlen(p));
		}
		if (round % 3 == 1) {
			/* Index the first part, then let it grow. */
			size_t half = 5 + (f.len - 5) / 2;

			tl_write(mbox, f.data, half);
			a = open_ok(idx);
			mailbox_close(&a);
			tl_append_locked(mbox, f.data + half, f.len - half);
		} else {
			unlink(mbox);
			tl_write(mbox, f.data, f.len);
		}
		a = open_ok(idx);
		b = open_ok(NULL);
		ck_assert_uint_eq(mailbox_count(a), mailbox_count(b));
		for (size_t i = 0; i < mailbox_count(a); i++) {
			size_t la;
			size_t lb;
			size_t lt;
			char *ra = tu_send(a, i, -1, &la);
			char *rb = tu_send(b, i, -1, &lb);
			char *top = tu_send(a, i, rand_r(&seed) % 3, &lt);

			/* A parse believes every X-UIDL; the index only those it served (mbox_index.c). */
			if (strncmp(mailbox_uidl(b, i), "u1", 2) != 0)
				ck_assert_str_eq(mailbox_uidl(a, i), mailbox_uidl(b, i));
			ck_assert_uint_eq(mailbox_size(a, i), mailbox_size(b, i));
			ck_assert_msg(la == lb && memcmp(ra, rb, la) == 0, "round %d message %zu", round, i);
			ck_assert_uint_eq(tu_unstuff_len(ra, la), mailbox_size(a, i));
			ck_assert(lt <= la && memcmp(top, ra, lt) == 0);
			free(ra);
			free(rb);
			free(top);
		}
		mailbox_close(&a);
		mailbox_close(&b);
		tl_buf_free(&f);
	}
}
END_TEST

/* dotlocks_made - open the mailbox with the index, count the dotlocks the open linked into the spool. */
static int dotlocks_made(enum mailbox_status want, size_t count)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct mailbox *mb = NULL;
	int made = 0;
	ssize_t n;
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO), 0);
	ck_assert_int_eq(mailbox_open(spec, idx, &mb), want);
	if (want == MAILBOX_OK)
		ck_assert_uint_eq(mailbox_count(mb), count);
	mailbox_close(&mb);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			made += e->len > 0 && strcmp(e->name, "alice.lock") == 0;
			p += sizeof(*e) + e->len;
		}
	close(in);
	return made;
}

/*
 * A login that finds nothing to read (the mailbox missing, empty, or as its index left it) takes
 * no dotlock; one that must read the file does, and anyone's dotlock sends a login that way.
 */
START_TEST(test_nothing_to_read_takes_no_dotlock)
{
	static const char late[] = "From x Mon Jan  1 00:00:00 2026\nSubject: late\n\nlate\n";
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	char lock[4300], pid[32];

	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 0), 0); /* missing */
	put("");
	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 0), 0); /* empty */
	put(three);
	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 3), 1); /* changed: read under the dotlock, indexed */
	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 3), 0); /* as the index left it */
	tl_append_locked(mbox, late, strlen(late));
	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 4), 1); /* grown: the new message read under it */
	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 4), 0);
	/* A live holder's dotlock is waited for, as before: IN_USE after the lock timeout. */
	snprintf(lock, sizeof(lock), "%s.lock", mbox);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getppid());
	tl_write(lock, pid, strlen(pid));
	ck_assert_int_eq(dotlocks_made(MAILBOX_IN_USE, 0), 0);
	ck_assert_int_eq(access(lock, F_OK), 0);
	/* A stale one is cleared by the login, which then reads the file under its own. */
	tl_write(lock, "", 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, lock, old, 0), 0);
	ck_assert_int_eq(dotlocks_made(MAILBOX_OK, 4), 1);
	ck_assert_int_eq(access(lock, F_OK), -1);
}
END_TEST

static Suite *mbox_index_suite(void)
{
	Suite *s = suite_create("mbox_index");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, mf_setup, mf_teardown);
	tcase_add_test(tc, test_commit_nothing_writes_nothing);
	tcase_add_test(tc, test_index_is_used_and_checked);
	tcase_add_test(tc, test_big_index_is_used);
	tcase_add_test(tc, test_index_tail);
	tcase_add_test(tc, test_random_files);
	tcase_add_test(tc, test_nothing_to_read_takes_no_dotlock);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(mbox_index_suite());
}
