/* mailbox_testutil.c - helpers for the mailbox driver tests: temp dirs, files, capturing RETR. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox_testutil.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char buf[4096];
	char *dir;

	snprintf(buf, sizeof(buf), "%s/popgate-mbx-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
	dir = mkdtemp(buf);
	ck_assert_msg(dir != NULL, "mkdtemp: %s", strerror(errno));
	dir = strdup(dir);
	ck_assert_ptr_nonnull(dir);
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tu_rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_path(const char *dir, const char *name)
{
	static char bufs[4][4096];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* write_all - write LEN bytes or fail the test. */
static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		p += w;
		len -= (size_t)w;
	}
}

void tu_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	write_all(fd, data, len);
	ck_assert_int_eq(close(fd), 0);
}

void tu_append_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), 0);
	write_all(fd, data, len);
	ck_assert_int_eq(close(fd), 0);
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct tu_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tu_buf_write(&b, chunk, n);
	fclose(f);
	tu_buf_write(&b, "", 1);
	*len = b.len - 1;
	return b.data;
}

int tu_buf_write(void *arg, const void *buf, size_t len)
{
	struct tu_buf *b = arg;

	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		ck_assert_ptr_nonnull(b->data);
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void tu_buf_free(struct tu_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

char *tu_send(struct mailbox *mb, size_t i, long body_lines, size_t *len)
{
	struct tu_buf b = { 0 };

	ck_assert_int_eq(mailbox_send(mb, i, body_lines, tu_buf_write, &b), 0);
	tu_buf_write(&b, "", 0);
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
	struct tu_buf b = { 0 };
	bool bol = true;

	/* Byte by byte, deliberately unlike the formatter's line-at-a-time code. */
	for (size_t i = 0; i < len; i++) {
		char c = raw[i];

		if (bol && c == '.')
			tu_buf_write(&b, ".", 1);
		if (c == '\n' && (i == 0 || raw[i - 1] != '\r'))
			tu_buf_write(&b, "\r", 1);
		tu_buf_write(&b, &c, 1);
		bol = c == '\n';
	}
	if (len > 0 && raw[len - 1] != '\n')
		tu_buf_write(&b, raw[len - 1] == '\r' ? "\n" : "\r\n", raw[len - 1] == '\r' ? 1 : 2);
	tu_buf_write(&b, "", 0);
	if (b.data == NULL)
		b.data = calloc(1, 1);
	*outlen = b.len;
	return b.data;
}
