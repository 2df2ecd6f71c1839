/* admin_session_store.c - helpdesk sessions kept over a reload: the table saved in server.state_dir/admin-sessions (0600). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin_session.h"
#include "common/log.h"

/* save_one - one used session as a line: id csrf user role created last. */
static void save_one(FILE *fp, const struct admin_session *s)
{
	fprintf(fp, "%s\t%s\t%s\t%d\t%lld\t%lld\n", s->id, s->csrf, s->user, (int)s->role, (long long)s->created,
		(long long)s->last);
}

int admin_sessions_save(const struct admin_sessions *t, const char *path)
{
	char tmp[4200];
	FILE *fp;
	int fd, bad;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		log_err("admin: cannot save the sessions in %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++)
		if (t->s[i].used)
			save_one(fp, &t->s[i]);
	bad = fflush(fp) != 0 || ferror(fp);
	bad = fclose(fp) != 0 || bad;
	if (bad || rename(tmp, path) < 0) {
		log_err("admin: cannot save the sessions in %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* parse_one - a saved line into S; false when malformed. */
static bool parse_one(char *line, struct admin_session *s)
{
	char *f[6], *p = line, *end;
	long long created, last;
	long role;

	for (int i = 0; i < 6; i++) {
		f[i] = p;
		p = p != NULL ? strchr(p, '\t') : NULL;
		if (i < 5 && p == NULL)
			return false;
		if (p != NULL)
			*p++ = '\0';
	}
	f[5][strcspn(f[5], "\n")] = '\0';
	role = strtol(f[3], &end, 10);
	created = strtoll(f[4], &end, 10);
	last = strtoll(f[5], &end, 10);
	if (strlen(f[0]) != ADMIN_TOKEN_HEX - 1 || strlen(f[1]) != ADMIN_TOKEN_HEX - 1 || strlen(f[2]) == 0 ||
	    strlen(f[2]) >= ADMIN_NAME_MAX || (role != ADMIN_ROLE_VIEWER && role != ADMIN_ROLE_ADMIN))
		return false;
	memset(s, 0, sizeof(*s));
	s->used = true;
	memcpy(s->id, f[0], ADMIN_TOKEN_HEX);
	memcpy(s->csrf, f[1], ADMIN_TOKEN_HEX);
	memcpy(s->user, f[2], strlen(f[2]) + 1);
	s->role = (enum admin_role)role;
	s->created = (time_t)created;
	s->last = (time_t)last;
	return true;
}

size_t admin_sessions_load(struct admin_sessions *t, const char *path, time_t now)
{
	char line[512];
	size_t n = 0;
	FILE *fp = fopen(path, "re");

	if (fp == NULL)
		return 0;
	while (n < ADMIN_SESSIONS_MAX && fgets(line, sizeof(line), fp) != NULL) {
		struct admin_session s;
		if (!parse_one(line, &s) || now - s.last >= t->idle || now - s.created >= ADMIN_SESSION_MAX_AGE)
			continue;
		t->s[n++] = s;
		explicit_bzero(&s, sizeof(s));
	}
	explicit_bzero(line, sizeof(line));
	fclose(fp);
	return n;
}
