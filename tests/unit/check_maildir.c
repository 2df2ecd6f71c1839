/* check_maildir.c - the Maildir driver: order, sizes, UIDLs, seen flags, deletions, concurrent clients. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox_testutil.h"
#include "mailbox/mailbox.h"
#include "check_run.h"

static char dir[TL_PATH_MAX];
static char md[4200];
static char spec[4400];
static char idx[4200];

static void setup(void)
{
	tl_scratch(dir, sizeof(dir), "popgate-mbx");
	tl_pathbuf(md, sizeof(md), dir, "Maildir");
	snprintf(spec, sizeof(spec), "maildir:%s/", md); /* a trailing slash is fine */
	tl_pathbuf(idx, sizeof(idx), dir, "state");
	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert_int_eq(mkdir(tl_path(md, "new"), 0700), 0);
	ck_assert_int_eq(mkdir(tl_path(md, "cur"), 0700), 0);
	ck_assert_int_eq(mkdir(tl_path(md, "tmp"), 0700), 0);
	ck_assert_int_eq(mkdir(idx, 0700), 0);
	mailbox_set_lock_timeout(1);
}

static void teardown(void)
{
	tl_rm_rf(dir);
}

static struct mailbox *open_ok(void)
{
	struct mailbox *mb = NULL;

	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_OK);
	return mb;
}

/* put - create message file SUB/NAME with CONTENT. */
static void put(const char *sub, const char *name, const char *content)
{
	char rel[4200];

	snprintf(rel, sizeof(rel), "%s/%s", sub, name);
	tl_write(tl_path(md, rel), content, strlen(content));
}

/* exists - whether SUB/NAME exists in the maildir. */
static bool exists(const char *sub, const char *name)
{
	char rel[4200];

	snprintf(rel, sizeof(rel), "%s/%s", sub, name);
	return access(tl_path(md, rel), F_OK) == 0;
}

/* entries - the number of non-dot entries in SUB. */
static int entries(const char *sub)
{
	DIR *d = opendir(tl_path(md, sub));
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(test_missing_maildir)
{
	struct mailbox *mb = NULL;

	snprintf(spec, sizeof(spec), "maildir:%s/nonexistent", dir);
	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_OK);
	ck_assert_uint_eq(mailbox_count(mb), 0);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	put("cur", "plainfile", "x");
	snprintf(spec, sizeof(spec), "maildir:%s/cur/plainfile", md);
	ck_assert_int_eq(mailbox_open(spec, idx, &mb), MAILBOX_PERM);
}
END_TEST

START_TEST(test_order_sizes_uidls)
{
	struct mailbox *mb;
	size_t len;
	char *got;
	char longname[200];

	put("new", "1700000300.M1P1.host", "Subject: c\n\nthird\n");
	put("cur", "1700000100.M1P1.host,S=19,W=99:2,", "Subject: a\n\nfirst\n");
	put("cur", "1700000200.M1P1.host:2,RS", "Subject: b\r\n\r\n.second\r\n");
	put("new", ".hidden", "ignored");
	put("tmp", "1700000000.in.delivery", "ignored");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "1700000400.", 11);
	put("new", longname, "no newline at end");
	mb = open_ok();
	ck_assert_uint_eq(mailbox_count(mb), 4);
	ck_assert_str_eq(mailbox_uidl(mb, 0), "1700000100.M1P1.host,S=19,W=99");
	ck_assert_str_eq(mailbox_uidl(mb, 1), "1700000200.M1P1.host");
	ck_assert_str_eq(mailbox_uidl(mb, 2), "1700000300.M1P1.host");
	ck_assert_uint_eq(strlen(mailbox_uidl(mb, 3)), 32); /* too long for RFC 1939: digest */
	ck_assert_uint_eq(mailbox_size(mb, 0), 99);         /* ,W= is trusted */
	ck_assert_uint_eq(mailbox_size(mb, 1), strlen("Subject: b\r\n\r\n.second\r\n"));
	ck_assert_uint_eq(mailbox_size(mb, 2), strlen("Subject: c\n\nthird\n") + 3);
	ck_assert_uint_eq(mailbox_size(mb, 3), strlen("no newline at end") + 2);
	got = tu_send(mb, 1, -1, &len);
	ck_assert_str_eq(got, "Subject: b\r\n\r\n..second\r\n");
	free(got);
	got = tu_send(mb, 2, 0, &len);
	ck_assert_str_eq(got, "Subject: c\r\n\r\n");
	free(got);
	/* Like Courier and Dovecot, opening moved new/ mail to cur/. */
	ck_assert(exists("cur", "1700000300.M1P1.host:2,"));
	ck_assert(!exists("new", "1700000300.M1P1.host"));
	mailbox_close(&mb);
	/* UIDLs are stable across sessions, through the move. */
	mb = open_ok();
	ck_assert_str_eq(mailbox_uidl(mb, 2), "1700000300.M1P1.host");
	mailbox_close(&mb);
}
END_TEST

