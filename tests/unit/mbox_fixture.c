/* mbox_fixture.c - the shared fixture of the mbox tests: a scratch mailbox, its index dir, checks. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox_testutil.h"
#include "mbox_fixture.h"

char dir[TL_PATH_MAX];
char *idx;
char spec[4400];
char mbox[4200];

void mf_setup(void)
{
	tl_scratch(dir, sizeof(dir), "popgate-mbx");
	tl_pathbuf(mbox, sizeof(mbox), dir, "alice");
	snprintf(spec, sizeof(spec), "mbox:%s", mbox);
	idx = strdup(tl_path(dir, "state"));
	ck_assert_int_eq(mkdir(idx, 0700), 0);
	mailbox_set_lock_timeout(1);
}

void mf_teardown(void)
{
	tl_rm_rf(dir);
	free(idx);
}

/* open_ok - open SPEC with INDEX (may be NULL) and expect success. */
struct mailbox *open_ok(const char *index)
{
	struct mailbox *mb = NULL;

	ck_assert_int_eq(mailbox_open(spec, index, &mb), MAILBOX_OK);
	ck_assert_ptr_nonnull(mb);
	return mb;
}

/* put - write the mbox from a C string. */
void put(const char *s)
{
	tl_write(mbox, s, strlen(s));
}

/* expect_msg - message I is sent as the POP3 form of RAW and its size agrees. */
void expect_msg(struct mailbox *mb, size_t i, const char *raw)
{
	size_t len;
	size_t elen;
	char *got = tu_send(mb, i, -1, &len);
	char *want = tu_pop3(raw, strlen(raw), &elen);

	ck_assert_msg(len == elen && memcmp(got, want, len) == 0, "message %zu: got \"%s\" want \"%s\"", i, got, want);
	ck_assert_uint_eq(mailbox_size(mb, i), tu_unstuff_len(got, len));
	free(got);
	free(want);
}

const char three[] =
	"From alice@example.org Mon Jan  1 00:00:00 2024\n"
	"Subject: one\n"
	"\n"
	"body one\n"
	".dot line\n"
	"\n"
	"From bob@example.org Mon Jan  1 00:00:01 2024\n"
	"Subject: two\n"
	"\n"
	"intro\n"
	"From inside a paragraph is not a boundary\n"
	">From quoted stays as is\n"
	"\n"
	"From carol@example.org Mon Jan  1 00:00:02 2024\n"
	"Subject: three\n"
	"\n"
	"last\n"
	"\n";

/* uidls - the UIDLs of SPEC's messages, joined by spaces (caller frees). */
char *uidls(const char *index)
{
	struct mailbox *mb = open_ok(index);
	struct tl_buf b = { 0 };

	for (size_t i = 0; i < mailbox_count(mb); i++) {
		const char *u = mailbox_uidl(mb, i);
		size_t n = strlen(u);

		ck_assert_uint_ge(n, 1);
		ck_assert_uint_le(n, 70);
		for (size_t k = 0; k < n; k++)
			ck_assert(u[k] >= 0x21 && u[k] <= 0x7e);
		tl_buf_write(&b, u, n);
		tl_buf_write(&b, " ", 1);
	}
	mailbox_close(&mb);
	tl_buf_write(&b, "", 0);
	return b.data != NULL ? b.data : strdup("");
}

/* index_file - the path of the only .idx file in idx into BUF. */
void index_file(char *buf, size_t cap)
{
	tl_first_match(idx, ".idx", buf, cap);
}
