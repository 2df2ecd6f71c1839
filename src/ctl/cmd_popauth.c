/* cmd_popauth.c - popgatectl import-popauth: carry qpopper's APOP secrets over into auth.apop_secrets_file. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * qpopper keeps APOP secrets in its popauth database (/etc/pop.auth), a dbm file whose record
 * layout and secret obfuscation depend on how qpopper was built (ndbm, gdbm or Berkeley DB,
 * and the obfuscation in popauth.c); popgate does not guess at it. What it reads is the text
 * export `popauth -list` prints on the old machine (one user and secret a line), also
 * accepted as "user:secret" or "user secret": docs/MIGRATING.md shows the steps.
 *
 * The result is written the way the file is read (src/auth/apop.c: "name:secret" lines):
 * every other line of the file is kept as it is, an imported user's secret replaces the old
 * one, new users are added at the end, and the file is replaced whole (temp file, fsync,
 * rename), keeping its owner and mode, or 0600 when it is new: it holds secrets in the clear.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth_int.h"
#include "common/config_keys.h"
#include "ctl/ctl.h"

/* Most users one import takes: far above any qpopper installation, and it bounds memory. */
#define POPAUTH_MAX_USERS 100000

/* One user and secret, from the export or the existing file. */
struct secret {
	char name[AUTH_NAME_MAX];
	char secret[AUTH_SECRET_MAX];
};

struct secrets {
	struct secret *v;
	size_t n, cap;
};