START_TEST(test_commit_flags_and_deletes)
{
	struct mailbox *mb;

	put("cur", "1.a.host:2,", "A\n");
	put("cur", "2.b.host:2,RT", "B\n");
	put("cur", "3.c.host:2,S", "C\n");
	put("new", "4.d.host", "D\n");
	put("cur", "5.e.host:2,", "E\n");
	mb = open_ok();
	ck_assert_uint_eq(mailbox_count(mb), 5);
	mailbox_mark_seen(mb, 0);
	mailbox_mark_seen(mb, 1);
	mailbox_mark_seen(mb, 2);
	mailbox_set_deleted(mb, 3, true);
	mailbox_set_deleted(mb, 4, true);
	mailbox_set_deleted(mb, 4, false);
	ck_assert(!mailbox_is_deleted(mb, 4));
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert(exists("cur", "1.a.host:2,S"));
	ck_assert(exists("cur", "2.b.host:2,RST"));  /* flags stay in ASCII order */
	ck_assert(exists("cur", "3.c.host:2,S"));
	ck_assert(exists("cur", "5.e.host:2,"));
	ck_assert_int_eq(entries("cur"), 4);
	ck_assert_int_eq(entries("new"), 0);
}
END_TEST

START_TEST(test_close_changes_nothing)
{
	struct mailbox *mb;

	put("cur", "1.a.host:2,", "A\n");
	mb = open_ok();
	mailbox_mark_seen(mb, 0);
	mailbox_set_deleted(mb, 0, true);
	mailbox_close(&mb);
	ck_assert(exists("cur", "1.a.host:2,"));
}
END_TEST

START_TEST(test_other_client_meanwhile)
{
	struct mailbox *mb;
	size_t len;
	char *got;

	put("cur", "1.a.host:2,", "A\n");
	put("cur", "2.b.host:2,", "B\n");
	put("cur", "3.c.host:2,", "C\n");
	mb = open_ok();
	/* An IMAP client flags one, deletes another, and new mail arrives. */
	ck_assert_int_eq(rename(tl_path(md, "cur/1.a.host:2,"), tl_path(md, "cur/1.a.host:2,F")), 0);
	ck_assert_int_eq(unlink(tl_path(md, "cur/2.b.host:2,")), 0);
	put("new", "4.d.host", "D\n");
	got = tu_send(mb, 0, -1, &len);
	ck_assert_str_eq(got, "A\r\n");
	free(got);
	mailbox_mark_seen(mb, 0);
	mailbox_set_deleted(mb, 1, true); /* already gone: fine */
	mailbox_set_deleted(mb, 2, true);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert(exists("cur", "1.a.host:2,FS"));
	ck_assert(!exists("cur", "3.c.host:2,"));
	ck_assert(exists("new", "4.d.host")); /* not part of the session: untouched */
}
END_TEST

