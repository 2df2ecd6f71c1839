/* fuzz_mailbox.h - reading messages back from a mailbox and checking them as a POP3 client would. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_FUZZ_MAILBOX_H
#define POPGATE_FUZZ_MAILBOX_H

#include <stddef.h>

#include "mailbox/mailbox.h"

/* One message as RETR or TOP sends it (dot-stuffed, CRLF, without the final ".\r\n"). */
struct fuzz_msg {
	char *text;
	size_t len;
};

/* fuzz_mailbox_send - message I of MB with BODY_LINES (< 0: all) into a new OUT. Aborts if sending fails. */
void fuzz_mailbox_send(struct mailbox *mb, size_t i, long body_lines, struct fuzz_msg *out);

/* fuzz_msg_free - release OUT's text. */
void fuzz_msg_free(struct fuzz_msg *m);

/*
 * fuzz_check_pop3_body - what a POP3 client relies on in M: CRLF lines only, no line that is a lone
 * "." (it would end the reply early), and, unstuffed, exactly SIZE octets (the LIST size).
 */
void fuzz_check_pop3_body(const struct fuzz_msg *m, unsigned long long size);

#endif
