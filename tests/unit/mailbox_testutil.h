/* mailbox_testutil.h - helpers for the mailbox driver tests: capturing RETR, the POP3 form of a message. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MAILBOX_TESTUTIL_H
#define POPGATE_MAILBOX_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox/mailbox.h"
#include "testlib.h"

/* tu_send - message I sent as by RETR (BODY_LINES < 0) or TOP; NUL-terminated, caller frees. */
char *tu_send(struct mailbox *mb, size_t i, long body_lines, size_t *len);

/* tu_unstuff_len - LEN minus the dots added by byte-stuffing in the POP3 text BUF. */
size_t tu_unstuff_len(const char *buf, size_t len);

/* tu_pop3 - the POP3 form (CRLF, dot-stuffed) of raw message bytes, as the formatter must produce it. */
char *tu_pop3(const char *raw, size_t len, size_t *outlen);

#endif
