/* filedb.c - the file backend: virtual users from auth.passwd_file, re-read on every lookup. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_int.h"
#include "common/log.h"
#include "common/mailbox_spec.h"

/* Which version of auth.passwd_file has had its problems logged (per process). */
static struct auth_file_seen passwd_seen;

/* One line split in place: name:HASH:KIND:/path[:uid:gid]. */
struct fields {
	char *name, *hash, *mailbox, *uid, *gid;
};

/* parse_id - a decimal uid or gid; -1 for anything else, including (id_t)-1 which means "none". */
static int parse_id(const char *s, uint32_t *id)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 10)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v >= UINT32_MAX) /* (uid_t)-1 means "no change" to setresuid */
		return -1;
	*id = (uint32_t)v;
	return 0;
}

/* split - cut LINE at ':' into F; the mailbox keeps its own ':' (mbox:/path). Why not, or NULL. */
static const char *split(char *line, struct fields *f)
{
	char *v[7];
	size_t n = 0;

	for (char *p = line;; p++) {
		if (n == 7)
			return "too many ':'-separated fields";
		v[n++] = p;
		if ((p = strchr(p, ':')) == NULL)
			break;
		*p = '\0';
	}
	if (n != 4 && n != 6)
		return "expected name:HASH:mbox|maildir:/path[:uid:gid]";
	v[2][strlen(v[2])] = ':';   /* rejoin KIND and path into the mailbox */
	*f = (struct fields){ .name = v[0], .hash = v[1], .mailbox = v[2],
			      .uid = n == 6 ? v[4] : NULL, .gid = n == 6 ? v[5] : NULL };
	return NULL;
}

/* check_fields - validate a split line into E (uid/gid left 0 when absent). Why not, or NULL. */
static const char *check_fields(const struct fields *f, struct auth_entry *e, bool *has_ids)
{
	uint32_t uid = 0, gid = 0;
	const char *why;

	if (!auth_name_valid(f->name))
		return "invalid user name";
	if (f->hash[0] == '\0')
		return "empty password hash (use ! or * to lock the account)";
	if (strlen(f->hash) >= sizeof(e->hash))
		return "password hash too long";
	if ((why = mailbox_spec_check(f->mailbox)) != NULL)
		return why;
	if (strlen(f->mailbox) >= sizeof(e->user.mailbox))
		return "mailbox too long";
	*has_ids = f->uid != NULL;
	if (f->uid != NULL && parse_id(f->uid, &uid) != 0)
		return "uid is not a number below 4294967295";
	if (f->uid != NULL && parse_id(f->gid, &gid) != 0)
		return "gid is not a number below 4294967295";
	if (f->uid != NULL && uid == 0)
		return "uid 0 (root) is not allowed";
	memset(e, 0, sizeof(*e));
	memcpy(e->user.name, f->name, strlen(f->name) + 1);
	memcpy(e->hash, f->hash, strlen(f->hash) + 1);
	memcpy(e->user.mailbox, f->mailbox, strlen(f->mailbox) + 1);
	e->user.uid = (uid_t)uid;
	e->user.gid = (gid_t)gid;
	return NULL;
}

/*
 * scan - read the whole file (every bad line gets reported, and the time spent does not depend on
 * where NAME is), keeping NAME's first valid entry in E. 1 found, 0 not, -1 read error.
 */
static int scan(struct auth_linefile *lf, const char *name, struct auth_entry *e, bool *has_ids)
{
	struct auth_entry cand;
	unsigned found_at = 0;
	int r;

	while ((r = auth_linefile_next(lf)) == 1) {
		struct fields f;
		bool ids = false;
		const char *why = split(lf->line, &f);

		if (why == NULL)
			why = check_fields(&f, &cand, &ids);
		if (why != NULL)
			auth_linefile_bad(lf, "%s", why);
		else if (strcmp(cand.user.name, name) != 0)
			continue;
		else if (found_at != 0)
			auth_linefile_bad(lf, "duplicate entry for %s (line %u is used)", name, found_at);
		else {
			*e = cand;
			*has_ids = ids;
			found_at = lf->lineno;
		}
	}
	explicit_bzero(&cand, sizeof(cand));
	return r < 0 ? -1 : found_at != 0;
}

/* NSS buffers double on ERANGE up to this (a group with thousands of members needs a lot). */
#define NSS_BUF_MAX (1024 * 1024)

/* server_uid - uid and primary gid of USER. 0, or -1 logged. */
static int server_uid(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);

	if (res == NULL) {
		log_err("auth: server.user %s: %s", user, rc != 0 ? strerror(rc) : "no such user");
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

/* server_gid - gid of GROUP, growing the buffer for large member lists. 0, or -1 logged. */
static int server_gid(const char *group, gid_t *gid)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	int rc = ERANGE;

	for (size_t size = 4096; rc == ERANGE && size <= NSS_BUF_MAX; size *= 2) {
		free(buf);
		if ((buf = malloc(size)) == NULL) {
			rc = ENOMEM;
			break;
		}
		rc = getgrnam_r(group, &gr, buf, size, &res);
	}
	if (res != NULL)
		*gid = gr.gr_gid;
	else
		log_err("auth: server.group %s: %s", group, rc != 0 ? strerror(rc) : "no such group");
	free(buf);
	return res != NULL ? 0 : -1;
}

/* lookup_ids - who a virtual user without uid:gid runs as: server.user (and server.group if set). */
static int lookup_ids(const struct config *cfg, uid_t *uid, gid_t *gid)
{
	const char *group = conf(cfg)->server.group;

	if (server_uid(conf(cfg)->server.user, uid, gid) != 0)
		return -1;
	return group[0] == '\0' ? 0 : server_gid(group, gid);
}

/* open_passwd - open auth.passwd_file; -1 logged when it is unset or unreadable. */
static int open_passwd(const struct config *cfg, struct auth_linefile *lf)
{
	const char *path = conf(cfg)->auth.passwd_file;

	if (path[0] == '\0') {
		log_err("auth: auth.backend is file but auth.passwd_file is not set");
		return -1;
	}
	if (auth_linefile_open(lf, path, &passwd_seen) != 0) {
		log_err("auth: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

enum auth_result auth_file_lookup(const struct config *cfg, const char *name, struct auth_entry *e)
{
	struct auth_linefile *lf = malloc(sizeof(*lf));
	enum auth_result r = AUTH_TEMPFAIL;
	bool has_ids = false;
	int found;

	memset(e, 0, sizeof(*e));
	if (lf == NULL) {
		log_err("auth: out of memory reading the passwd file");
		return AUTH_TEMPFAIL;
	}
	if (open_passwd(cfg, lf) != 0) {
		free(lf);
		return AUTH_TEMPFAIL;
	}
	found = scan(lf, name, e, &has_ids);
	if (found == 0) {
		log_debug("auth: no virtual user %s in %s", LOG_Q(name), lf->path);
		r = AUTH_FAIL;
	} else if (found > 0 && !auth_hash_usable(e->hash)) {
		log_info("auth: virtual user %s refused: account locked", LOG_Q(name));
		r = AUTH_FAIL;
	} else if (found > 0)
		r = has_ids || lookup_ids(cfg, &e->user.uid, &e->user.gid) == 0 ? AUTH_OK : AUTH_TEMPFAIL;
	auth_linefile_close(lf);
	free(lf);
	if (r != AUTH_OK)
		explicit_bzero(e, sizeof(*e));
	return r;
}
