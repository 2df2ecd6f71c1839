/* pop3fmt.c - POP3 line-end conversion, dot-stuffing, TOP limits and sizes, one line per step. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "mailbox/pop3fmt.h"

/*
 * Both the formatter and the size counter step from LF to LF with memchr() and copy whole
 * line segments, so a 1 GB RETR costs one memchr and one memcpy per line, not a call per byte.
 */

void pop3fmt_init(struct pop3fmt *f, long body_lines)
{
	memset(f, 0, sizeof(*f));
	f->bol = true;
	f->lines_left = body_lines;
}

/* line_ended - account for a finished line: the header/body blank line and TOP's count. */
static void line_ended(struct pop3fmt *f)
{
	bool empty = f->linelen == 0 || (f->linelen == 1 && f->cr);

	if (!f->in_body) {
		if (empty) {
			f->in_body = true;
			if (f->lines_left == 0)
				f->done = true;
		}
		return;
	}
	if (f->lines_left > 0 && --f->lines_left == 0)
		f->done = true;
}

size_t pop3fmt_run(struct pop3fmt *f, const char *in, size_t len, char *out, size_t *used)
{
	const char *p = in;
	const char *end = in + len;
	char *o = out;

	while (p < end && !f->done) {
		if (f->bol) {
			if (*p == '.')
				*o++ = '.';
			f->bol = false;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		memcpy(o, p, n);
		o += n;
		if (n > 0) {
			f->cr = p[n - 1] == '\r';
			f->linelen = f->linelen + n > 2 ? 2 : f->linelen + n;
		}
		if (nl == NULL) {
			p = end;
			break;
		}
		if (!f->cr)
			*o++ = '\r';
		*o++ = '\n';
		line_ended(f);
		f->bol = true;
		f->cr = false;
		f->linelen = 0;
		p = nl + 1;
	}
	*used = (size_t)(p - in);
	return (size_t)(o - out);
}

size_t pop3fmt_finish(struct pop3fmt *f, char *out)
{
	size_t n = 0;

	if (f->done || f->bol)
		return 0;
	if (!f->cr)
		out[n++] = '\r';
	out[n++] = '\n';
	f->bol = true;
	f->cr = false;
	f->linelen = 0;
	return n;
}

void pop3size_init(struct pop3size *s)
{
	memset(s, 0, sizeof(*s));
}

void pop3size_add(struct pop3size *s, const char *buf, size_t len)
{
	const char *p = buf;
	const char *end = buf + len;
	uint64_t bare = 0;

	if (len == 0)
		return;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break;
		if (nl > buf ? nl[-1] != '\r' : !s->cr)
			bare++;
		p = nl + 1;
	}
	s->octets += len + bare;
	s->any = true;
	s->cr = end[-1] == '\r';
	s->lf = end[-1] == '\n';
}

uint64_t pop3size_result(const struct pop3size *s)
{
	if (!s->any || s->lf)
		return s->octets;
	return s->octets + (s->cr ? 1 : 2);
}

uint64_t pop3fmt_size(const char *msg, size_t len)
{
	struct pop3size s;

	pop3size_init(&s);
	pop3size_add(&s, msg, len);
	return pop3size_result(&s);
}
