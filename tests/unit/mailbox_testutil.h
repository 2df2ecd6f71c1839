/* mailbox_testutil.h - helpers for the mailbox driver tests: temp dirs, files, capturing RETR. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MAILBOX_TESTUTIL_H
#define POPGATE_MAILBOX_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox/mailbox.h"

/* A growing byte buffer; doubles as a mailbox_write_fn target. */
struct tu_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* tu_tmpdir - a fresh private directory under $TMPDIR or /tmp (caller frees, tu_rm_rf removes). */
char *tu_tmpdir(void);

/* tu_rm_rf - remove DIR and everything below it. */
void tu_rm_rf(const char *dir);

/* tu_path - "DIR/NAME" in a static buffer rotated among 4 (for short-lived use). */
const char *tu_path(const char *dir, const char *name);

/* tu_write_file - create or replace PATH with DATA[0..LEN), mode 0600. Aborts the test on error. */
void tu_write_file(const char *path, const void *data, size_t len);

/* tu_append_file - append DATA to PATH under an fcntl write lock, as an MDA does. */
void tu_append_file(const char *path, const void *data, size_t len);

/* tu_read_file - the contents of PATH (NUL-terminated; caller frees); NULL if absent. */
char *tu_read_file(const char *path, size_t *len);

/* tu_buf_write - mailbox_write_fn appending to a struct tu_buf. */
int tu_buf_write(void *arg, const void *buf, size_t len);

/* tu_buf_free - release a buffer's data. */
void tu_buf_free(struct tu_buf *b);

/* tu_send - message I sent as by RETR (BODY_LINES < 0) or TOP; NUL-terminated, caller frees. */
char *tu_send(struct mailbox *mb, size_t i, long body_lines, size_t *len);

/* tu_unstuff_len - LEN minus the dots added by byte-stuffing in the POP3 text BUF. */
size_t tu_unstuff_len(const char *buf, size_t len);

/* tu_pop3 - the POP3 form (CRLF, dot-stuffed) of raw message bytes, as the formatter must produce it. */
char *tu_pop3(const char *raw, size_t len, size_t *outlen);

#endif
