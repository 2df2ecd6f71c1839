/* mailbox_testutil.c - helpers for the mailbox driver tests: capturing RETR, the POP3 form of a message. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_testutil.h"

char *tu_send(struct mailbox *mb, size_t i, long body_lines, size_t *len)
{
	struct tl_buf b = { 0 };

	ck_assert_int_eq(mailbox_send(mb, i, body_lines, tl_buf_write, &b), 0);
	tl_buf_write(&b, "", 0);
	if (b.data == NULL)
		b.data = calloc(1, 1);
	*len = b.len;
	return b.data;
}

size_t tu_unstuff_len(const char *buf, size_t len)
{
	size_t dots = 0;

	for (size_t i = 0; i < len; i++)
		if (buf[i] == '.' && (i == 0 || buf[i - 1] == '\n'))
			dots++;
	return len - dots;
}

char *tu_pop3(const char *raw, size_t len, size_t *outlen)
{
	struct tl_buf b = { 0 };
	bool bol = true;

	/* Byte by byte, deliberately unlike the formatter's line-at-a-time code. */
	for (size_t i = 0; i < len; i++) {
		char c = raw[i];

		if (bol && c == '.')
			tl_buf_write(&b, ".", 1);
		if (c == '\n' && (i == 0 || raw[i - 1] != '\r'))
			tl_buf_write(&b, "\r", 1);
		tl_buf_write(&b, &c, 1);
		bol = c == '\n';
	}
	if (len > 0 && raw[len - 1] != '\n')
		tl_buf_write(&b, raw[len - 1] == '\r' ? "\n" : "\r\n", raw[len - 1] == '\r' ? 1 : 2);
	tl_buf_write(&b, "", 0);
	if (b.data == NULL)
		b.data = calloc(1, 1);
	*outlen = b.len;
	return b.data;
}
