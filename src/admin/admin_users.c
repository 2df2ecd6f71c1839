/* admin_users.c - parse and re-read admin.users_file, the helpdesk accounts and their roles. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/admin_users.h"
#include "common/log.h"

void admin_users_init(struct admin_users *u, const char *path)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->path, sizeof(u->path), "%s", path ? path : "");
}

void admin_users_free(struct admin_users *u)
{
	if (u->v)
		explicit_bzero(u->v, u->n * sizeof(*u->v));
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

bool admin_user_name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= ADMIN_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@'))
			return false;
	}
	return true;
}

/* hash_ok - printable, no separators: crypt(3) output only ever uses [./0-9A-Za-z$,=+-]. */
static bool hash_ok(const char *h, size_t len)
{
	if (len < 2 || len >= ADMIN_HASH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (h[i] <= ' ' || h[i] > '~' || h[i] == ':')
			return false;
	return h[0] != '!' && h[0] != '*';   /* locked-account markers never match anything */
}

int admin_users_parse_line(const char *line, struct admin_user *out, const char **why)
{
	const char *c1 = strchr(line, ':'), *c2;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (!c1 || !(c2 = strchr(c1 + 1, ':')))
		return *why = "expected name:HASH:ROLE", -1;
	if (!admin_user_name_ok(line, (size_t)(c1 - line)))
		return *why = "bad user name (letters, digits and . _ - @, at most 64)", -1;
	hlen = (size_t)(c2 - c1 - 1);
	if (!hash_ok(c1 + 1, hlen))
		return *why = "bad or locked password hash (make one with `popgatectl passwd`)", -1;
	if (strcmp(c2 + 1, "admin") == 0)
		out->role = ADMIN_ROLE_ADMIN;
	else if (strcmp(c2 + 1, "viewer") == 0)
		out->role = ADMIN_ROLE_VIEWER;
	else
		return *why = "role must be viewer or admin", -1;
	memcpy(out->name, line, (size_t)(c1 - line));
	memcpy(out->hash, c1 + 1, hlen);
	return 0;
}

const struct admin_user *admin_users_find(const struct admin_users *u, const char *name)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

/* chomp - strip the line end; false when the line did not end (too long, or the file's last line). */
static bool chomp(char *line, bool *eof_line)
{
	size_t n = strlen(line);

	*eof_line = false;
	if (n > 0 && line[n - 1] == '\n') {
		line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		return true;
	}
	*eof_line = true;
	return false;
}

/* add_line - parse one line into the table, logging a bad one as FILE:LINE. */
static void add_line(struct admin_users *u, const char *line, unsigned lineno)
{
	struct admin_user a;
	const char *why;

	if (line[0] == '\0' || line[0] == '#')
		return;
	if (admin_users_parse_line(line, &a, &why) < 0) {
		log_err("%s:%u: %s; line skipped", u->path, lineno, why);
	} else if (admin_users_find(u, a.name)) {
		log_err("%s:%u: user %s appears twice; line skipped", u->path, lineno, a.name);
	} else if (u->n >= ADMIN_USERS_MAX) {
		log_err("%s:%u: more than %d users; the rest is ignored", u->path, lineno, ADMIN_USERS_MAX);
	} else {
		u->v[u->n++] = a;
	}
	explicit_bzero(&a, sizeof(a));
}

/* read_file - parse the open file F into U's table. */
static int read_file(struct admin_users *u, FILE *f)
{
	char line[ADMIN_USERS_LINE_MAX + 2];
	unsigned lineno = 0;
	bool skipping = false, eof_line;

	u->v = calloc(ADMIN_USERS_MAX, sizeof(*u->v));
	if (!u->v) {
		log_err("%s: out of memory", u->path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		bool whole = chomp(line, &eof_line);
		if (skipping) {          /* the rest of an over-long line */
			skipping = !whole;
			continue;
		}
		lineno++;
		if (!whole && !(eof_line && feof(f))) {
			log_err("%s:%u: line longer than %d characters; skipped", u->path, lineno,
				ADMIN_USERS_LINE_MAX);
			skipping = true;
			continue;
		}
		add_line(u, line, lineno);
	}
	explicit_bzero(line, sizeof(line));
	if (ferror(f)) {
		log_err("%s: read error: %s", u->path, strerror(errno));
		admin_users_free(u);
		return -1;
	}
	return (int)u->n;
}

int admin_users_refresh(struct admin_users *u)
{
	struct stat st;
	FILE *f;
	int n;

	if (u->path[0] == '\0')
		return u->stat_ok = false, (int)u->n;
	if (stat(u->path, &st) < 0) {
		if (!u->complained)
			log_err("%s: %s; no helpdesk login is possible", u->path, strerror(errno));
		u->complained = true;
		admin_users_free(u);
		u->stat_ok = false;
		return -1;
	}
	if (u->stat_ok && st.st_dev == u->dev && st.st_ino == u->ino && st.st_size == u->size &&
	    st.st_mtim.tv_sec == u->mtime.tv_sec && st.st_mtim.tv_nsec == u->mtime.tv_nsec)
		return (int)u->n;
	admin_users_free(u);
	u->stat_ok = false;
	f = fopen(u->path, "re");
	if (!f) {
		if (!u->complained)
			log_err("%s: %s; no helpdesk login is possible", u->path, strerror(errno));
		u->complained = true;
		return -1;
	}
	n = read_file(u, f);
	fclose(f);
	if (n < 0)
		return -1;
	u->stat_ok = true;
	u->complained = false;
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	u->size = st.st_size;
	u->mtime = st.st_mtim;
	if (st.st_mode & S_IROTH)
		log_warn("%s: readable by everyone; the password hashes should not be", u->path);
	log_info("%s: %d helpdesk account%s", u->path, n, n == 1 ? "" : "s");
	return n;
}