/* find - NAME's entry in S, or NULL. */
static struct secret *find(struct secrets *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

/* put - set NAME's secret in S (replacing). 1 new, 0 replaced, -1 out of memory or too many. */
static int put(struct secrets *s, const char *name, const char *secret)
{
	struct secret *e = find(s, name);
	int added = e == NULL;

	if (e == NULL) {
		if (s->n == s->cap) {
			size_t cap = s->cap == 0 ? 64 : s->cap * 2;
			struct secret *v = cap <= POPAUTH_MAX_USERS ? reallocarray(s->v, cap, sizeof(*v)) : NULL;

			if (v == NULL)
				return -1;
			s->v = v;
			s->cap = cap;
		}
		e = &s->v[s->n++];
		snprintf(e->name, sizeof(e->name), "%s", name);
	}
	snprintf(e->secret, sizeof(e->secret), "%s", secret);
	return added;
}

/* split - LINE as "user secret" or "user:secret" (trailing CR/space dropped): why not, or NULL. */
static const char *split(char *line, char **name, char **secret)
{
	size_t n = strlen(line);
	char *p = line;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*name = p;
	p += strcspn(p, ": \t");
	if (*p == '\0')
		return "expected a user and a secret";
	*p++ = '\0';
	while (*p == ' ' || *p == '\t' || *p == ':')
		p++;
	*secret = p;
	if (!auth_name_valid(*name))
		return "invalid user name";
	if (**secret == '\0')
		return "empty secret";
	if (strlen(*secret) >= AUTH_SECRET_MAX)
		return "secret too long";
	return NULL;
}

/* read_export - add each "user secret" line of PATH to S, reporting and counting the lines skipped. 0 or -1. */
static int read_export(const char *path, struct secrets *s, long *skipped)
{
	FILE *f = fopen(path, "re");
	char line[AUTH_LINE_MAX + 2];
	unsigned lineno = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name = NULL, *secret = NULL;
		const char *why = NULL;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			int c;

			while ((c = getc(f)) != EOF && c != '\n')
				;
			why = "line too long";
		} else if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0') {
			continue;
		}
		if (why != NULL || (why = split(line, &name, &secret)) != NULL) {
			printf("skipped line %u: %s\n", lineno, why);
			++*skipped;
		} else if (put(s, name, secret) < 0) {
			fclose(f);
			errno = ENOMEM;
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/*
 * copy_existing - copy the current secrets file OLD to OUT, with the secret of each user in S
 * replaced (apop.c's "name:secret", split at the first ':'); other lines as they are. Marks the
 * users written in USED and counts them in *REPLACED. A missing file is empty. 0 or -1.
 */
static int copy_existing(FILE *old, FILE *out, const struct secrets *s, bool *used, long *replaced)
{
	char line[AUTH_LINE_MAX + 2];
	bool at_start = true;

	while (old != NULL && fgets(line, sizeof(line), old) != NULL) {
		char *colon = strchr(line, ':');
		const struct secret *e = NULL;
		bool starts = at_start;

		at_start = strchr(line, '\n') != NULL; /* a longer line comes in pieces: copy them as they are */
		if (starts && colon != NULL) {
			*colon = '\0';
			e = find((struct secrets *)s, line);
			*colon = ':';
		}
		if (e != NULL && !used[e - s->v]) {
			used[e - s->v] = true;
			++*replaced;
			if (fprintf(out, "%s:%s\n", e->name, e->secret) < 0)
				return -1;
		} else if (e == NULL && fputs(line, out) == EOF) {
			return -1;
		}
	}
	return old != NULL && ferror(old) ? -1 : 0;
}

/* open_temp - a temp file beside PATH with its owner and mode (0600 when PATH is new). */
static FILE *open_temp(const char *path, char *tmp, size_t cap)
{
	struct stat old;
	bool had = stat(path, &old) == 0;
	int fd;
	FILE *f;

	if (snprintf(tmp, cap, "%s.popgatectl-new", path) >= (int)cap)
		return NULL;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	if ((had && (fchown(fd, old.st_uid, old.st_gid) < 0 || fchmod(fd, old.st_mode & 0777) < 0)) ||
	    (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return NULL;
	}
	return f;
}

/* merge_into - write PATH anew: its lines with S's users' secrets replaced, then S's new users. 0 or -1. */
static int merge_into(const char *path, const struct secrets *s, long *replaced)
{
	char tmp[4200];
	bool *used = calloc(s->n + 1, sizeof(*used));
	FILE *old = fopen(path, "re");
	FILE *out = used != NULL && (old != NULL || errno == ENOENT) ? open_temp(path, tmp, sizeof(tmp)) : NULL;
	int rc = out != NULL ? copy_existing(old, out, s, used, replaced) : -1;

	for (size_t i = 0; rc == 0 && i < s->n; i++)
		if (!used[i] && fprintf(out, "%s:%s\n", s->v[i].name, s->v[i].secret) < 0)
			rc = -1;
	if (out != NULL && (fflush(out) != 0 || fsync(fileno(out)) != 0))
		rc = -1;
	if (out != NULL && fclose(out) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0 && out != NULL)
		unlink(tmp);
	if (old != NULL)
		fclose(old);
	free(used);
	return rc;
}

int ctl_import_popauth(const struct config *cfg, int argc, char **argv)
{
	const char *path = conf(cfg)->auth.apop_secrets_file;
	struct secrets s = { 0 };
	long skipped = 0, replaced = 0;
	int rc = 0;

	if (argc != 1) {
		fprintf(stderr, "popgatectl import-popauth: expected FILE, the text `popauth -list` printed\n");
		return CTL_EX_USAGE;
	}
	if (path[0] == '\0') {
		fprintf(stderr, "popgatectl import-popauth: auth.apop_secrets_file is not set: set it first\n");
		return CFG_EXIT;
	}
	if (read_export(argv[0], &s, &skipped) < 0) {
		fprintf(stderr, "popgatectl import-popauth: %s: %s\n", argv[0], strerror(errno));
		rc = 1;
	} else if (s.n == 0 && skipped > 0) {
		fprintf(stderr, "popgatectl import-popauth: %s: no usable line, nothing imported\n", argv[0]);
		rc = 1;
	} else if (s.n > 0 && merge_into(path, &s, &replaced) < 0) {
		fprintf(stderr, "popgatectl import-popauth: writing %s: %s; it is unchanged\n", path, strerror(errno));
		rc = CTL_EX_TEMPFAIL;
	} else {
		printf("%zu imported (%zu new, %ld replaced), %ld skipped, into %s\n", s.n, s.n - (size_t)replaced,
		       replaced, skipped, path);
	}
	if (s.v != NULL)
		explicit_bzero(s.v, s.cap * sizeof(*s.v));
	free(s.v);
	return rc;
}
