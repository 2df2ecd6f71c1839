/* fuzz_mailbox.c - read messages back through mailbox_send and check them as a POP3 client would. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "fuzz_mailbox.h"
#include "fuzz_util.h"

/* collect - mailbox_send's sink: append to a growing fuzz_msg. */
static int collect(void *arg, const void *buf, size_t len)
{
	struct fuzz_msg *m = arg;
	char *t = realloc(m->text, m->len + len + 1);

	FUZZ_CHECK(t != NULL, "out of memory for %zu bytes", m->len + len);
	m->text = t;
	memcpy(m->text + m->len, buf, len);
	m->len += len;
	m->text[m->len] = '\0';
	return 0;
}

void fuzz_mailbox_send(struct mailbox *mb, size_t i, long body_lines, struct fuzz_msg *out)
{
	out->text = calloc(1, 1);
	out->len = 0;
	FUZZ_CHECK(out->text != NULL, "out of memory");
	FUZZ_CHECK(mailbox_send(mb, i, body_lines, collect, out) == 0, "mailbox_send of message %zu failed", i);
}

void fuzz_msg_free(struct fuzz_msg *m)
{
	free(m->text);
	m->text = NULL;
	m->len = 0;
}

void fuzz_check_pop3_body(const struct fuzz_msg *m, unsigned long long size)
{
	size_t stuffed = 0, bol = 0;

	for (size_t i = 0; i < m->len; i++) {
		if (m->text[i] != '\n')
			continue;
		FUZZ_CHECK(i > 0 && m->text[i - 1] == '\r', "message has a bare LF at offset %zu", i);
		/* A line starting with '.' must have been stuffed: ".." then the original text. */
		if (m->text[bol] == '.') {
			FUZZ_CHECK(i - bol >= 3 && m->text[bol + 1] == '.',
				   "line at offset %zu starts with an unstuffed dot: \"%.40s\"", bol, m->text + bol);
			stuffed++;
		}
		bol = i + 1;
	}
	FUZZ_CHECK(bol == m->len, "message does not end with CRLF (%zu octets after the last)", m->len - bol);
	FUZZ_CHECK(m->len - stuffed == size, "LIST size %llu but RETR sends %zu octets (%zu stuffed dots)", size,
		   m->len, stuffed);
}
