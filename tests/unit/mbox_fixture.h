/* mbox_fixture.h - the shared fixture of the mbox tests: a scratch mailbox, its index dir, checks. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MBOX_FIXTURE_H
#define POPGATE_MBOX_FIXTURE_H

#include <stddef.h>

#include "mailbox/mailbox.h"
#include "testlib.h"

extern char dir[TL_PATH_MAX]; /* per-test scratch directory */
extern char *idx;        /* the index directory inside it */
extern char spec[4400];  /* "mbox:" + mbox */
extern char mbox[4200];  /* the mailbox file, DIR/alice */

/* A three-message mbox with a dot line, a From inside a paragraph and a >From line. */
extern const char three[];

/* mf_setup - a fresh scratch directory and index directory; lock timeout 1 s. */
void mf_setup(void);

/* mf_teardown - remove the scratch directory. */
void mf_teardown(void);

/* open_ok - open the mailbox with INDEX (may be NULL) and expect success. */
struct mailbox *open_ok(const char *index);

/* put - write the mbox from a C string. */
void put(const char *s);

/* expect_msg - message I is sent as the POP3 form of RAW and its size agrees. */
void expect_msg(struct mailbox *mb, size_t i, const char *raw);

/* uidls - the UIDLs of the mailbox, joined by spaces, each checked against RFC 1939 (caller frees). */
char *uidls(const char *index);

/* index_file - the path of the only .idx file in idx into BUF. */
void index_file(char *buf, size_t cap);

#endif
