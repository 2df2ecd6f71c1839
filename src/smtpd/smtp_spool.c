/* smtp_spool.c - message storage for one transaction: bounded memory, then an unlinked file. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_spool.h"

struct smtp_spool {
	char *mem;           /* the message while it is small */
	size_t mem_len, mem_cap, mem_max;
	FILE *file;          /* after spilling: everything, memory part included */
	uint64_t size;
	size_t rpos;         /* read cursor in mem */
	char tmpdir[256];
	char line[SMTP_TEXT_LINE_MAX + 2]; /* one piece read back from the file */
};

struct smtp_spool *smtp_spool_new(size_t mem_max, const char *tmpdir)
{
	struct smtp_spool *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		return NULL;
	sp->mem_max = mem_max;
	snprintf(sp->tmpdir, sizeof(sp->tmpdir), "%s", tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
	return sp;
}

void smtp_spool_free(struct smtp_spool **sp)
{
	if (*sp == NULL)
		return;
	smtp_spool_reset(*sp);
	free((*sp)->mem);
	free(*sp);
	*sp = NULL;
}

void smtp_spool_reset(struct smtp_spool *sp)
{
	if (sp->file != NULL)
		fclose(sp->file);
	sp->file = NULL;
	sp->mem_len = 0;
	sp->size = 0;
	sp->rpos = 0;
}

/* open_unlinked - a temporary file nobody else can open and that vanishes with us. */
static int open_unlinked(const char *dir)
{
	char path[300];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* File systems without O_TMPFILE: create and unlink at once. */
	if (snprintf(path, sizeof(path), "%s/popgate-smtp.XXXXXX", dir) >= (int)sizeof(path))
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* spill - move what is in memory into a fresh temporary file. */
static int spill(struct smtp_spool *sp)
{
	int fd = open_unlinked(sp->tmpdir);

	if (fd < 0) {
		log_err("smtp: spool: cannot create a temporary file in %s: %s", sp->tmpdir, strerror(errno));
		return -1;
	}
	sp->file = fdopen(fd, "w+");
	if (sp->file == NULL) {
		log_err("smtp: spool: fdopen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (sp->mem_len > 0 && fwrite(sp->mem, 1, sp->mem_len, sp->file) != sp->mem_len) {
		log_err("smtp: spool: write to %s: %s", sp->tmpdir, strerror(errno));
		return -1;
	}
	sp->mem_len = 0;
	return 0;
}

/* grow - make room for NEED more bytes in memory; false when the memory bound is reached. */
static bool grow(struct smtp_spool *sp, size_t need)
{
	size_t cap = sp->mem_cap != 0 ? sp->mem_cap : 16384;
	char *p;

	if (sp->mem_len + need > sp->mem_max)
		return false;
	while (cap < sp->mem_len + need)
		cap *= 2;
	if (cap > sp->mem_max)
		cap = sp->mem_max;
	if (cap == sp->mem_cap)
		return true;
	p = realloc(sp->mem, cap);
	if (p == NULL)
		return false; /* spilling to a file is the answer to low memory too */
	sp->mem = p;
	sp->mem_cap = cap;
	return true;
}

int smtp_spool_write(struct smtp_spool *sp, const void *buf, size_t len)
{
	if (sp->file == NULL && !grow(sp, len) && spill(sp) < 0)
		return -1;
	if (sp->file != NULL) {
		if (fwrite(buf, 1, len, sp->file) != len) {
			log_err("smtp: spool: write to %s: %s", sp->tmpdir, strerror(errno));
			return -1;
		}
	} else {
		memcpy(sp->mem + sp->mem_len, buf, len);
		sp->mem_len += len;
	}
	sp->size += len;
	return 0;
}

uint64_t smtp_spool_size(const struct smtp_spool *sp)
{
	return sp->size;
}

int smtp_spool_rewind(struct smtp_spool *sp)
{
	sp->rpos = 0;
	if (sp->file == NULL)
		return 0;
	if (fflush(sp->file) != 0 || fseeko(sp->file, 0, SEEK_SET) != 0) {
		log_err("smtp: spool: rewind: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* next_from_file - one piece read back from the temporary file. */
static int next_from_file(struct smtp_spool *sp, const char **piece, size_t *len, bool *eol)
{
	size_t n = 0;
	int c = 0;

	while (n < sizeof(sp->line) && (c = getc_unlocked(sp->file)) != EOF) {
		sp->line[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (c == EOF && ferror(sp->file)) {
		log_err("smtp: spool: read back: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	*piece = sp->line;
	*len = n;
	*eol = sp->line[n - 1] == '\n';
	return 1;
}

int smtp_spool_next(struct smtp_spool *sp, const char **piece, size_t *len, bool *eol)
{
	const char *nl;
	size_t n;

	if (sp->file != NULL)
		return next_from_file(sp, piece, len, eol);
	if (sp->rpos >= sp->mem_len)
		return 0;
	nl = memchr(sp->mem + sp->rpos, '\n', sp->mem_len - sp->rpos);
	n = nl != NULL ? (size_t)(nl - (sp->mem + sp->rpos)) + 1 : sp->mem_len - sp->rpos;
	*piece = sp->mem + sp->rpos;
	*len = n;
	*eol = nl != NULL;
	sp->rpos += n;
	return 1;
}
