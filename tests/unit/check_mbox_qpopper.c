/* check_mbox_qpopper.c - a qpopper-era spool: X-UIDL believed only for old mail, UW-IMAP's pseudo-message, .USER.pop. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox_testutil.h"
#include "mbox_fixture.h"
#include "mailbox/mailbox.h"
#include "mailbox/mbox.h"
#include "check_run.h"

/* Two messages as qpopper left them: X-UIDL and Status: headers. */
static const char qpop[] =
	"From alice@example.org Mon Jan  1 00:00:00 2024\n"
	"Subject: old one\nX-UIDL: 9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9\nStatus: RO\n\nfirst\n\n"
	"From bob@example.org Mon Jan  1 00:01:00 2024\n"
	"Subject: old two\nX-UIDL: 1f2e3d4c5b6a79880f1e2d3c4b5a6978\nStatus: U\n\nsecond\n\n";

/* A message delivered later whose sender chose its UIDL. */
static const char forged[] =
	"From mallory@example.net Tue Jan  2 00:00:00 2024\n"
	"Subject: pick me\nX-UIDL: mallory-chose-this\n\nforged\n\n";

static const char pseudo[] =
	"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n"
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	"From: Mail System Internal Data <MAILER-DAEMON@example.org>\n"
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	"Message-ID: <1704067200@example.org>\n"
	"X-IMAP: 1704067200 0000000002\n"
	"Status: RO\n\n"
	"This text is part of the internal format of your mail folder, and is not\n"
	"a real message.  It is created automatically by the mail system software.\n"
	"If deleted, important folder data will be lost, and it will be re-created\n"
	"with the data reset to initial values.\n\n";

/* uidl_at - the UIDL of message I of a fresh session with the index. */
static char *uidl_at(size_t i)
{
	struct mailbox *mb = open_ok(idx);
	char *u;

	ck_assert_uint_gt(mailbox_count(mb), i);
	u = strdup(mailbox_uidl(mb, i));
	mailbox_close(&mb);
	return u;
}

/* is_digest - whether U is popgate's own 32-hex-digit digest UIDL. */
static bool is_digest(const char *u)
{
	return strlen(u) == 32 && strspn(u, "0123456789abcdef") == 32;
}

START_TEST(xuidl_kept_for_mail_present_at_first_index)
{
	char *a = uidls(idx);

	ck_assert_str_eq(a, "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9 1f2e3d4c5b6a79880f1e2d3c4b5a6978 ");
	free(a);
	/* Twice more: from the index (exact), and after new mail (the last one re-parsed). */
	a = uidls(idx);
	ck_assert_str_eq(a, "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9 1f2e3d4c5b6a79880f1e2d3c4b5a6978 ");
	free(a);
	tl_append_locked(mbox, forged, strlen(forged));
	a = uidls(idx);
	ck_assert(strncmp(a, "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9 1f2e3d4c5b6a79880f1e2d3c4b5a6978 ", 66) == 0);
	free(a);
}
END_TEST

START_TEST(xuidl_of_later_mail_is_not_believed)
{
	struct mailbox *mb;
	char *u;

	mb = open_ok(idx);
	mailbox_close(&mb);
	tl_append_locked(mbox, forged, strlen(forged));
	u = uidl_at(2);
	ck_assert_str_ne(u, "mallory-chose-this");
	ck_assert(is_digest(u));
	free(u);
	/* A sender copying an old message's X-UIDL does not take its UIDL either. */
	{
		static const char copy[] = "From m Tue Jan  2 00:00:00 2024\nX-UIDL: 1f2e3d4c5b6a79880f1e2d3c4b5a6978\n\nx\n\n";

		tl_append_locked(mbox, copy, sizeof(copy) - 1);
	}
	u = uidl_at(3);
	ck_assert(is_digest(u)); /* not even "1f2e...78.2" */
	free(u);
	u = uidl_at(1);
	ck_assert_str_eq(u, "1f2e3d4c5b6a79880f1e2d3c4b5a6978");
	free(u);
	/* Stable: the same digest in the next session, and after the old mail is deleted. */
	u = uidl_at(2);
	ck_assert(is_digest(u));
	mb = open_ok(idx);
	mailbox_set_deleted(mb, 0, true);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	ck_assert_str_eq(mailbox_uidl(mb, 2), u);
	mailbox_close(&mb);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 3);
	ck_assert_str_eq(mailbox_uidl(mb, 1), u);
	mailbox_close(&mb);
	free(u);
}
END_TEST