START_TEST(test_in_use)
{
	struct mailbox *one = open_ok();
	struct mailbox *two = NULL;

	ck_assert_int_eq(mailbox_open(spec, idx, &two), MAILBOX_IN_USE);
	ck_assert_ptr_null(two);
	ck_assert_int_eq(mailbox_open(spec, NULL, &two), MAILBOX_OK); /* a lock elsewhere: not ours */
	mailbox_close(&two);
	mailbox_close(&one);
	one = open_ok();
	mailbox_close(&one);
	/* Without an index directory the directory itself is the session lock. */
	ck_assert_int_eq(mailbox_open(spec, NULL, &one), MAILBOX_OK);
	ck_assert_int_eq(mailbox_open(spec, NULL, &two), MAILBOX_IN_USE);
	mailbox_close(&one);
}
END_TEST

START_TEST(test_duplicate_uidls)
{
	struct mailbox *mb;

	/* The same unique part in new/ and cur/ (a broken delivery): nothing is overwritten. */
	put("cur", "1.a.host:2,", "A1\n");
	put("new", "1.a.host", "A2\n");
	ck_assert_int_eq(mkdir(tl_path(md, "cur/0.dir"), 0700), 0); /* not a file: skipped */
	mb = open_ok();
	ck_assert_uint_eq(mailbox_count(mb), 2);
	ck_assert_str_ne(mailbox_uidl(mb, 0), mailbox_uidl(mb, 1));
	ck_assert(exists("new", "1.a.host"));
	mailbox_mark_seen(mb, 0);
	mailbox_mark_seen(mb, 1);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	ck_assert_int_eq(entries("cur") + entries("new"), 3);
}
END_TEST

/* sizes_file - the path of the size cache in idx into BUF. */
static void sizes_file(char *buf, size_t cap)
{
	tl_first_match(idx, ".sizes", buf, cap);
}

START_TEST(test_size_cache)
{
	struct mailbox *mb;
	char path[4300];
	char line[256];

	put("cur", "1.a.host:2,", "A\nB\n");           /* 4 bytes, POP3 size 6 */
	put("cur", "2.b.host,W=77:2,", "W\n");        /* sized by its name: not cached */
	mb = open_ok();
	ck_assert_uint_eq(mailbox_size(mb, 0), 6);
	mailbox_close(&mb);
	sizes_file(path, sizeof(path));
	{
		size_t len;
		char *text = tl_read(path, &len);

		ck_assert_str_eq(text, "6 4 1.a.host\n");
		free(text);
	}
	/* The cache is used while the file length matches... */
	snprintf(line, sizeof(line), "garbage line\n9 4 1.a.host\n5 3 no-such.host\n");
	tl_write(path, line, strlen(line));
	mb = open_ok();
	ck_assert_uint_eq(mailbox_size(mb, 0), 9);
	mailbox_close(&mb);
	/* ...and the stale entry made the session rewrite it. */
	{
		size_t len;
		char *text = tl_read(path, &len);

		ck_assert_str_eq(text, "9 4 1.a.host\n");
		free(text);
	}
	/* A file of another length is counted again. */
	put("cur", "1.a.host:2,", "A\nB\nC\nD\n");
	mb = open_ok();
	ck_assert_uint_eq(mailbox_size(mb, 0), 12);
	ck_assert_uint_eq(mailbox_size(mb, 1), 77);
	mailbox_close(&mb);
}
END_TEST

static Suite *maildir_suite(void)
{
	Suite *s = suite_create("maildir");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_missing_maildir);
	tcase_add_test(tc, test_order_sizes_uidls);
	tcase_add_test(tc, test_commit_flags_and_deletes);
	tcase_add_test(tc, test_close_changes_nothing);
	tcase_add_test(tc, test_other_client_meanwhile);
	tcase_add_test(tc, test_in_use);
	tcase_add_test(tc, test_duplicate_uidls);
	tcase_add_test(tc, test_size_cache);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(maildir_suite());
}
