/* filedb.c - the file backend: virtual users from auth.passwd_file, read again whenever it changes. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
	if (f->uid != NULL && gid == 0)
		return "gid 0 (root) is not allowed"; /* a mailbox process could read root's group files */
	memset(e, 0, sizeof(*e));
	memcpy(e->user.name, f->name, strlen(f->name) + 1);
	memcpy(e->hash, f->hash, strlen(f->hash) + 1);
	memcpy(e->user.mailbox, f->mailbox, strlen(f->mailbox) + 1);
	e->user.uid = (uid_t)uid;
	e->user.gid = (gid_t)gid;
	return NULL;
}

/* One valid entry of the file, its strings in the same allocation. */
struct held_user {
	char *name, *hash, *mailbox;
	uint32_t uid, gid;
	bool has_ids;
	unsigned lineno;
};

/*
 * A file version that was written this recently may be written again within the same mtime tick
 * (the kernel stamps with a coarse clock) at the same size: such a version is read again at the
 * next lookup instead of trusted (git's "racily clean" rule).
 */
#define HELD_SETTLE_S 2

/* auth.passwd_file's valid entries as last read, sorted by name; trusted while its version holds. */
static struct held_file {
	char *path;
	struct auth_file_seen version;
	bool settled;                   /* read HELD_SETTLE_S or more after its mtime */
	struct held_user **users;
	size_t n;
	struct auth_burn_tally burn;   /* the kinds of hash the users have */
	unsigned long loads;
} held;

/* What the last count of the file's hashes logged: a file read again unchanged says nothing. */
static struct auth_burn_said held_said;

unsigned long auth_file_loads(void)
{
	return held.loads;
}

/* held_user_new - a copy of the checked entry E from line LINENO, or NULL. */
static struct held_user *held_user_new(const struct auth_entry *e, bool has_ids, unsigned lineno)
{
	size_t ln = strlen(e->user.name) + 1, lh = strlen(e->hash) + 1, lm = strlen(e->user.mailbox) + 1;
	struct held_user *u = malloc(sizeof(*u) + ln + lh + lm);

	if (u == NULL)
		return NULL;
	u->name = (char *)(u + 1);
	u->hash = u->name + ln;
	u->mailbox = u->hash + lh;
	memcpy(u->name, e->user.name, ln);
	memcpy(u->hash, e->hash, lh);
	memcpy(u->mailbox, e->user.mailbox, lm);
	u->uid = (uint32_t)e->user.uid;
	u->gid = (uint32_t)e->user.gid;
	u->has_ids = has_ids;
	u->lineno = lineno;
	return u;
}

/* held_user_free - wipe the hash (a secret) and free U. */
static void held_user_free(struct held_user *u)
{
	explicit_bzero(u->hash, strlen(u->hash));
	free(u);
}

/* held_users_free - free N entries and their array. */
static void held_users_free(struct held_user **users, size_t n)
{
	for (size_t i = 0; i < n; i++)
		held_user_free(users[i]);
	free(users);
}

static void held_drop(void)
{
	held_users_free(held.users, held.n);
	free(held.path);
	memset(&held, 0, offsetof(struct held_file, loads));
}

/* by_name_then_line - the sort order: a name's first valid line is the one that counts. */
static int by_name_then_line(const void *a, const void *b)
{
	const struct held_user *x = *(struct held_user *const *)a, *y = *(struct held_user *const *)b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

/* drop_duplicates - keep each name's first valid line in sorted USERS, reporting the others; the new count. */
static size_t drop_duplicates(struct auth_linefile *lf, struct held_user **users, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (kept > 0 && strcmp(users[kept - 1]->name, users[i]->name) == 0) {
			lf->lineno = users[i]->lineno; /* the report names the duplicate's line */
			auth_linefile_bad(lf, "duplicate entry for %s (line %u is used)", users[i]->name,
					  users[kept - 1]->lineno);
			held_user_free(users[i]);
			continue;
		}
		users[kept++] = users[i];
	}
	return kept;
}

/* add_user - append a copy of E to *USERS (of *N, room *CAP). 0, or -1 out of memory. */
static int add_user(struct held_user ***users, size_t *n, size_t *cap, const struct auth_entry *e, bool ids,
		    unsigned lineno)
{
	struct held_user *u;

	if (*n == *cap) {
		size_t c = *cap != 0 ? *cap * 2 : 64;
		struct held_user **v = reallocarray(*users, c, sizeof(*v));

		if (v == NULL)
			return -1;
		*users = v;
		*cap = c;
	}
	if ((u = held_user_new(e, ids, lineno)) == NULL)
		return -1;
	(*users)[(*n)++] = u;
	return 0;
}

/*
 * scan - read the whole file, reporting every bad line (once per version), into *USERS (*N of
 * them, sorted by name, one per name). 0, or -1 on a read error or out of memory (logged).
 */