START_TEST(xuidl_first_mail_of_an_empty_mailbox)
{
	struct mailbox *mb;
	char *u;

	/* Missing, then empty: indexed with nothing, so the first mail is not qpopper's. */
	unlink(mbox);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 0);
	mailbox_close(&mb);
	put(forged);
	u = uidl_at(0);
	ck_assert(is_digest(u));
	free(u);
	/* Every message deleted: the empty mailbox keeps its (empty) index. */
	mb = open_ok(idx);
	mailbox_set_deleted(mb, 0, true);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	tl_append_locked(mbox, forged, strlen(forged));
	u = uidl_at(0);
	ck_assert(is_digest(u));
	free(u);
}
END_TEST

START_TEST(xuidl_survives_a_rewrite_by_an_mua)
{
	char *a = uidls(idx);
	char both[1024];

	free(a);
	/* mutt deletes nothing but rewrites the file (new inode) after a forged delivery. */
	snprintf(both, sizeof(both), "%s%s", qpop, forged);
	unlink(mbox);
	put(both);
	a = uidls(idx);
	ck_assert(strncmp(a, "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9 1f2e3d4c5b6a79880f1e2d3c4b5a6978 ", 66) == 0);
	ck_assert(strstr(a, "mallory") == NULL);
	free(a);
}
END_TEST

START_TEST(xuidl_after_a_lost_index)
{
	char path[4096];
	char *a;

	free(uidls(idx));
	tl_append_locked(mbox, forged, strlen(forged));
	/* Documented (docs/MIGRATING.md): without its index the mailbox is indexed afresh. */
	index_file(path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	a = uidls(idx);
	ck_assert(strncmp(a, "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9 1f2e3d4c5b6a79880f1e2d3c4b5a6978 ", 66) == 0);
	free(a);
}
END_TEST

START_TEST(pseudo_message_is_not_mail)
{
	char buf[2048];
	struct mailbox *mb;
	size_t len;
	char *now;

	snprintf(buf, sizeof(buf), "%s%s", pseudo, qpop);
	put(buf);
	for (int with_index = 0; with_index < 3; with_index++) {
		mb = open_ok(with_index == 0 ? NULL : idx);
		ck_assert_uint_eq(mailbox_count(mb), 2);
		ck_assert_str_eq(mailbox_uidl(mb, 0), "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9");
		expect_msg(mb, 0, "Subject: old one\nX-UIDL: 9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9\nStatus: RO\n\nfirst\n");
		mailbox_close(&mb);
	}
	/* Deleting every message keeps the pseudo-message at the top. */
	mb = open_ok(idx);
	mailbox_set_deleted(mb, 0, true);
	mailbox_set_deleted(mb, 1, true);
	ck_assert_int_eq(mailbox_commit(mb), MAILBOX_OK);
	mailbox_close(&mb);
	now = tl_read(mbox, &len);
	ck_assert_str_eq(now, pseudo);
	free(now);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 0);
	mailbox_close(&mb);
	/* Only the first message can be it: the same text later is mail. */
	snprintf(buf, sizeof(buf), "%s%s", qpop, pseudo);
	put(buf);
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 3);
	mailbox_close(&mb);
	/* The subject alone (no X-IMAP header) is someone's joke, and mail. */
	put("From x Mon Jan  1 00:00:00 2024\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\nhi\n");
	mb = open_ok(NULL);
	ck_assert_uint_eq(mailbox_count(mb), 1);
	mailbox_close(&mb);
}
END_TEST

/* The drop file of a qpopper killed after it copied the spool: its copy of "old one" has a new
 * Status:, "old two" only there, and a third message that arrived in that session. */
static const char drop_text[] =
	"From alice@example.org Mon Jan  1 00:00:00 2024\n"
	"Subject: old one\nX-UIDL: 9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9\nStatus: RO\n\nfirst\n\n"
	"From bob@example.org Mon Jan  1 00:01:00 2024\n"
	"Subject: old two\nX-UIDL: 1f2e3d4c5b6a79880f1e2d3c4b5a6978\nStatus: RO\n\nsecond\n\n"
	"From carol@example.org Mon Jan  1 00:02:00 2024\n"
	"Subject: in the drop only\nX-UIDL: 00aa11bb22cc33dd44ee55ff66778899\n\nthird\n";

/* The spool as qpopper left it: only "old one", without the X-UIDL qpopper adds to its copy. */
static const char spool_text[] =
	"From alice@example.org Mon Jan  1 00:00:00 2024\n"
	"Subject: old one\nX-UIDL: 9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9\nStatus: U\n\nfirst\n\n";

static char drop_path[4400];

/* put_drop - the spool and drop file of a crashed qpopper session. */
static void put_drop(void)
{
	tl_pathbuf(drop_path, sizeof(drop_path), dir, ".alice.pop");
	put(spool_text);
	tl_write(drop_path, drop_text, strlen(drop_text));
}

