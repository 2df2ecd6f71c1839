/* linefile.c - bounded line reading of the small colon files admins edit live, each problem logged once. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/auth_int.h"
#include "common/log.h"

struct auth_file_seen auth_file_seen_of(const struct stat *st)
{
	return (struct auth_file_seen){ .dev = st->st_dev, .ino = st->st_ino, .mtime = st->st_mtim,
					.size = st->st_size, .valid = true };
}

bool auth_file_same_version(const struct auth_file_seen *a, const struct auth_file_seen *b)
{
	return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int auth_linefile_open(struct auth_linefile *lf, const char *path, struct auth_file_seen *seen)
{
	struct stat st;

	/* The line buffer is 4 KiB; only the bookkeeping before it needs clearing. */
	memset(lf, 0, offsetof(struct auth_linefile, line));
	lf->line[0] = '\0';
	lf->path = path;
	lf->seen = seen;
	lf->fp = fopen(path, "re");
	if (lf->fp == NULL)
		return -1;
	if (fstat(fileno(lf->fp), &st) != 0) {
		int e = errno;

		fclose(lf->fp);
		lf->fp = NULL;
		errno = e;
		return -1;
	}
	lf->now = auth_file_seen_of(&st);
	lf->report = !auth_file_same_version(seen, &lf->now);
	return 0;
}

void auth_linefile_bad(struct auth_linefile *lf, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (!lf->report)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_warn("%s:%u: %s; entry skipped", lf->path, lf->lineno, what);
}

/* is_blank - whether LINE holds only spaces and tabs, or starts (after them) with '#'. */
static bool is_blank(const char *line)
{
	line += strspn(line, " \t");
	return *line == '\0' || *line == '#';
}

/*
 * read_raw - read one line into lf->line, draining whatever does not fit so the next read starts
 * on a line boundary. 1 read, 0 end of file, -1 error. *too_long and *has_nul describe the line.
 */
static int read_raw(struct auth_linefile *lf, bool *too_long, bool *has_nul)
{
	size_t len = 0;
	int c = EOF;

	*too_long = false;
	*has_nul = false;
	while ((c = getc_unlocked(lf->fp)) != EOF && c != '\n') {
		if (c == '\0')
			*has_nul = true;
		if (len < AUTH_LINE_MAX)
			lf->line[len++] = (char)c;
		else
			*too_long = true;
	}
	lf->line[len] = '\0';
	if (ferror(lf->fp)) {
		log_err("%s: read: %s", lf->path, strerror(errno));
		return -1;
	}
	if (c == EOF && len == 0 && !*too_long)
		return 0;
	if (len > 0 && lf->line[len - 1] == '\r')
		lf->line[len - 1] = '\0';
	return 1;
}

int auth_linefile_next(struct auth_linefile *lf)
{
	bool too_long, has_nul;
	int r;

	while ((r = read_raw(lf, &too_long, &has_nul)) == 1) {
		lf->lineno++;
		if (too_long) {
			auth_linefile_bad(lf, "line longer than %d bytes", AUTH_LINE_MAX);
			continue;
		}
		if (has_nul) {
			auth_linefile_bad(lf, "line contains a NUL byte");
			continue;
		}
		if (!is_blank(lf->line))
			return 1;
	}
	if (r == 0)
		lf->at_eof = true;
	return r;
}

void auth_linefile_close(struct auth_linefile *lf)
{
	if (lf->fp != NULL) {
		fclose(lf->fp);
		lf->fp = NULL;
	}
	/* Only a version read to its end has had all its problems told; otherwise tell them next time. */
	if (lf->at_eof && lf->seen != NULL)
		*lf->seen = lf->now;
	explicit_bzero(lf->line, sizeof(lf->line));
}
