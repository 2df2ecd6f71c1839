/* maildir_sizes.c - a cache of Maildir message sizes, so logins need not read every message. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Postfix and procmail name Maildir files without ",W=", so the POP3 size (CRLF line ends)
 * would otherwise cost reading every message at every login. The cache is a text file in
 * the index directory, one "POPSIZE RAWSIZE UNIQUE-NAME" line per message, rewritten whole
 * (temp + rename) when a size had to be counted or entries went stale. An entry is used only
 * if the file still has RAWSIZE bytes; Maildir files never change in place, so a name and a
 * length that match are the same message. A damaged line is skipped, never trusted.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "mailbox/maildir_sizes.h"

/* A cache larger than this is not ours (a million messages take about 80 MB). */
#define SIZES_MAX_BYTES (256u * 1024 * 1024)

struct size_entry {
	const char *base;  /* points into the loaded text */
	size_t blen;
	uint64_t raw;
	uint64_t pop;
};

struct maildir_sizes {
	char *text;
	struct size_entry *e;
	size_t n;
	size_t hits;
	bool dirty;
};

/* cmp_entry - order entries by unique name, for bsearch. */
static int cmp_entry(const void *a, const void *b)
{
	const struct size_entry *x = a;
	const struct size_entry *y = b;
	int c = memcmp(x->base, y->base, x->blen < y->blen ? x->blen : y->blen);

	return c != 0 ? c : (x->blen > y->blen) - (x->blen < y->blen);
}

/* parse_line - one "POP RAW NAME" line into E; false if malformed. */
static bool parse_line(char *line, struct size_entry *e)
{
	char *end;

	errno = 0;
	e->pop = strtoull(line, &end, 10);
	if (end == line || *end != ' ' || errno != 0)
		return false;
	line = end + 1;
	e->raw = strtoull(line, &end, 10);
	if (end == line || *end != ' ' || errno != 0 || e->pop < e->raw)
		return false;
	e->base = end + 1;
	e->blen = strlen(e->base);
	return e->blen > 0 && memchr(e->base, '/', e->blen) == NULL;
}

struct maildir_sizes *maildir_sizes_load(const struct mailbox *mb)
{
	struct maildir_sizes *c = calloc(1, sizeof(*c));
	char path[4096];
	size_t lines = 0;

	if (c == NULL || mb->index_dir == NULL || mailbox_state_path(mb, "sizes", path, sizeof(path)) < 0)
		return c;
	c->text = fileio_read_small(path, SIZES_MAX_BYTES, true, NULL);
	if (c->text == NULL)
		return c;
	for (const char *p = c->text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	c->e = calloc(lines + 1, sizeof(*c->e));
	if (c->e == NULL)
		return c;
	for (char *line = c->text, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (parse_line(line, &c->e[c->n]))
			c->n++;
	}
	qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	return c;
}

bool maildir_sizes_get(struct maildir_sizes *c, const char *base, size_t blen, uint64_t raw, uint64_t *pop)
{
	struct size_entry key = { .base = base, .blen = blen };
	const struct size_entry *e;

	if (c == NULL || c->n == 0)
		return false;
	e = bsearch(&key, c->e, c->n, sizeof(*c->e), cmp_entry);
	if (e == NULL || e->raw != raw)
		return false;
	*pop = e->pop;
	c->hits++;
	return true;
}

void maildir_sizes_note_miss(struct maildir_sizes *c)
{
	if (c != NULL)
		c->dirty = true;
}

/* write_cache - the cache text for MB's messages to F; false on a write error. */
static bool write_cache(FILE *f, const struct mailbox *mb)
{
	for (size_t i = 0; i < mb->count; i++) {
		const struct mailbox_msg *m = &mb->msgs[i];
		const char *base = m->name + 4;
		size_t blen = strcspn(base, ":");

		if (memchr(base, '\n', blen) != NULL || m->len == 0)
			continue; /* unrepresentable, or sized from ",W=" and not worth caching */
		if (fprintf(f, "%" PRIu64 " %" PRIu64 " %.*s\n", m->size, m->len, (int)blen, base) < 0)
			return false;
	}
	return true;
}

void maildir_sizes_save(struct maildir_sizes *c, const struct mailbox *mb)
{
	char path[4096];
	char tmp[4200];
	FILE *f;
	bool ok;

	/* Rewrite only when something was counted or stale entries would pile up. */
	if (c == NULL || mb->index_dir == NULL || (!c->dirty && c->hits == c->n))
		return;
	if (mailbox_state_path(mb, "sizes", path, sizeof(path)) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	if (f == NULL) {
		log_err("mailbox %s: cannot create %s: %s", mb->path, tmp, strerror(errno));
		return;
	}
	ok = write_cache(f, mb);
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0) {
		log_err("mailbox %s: cannot write size cache %s: %s", mb->path, path, strerror(errno));
		unlink(tmp);
	}
}

void maildir_sizes_free(struct maildir_sizes **c)
{
	if (*c == NULL)
		return;
	free((*c)->e);
	free((*c)->text);
	free(*c);
	*c = NULL;
}