static int scan(struct auth_linefile *lf, struct held_user ***users, size_t *n)
{
	struct auth_entry cand;
	size_t cap = 0;
	int r;

	*users = NULL;
	*n = 0;
	while ((r = auth_linefile_next(lf)) == 1) {
		struct fields f;
		bool ids = false;
		const char *why = split(lf->line, &f);

		if (why == NULL)
			why = check_fields(&f, &cand, &ids);
		if (why != NULL)
			auth_linefile_bad(lf, "%s", why);
		else if (add_user(users, n, &cap, &cand, ids, lf->lineno) < 0) {
			log_err("auth: out of memory reading %s", lf->path);
			r = -1;
			break;
		}
	}
	explicit_bzero(&cand, sizeof(cand));
	if (r < 0) {
		held_users_free(*users, *n);
		*users = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 0)
		qsort(*users, *n, sizeof(**users), by_name_then_line);
	*n = drop_duplicates(lf, *users, *n);
	return 0;
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

/* still_held - whether the entries held for PATH are of the version on disk now. */
static bool still_held(const char *path, const struct stat *st)
{
	struct auth_file_seen now = auth_file_seen_of(st);

	return held.path != NULL && held.settled && strcmp(held.path, path) == 0 &&
	       auth_file_same_version(&held.version, &now);
}

/* load - read PATH in full into held. 0, or -1 logged. */
static int load(const char *path)
{
	struct auth_linefile *lf = malloc(sizeof(*lf));
	struct held_user **users;
	struct timespec wall;
	char *copy;
	size_t n;
	int rc = -1;

	if (lf == NULL || (copy = strdup(path)) == NULL) {
		log_err("auth: out of memory reading %s", path);
		free(lf);
		return -1;
	}
	if (auth_linefile_open(lf, path, &passwd_seen) != 0)
		log_err("auth: %s: %s", path, strerror(errno));
	else if (scan(lf, &users, &n) == 0) {
		held_drop();
		held = (struct held_file){ .path = copy, .version = lf->now, .users = users, .n = n,
					   .loads = held.loads + 1 };
		clock_gettime(CLOCK_REALTIME, &wall);
		held.settled = wall.tv_sec - lf->now.mtime.tv_sec >= HELD_SETTLE_S;
		for (size_t i = 0; i < n; i++)
			auth_burn_tally_add(&held.burn, users[i]->hash);
		auth_burn_tally_report(&held.burn, path, &held_said);
		copy = NULL;
		rc = 0;
	}
	auth_linefile_close(lf);
	free(lf);
	free(copy);
	return rc;
}

/*
 * held_for - the entries of auth.passwd_file, read again only when it changed: a stat per lookup
 * instead of reading and checking every line, which for a few thousand users costs more than the
 * password check. -1 logged when it is unset or cannot be read.
 */
static int held_for(const struct config *cfg)
{
	const char *path = conf(cfg)->auth.passwd_file;
	struct stat st;

	if (path[0] == '\0') {
		log_err("auth: auth.backend is file but auth.passwd_file is not set");
		return -1;
	}
	if (stat(path, &st) != 0) {
		log_err("auth: %s: %s", path, strerror(errno));
		held_drop(); /* a file that is gone lets nobody in, as before it was held */
		return -1;
	}
	if (still_held(path, &st))
		return 0;
	if (load(path) == 0)
		return 0;
	held_drop();
	return -1;
}

/* find - NAME's entry among those held, or NULL. */
static const struct held_user *find(const char *name)
{
	size_t lo = 0, hi = held.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(held.users[mid]->name, name);

		if (c == 0)
			return held.users[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *auth_file_burn_setting(const struct config *cfg)
{
	size_t n;

	return held_for(cfg) == 0 ? auth_burn_tally_pick(&held.burn, &n) : NULL;
}

enum auth_result auth_file_lookup(const struct config *cfg, const char *name, struct auth_entry *e)
{
	const struct held_user *u;

	memset(e, 0, sizeof(*e));
	if (held_for(cfg) != 0)
		return AUTH_TEMPFAIL;
	if ((u = find(name)) == NULL) {
		log_debug("auth: no virtual user %s in %s", LOG_Q(name), held.path);
		return AUTH_FAIL;
	}
	if (!auth_hash_usable(u->hash)) {
		log_info("auth: virtual user %s refused: account locked", LOG_Q(name));
		return AUTH_FAIL;
	}
	memcpy(e->user.name, u->name, strlen(u->name) + 1);
	memcpy(e->hash, u->hash, strlen(u->hash) + 1);
	memcpy(e->user.mailbox, u->mailbox, strlen(u->mailbox) + 1);
	e->user.uid = (uid_t)u->uid;
	e->user.gid = (gid_t)u->gid;
	if (u->has_ids || lookup_ids(cfg, &e->user.uid, &e->user.gid) == 0)
		return AUTH_OK;
	explicit_bzero(e, sizeof(*e));
	return AUTH_TEMPFAIL;
}
