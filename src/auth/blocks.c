/* blocks.c - accounts blocked by an admin: a small tab-separated file in server.state_dir, replaced whole. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth_int.h"
#include "auth/blocks.h"
#include "common/log.h"

/* Each version of the file is reported on once, like the passwd file. */
static struct auth_file_seen blocks_seen;

bool auth_block_active(const struct auth_block *b, time_t now)
{
	return b->until == 0 || b->until > (int64_t)now;
}

/* text_ok - printable text shorter than CAP: a tab or newline would add a field or a line. */
static bool text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool auth_block_note_ok(const char *note)
{
	return text_ok(note, AUTH_BLOCK_NOTE_MAX);
}

/* blocks_path - server.state_dir/NAME into OUT. 0 or -1. */
static int blocks_path(const struct config *cfg, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", conf(cfg)->server.state_dir, name);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* next_field - the text up to the next tab (or the end) of *P, NUL-terminated; *P moves past it. */
static char *next_field(char **p)
{
	char *f = *p, *tab;

	if (f == NULL)
		return NULL;
	tab = strchr(f, '\t');
	if (tab != NULL)
		*tab++ = '\0';
	*p = tab;
	return f;
}

/* parse_time - epoch seconds from decimal TEXT. 0 or -1. */
static int parse_time(const char *text, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* parse_line - "user TAB since TAB until TAB pop TAB by TAB note" into B. 0, or -1 with *why. */
static int parse_line(char *line, struct auth_block *b, const char **why)
{
	char *p = line;
	char *f[6];

	for (int i = 0; i < 6; i++)
		if ((f[i] = next_field(&p)) == NULL) {
			*why = "fewer than 6 tab-separated fields";
			return -1;
		}
	memset(b, 0, sizeof(*b));
	if (!auth_name_valid(f[0]) || parse_time(f[1], &b->since) < 0 || parse_time(f[2], &b->until) < 0 ||
	    (strcmp(f[3], "0") != 0 && strcmp(f[3], "1") != 0) || !text_ok(f[4], sizeof(b->by)) ||
	    !auth_block_note_ok(f[5]) || p != NULL) {
		*why = "malformed block";
		return -1;
	}
	snprintf(b->user, sizeof(b->user), "%s", f[0]);
	b->pop = f[3][0] == '1';
	snprintf(b->by, sizeof(b->by), "%s", f[4]);
	snprintf(b->note, sizeof(b->note), "%s", f[5]);
	return 0;
}

/* push - append a copy of E to B. 0 or -1 (out of memory, or past AUTH_BLOCKS_MAX). */
static int push(struct auth_blocks *b, const struct auth_block *e)
{
	struct auth_block *v;

	if (b->n >= AUTH_BLOCKS_MAX)
		return -1;
	if ((b->n & (b->n - 1)) == 0) {   /* grow at 1, 2, 4, ... */
		v = realloc(b->v, (b->n ? b->n * 2 : 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		b->v = v;
	}
	b->v[b->n++] = *e;
	return 0;
}

void auth_blocks_free(struct auth_blocks *b)
{
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

/* read_blocks - every block in force at NOW from the open file LF into B. 0 or -1. */
static int read_blocks(struct auth_linefile *lf, struct auth_blocks *b, time_t now)
{
	struct auth_block e;
	const char *why;
	int r;

	while ((r = auth_linefile_next(lf)) == 1) {
		if (parse_line(lf->line, &e, &why) < 0) {
			auth_linefile_bad(lf, "%s", why);
			continue;
		}
		if (!auth_block_active(&e, now))
			continue;
		if (push(b, &e) < 0) {
			log_err("%s: more than %d blocks, or out of memory", lf->path, AUTH_BLOCKS_MAX);
			return -1;
		}
	}
	return r;
}

int auth_blocks_load(const struct config *cfg, struct auth_blocks *b, time_t now)
{
	struct auth_linefile lf;
	char path[PATH_MAX];
	int r;

	b->v = NULL;
	b->n = 0;
	if (blocks_path(cfg, AUTH_BLOCKS_FILE, path, sizeof(path)) < 0) {
		log_err("blocks: server.state_dir is too long");
		return -1;
	}
	if (auth_linefile_open(&lf, path, &blocks_seen) < 0) {
		if (errno == ENOENT)
			return 0;   /* nobody was ever blocked */
		log_err("blocks: cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	r = read_blocks(&lf, b, now);
	if (lf.at_eof)
		blocks_seen = lf.now;
	auth_linefile_close(&lf);
	if (r < 0)
		auth_blocks_free(b);
	return r < 0 ? -1 : 0;
}

int auth_block_find(const struct config *cfg, const char *user, time_t now, struct auth_block *out)
{
	struct auth_blocks b;
	int found = 0;

	if (auth_blocks_load(cfg, &b, now) < 0)
		return -1;
	for (size_t i = 0; i < b.n && !found; i++)
		if (strcmp(b.v[i].user, user) == 0) {
			found = 1;
			if (out != NULL)
				*out = b.v[i];
		}
	auth_blocks_free(&b);
	return found;
}

enum auth_result auth_block_login(const struct config *cfg, const char *user, const char *proto, time_t now,
				  bool *relay)
{
	struct auth_block b;
	int r = auth_block_find(cfg, user, now, &b);

	*relay = r == 0;
	if (r < 0)
		return AUTH_TEMPFAIL;
	if (r == 0)
		return AUTH_OK;
	if (strncmp(proto, "pop3", 4) != 0 || b.pop)
		return AUTH_REFUSED;
	return AUTH_OK;
}