/* expect_recovered - a session sees the three messages once each, and the drop file is gone. */
static void expect_recovered(void)
{
	struct mailbox *mb = open_ok(idx);

	ck_assert_int_eq(access(drop_path, F_OK), -1);
	ck_assert_uint_eq(mailbox_count(mb), 3);
	ck_assert_str_eq(mailbox_uidl(mb, 0), "9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9");
	ck_assert_str_eq(mailbox_uidl(mb, 1), "1f2e3d4c5b6a79880f1e2d3c4b5a6978");
	ck_assert_str_eq(mailbox_uidl(mb, 2), "00aa11bb22cc33dd44ee55ff66778899");
	expect_msg(mb, 0, "Subject: old one\nX-UIDL: 9d6a4b1c2e7f80a1b2c3d4e5f6a7b8c9\nStatus: U\n\nfirst\n");
	expect_msg(mb, 2, "Subject: in the drop only\nX-UIDL: 00aa11bb22cc33dd44ee55ff66778899\n\nthird\n");
	mailbox_close(&mb);
}

START_TEST(drop_file_brought_back_once)
{
	put_drop();
	expect_recovered();
	expect_recovered();
	/* No spool file at all: the mailbox is made from the drop file. */
	unlink(mbox);
	tl_write(drop_path, drop_text, strlen(drop_text));
	{
		struct mailbox *mb = open_ok(idx);

		ck_assert_uint_eq(mailbox_count(mb), 3);
		mailbox_close(&mb);
	}
	ck_assert_int_eq(access(drop_path, F_OK), -1);
	/* Everything already in the spool (killed before it emptied the spool): only removed. */
	put(drop_text);
	tl_write(drop_path, drop_text, strlen(drop_text));
	{
		struct mailbox *mb = open_ok(idx);

		ck_assert_uint_eq(mailbox_count(mb), 3);
		mailbox_close(&mb);
	}
	ck_assert_int_eq(access(drop_path, F_OK), -1);
}
END_TEST

START_TEST(drop_file_of_someone_else_left_alone)
{
	struct mailbox *mb;

	if (geteuid() != 0)
		return; /* needs root to give the file away */
	put_drop();
	ck_assert_int_eq(chown(drop_path, 4321, 4321), 0);
	mb = open_ok(idx);
	ck_assert_uint_eq(mailbox_count(mb), 1);
	mailbox_close(&mb);
	ck_assert_int_eq(access(drop_path, F_OK), 0);
}
END_TEST

static long drop_kill_at;
static long drop_calls;

/* drop_kill_hook - die like kill -9 at the drop_kill_at-th point of the recovery. */
static void drop_kill_hook(enum mbox_drop_stage st)
{
	(void)st;
	if (++drop_calls == drop_kill_at)
		raise(SIGKILL);
}

START_TEST(drop_file_recovery_survives_kill_9)
{
	char lock[4400];
	int killed = 0;

	snprintf(lock, sizeof(lock), "%s.lock", mbox);
	/* 2 messages copied, synced, renamed, removed: 5 points, and a run that is not killed. */
	for (drop_kill_at = 1; drop_kill_at <= 6; drop_kill_at++) {
		int status;
		pid_t pid;

		put_drop();
		unlink(lock);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct mailbox *mb = NULL;

			drop_calls = 0;
			mbox_drop_set_hook(drop_kill_hook);
			_exit(mailbox_open(spec, idx, &mb) == MAILBOX_OK ? 0 : 1);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		killed += WIFSIGNALED(status);
		ck_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
		unlink(lock); /* a killed session's dotlock: stale after 5 minutes, removed here at once */
		expect_recovered();
	}
	ck_assert_int_eq(killed, 5);
}
END_TEST

/* setup - the fixture with qpopper's two messages in the mbox. */
static void setup(void)
{
	mf_setup();
	put(qpop);
}

static Suite *qpopper_suite(void)
{
	Suite *s = suite_create("mbox_qpopper");
	TCase *tc = tcase_create("uidl");
	TCase *pm = tcase_create("leftovers");

	tcase_add_checked_fixture(tc, setup, mf_teardown);
	tcase_add_test(tc, xuidl_kept_for_mail_present_at_first_index);
	tcase_add_test(tc, xuidl_of_later_mail_is_not_believed);
	tcase_add_test(tc, xuidl_first_mail_of_an_empty_mailbox);
	tcase_add_test(tc, xuidl_survives_a_rewrite_by_an_mua);
	tcase_add_test(tc, xuidl_after_a_lost_index);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(pm, mf_setup, mf_teardown);
	tcase_add_test(pm, pseudo_message_is_not_mail);
	tcase_add_test(pm, drop_file_brought_back_once);
	tcase_add_test(pm, drop_file_of_someone_else_left_alone);
	tcase_add_test(pm, drop_file_recovery_survives_kill_9);
	suite_add_tcase(s, pm);
	return s;
}

int main(void)
{
	return check_run(qpopper_suite());
}
