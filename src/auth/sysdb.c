/* sysdb.c - the system backend: users from passwd and shadow through NSS, with lock, expiry and uid policy. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_int.h"
#include "common/log.h"
#include "common/mailbox_spec.h"

/* NSS buffers start small and double on ERANGE up to this; no sane entry is anywhere near it. */
#define NSS_BUF_MAX (1024 * 1024)

/* not_found - whether an NSS error code only means "no such entry" (see getpwnam_r(3)). */
static bool not_found(int rc)
{
	return rc == ENOENT || rc == ESRCH;
}

/* get_pw - NAME's passwd entry, strings in *buf (caller frees): 1 found, 0 unknown, -1 error (logged). */
static int get_pw(const char *name, struct passwd *pw, char **buf)
{
	struct passwd *res = NULL;
	size_t size = 1024;
	int rc;

	for (;;) {
		if ((*buf = malloc(size)) == NULL) {
			log_err("auth: out of memory looking up %s", LOG_Q(name));
			return -1;
		}
		rc = getpwnam_r(name, pw, *buf, size, &res);
		if (rc != ERANGE || size >= NSS_BUF_MAX)
			break;
		free(*buf);
		*buf = NULL;
		size *= 2;
	}
	if (rc == 0 || not_found(rc))
		return res != NULL;
	log_err("auth: getpwnam_r(%s): %s", LOG_Q(name), strerror(rc));
	return -1;
}

/* get_sp - NAME's shadow entry, the same way; the buffer holds the hash, so it is wiped by the caller. */
static int get_sp(const char *name, struct spwd *sp, char **buf, size_t *bufsize)
{
	struct spwd *res = NULL;
	size_t size = 1024;
	int rc;

	for (;;) {
		if ((*buf = calloc(1, size)) == NULL) {
			log_err("auth: out of memory looking up %s", LOG_Q(name));
			return -1;
		}
		*bufsize = size;
		rc = getspnam_r(name, sp, *buf, size, &res);
		if (rc != ERANGE || size >= NSS_BUF_MAX)
			break;
		explicit_bzero(*buf, size);
		free(*buf);
		*buf = NULL;
		size *= 2;
	}
	if (rc == 0 || not_found(rc))
		return res != NULL;
	log_err("auth: getspnam_r(%s): %s", LOG_Q(name), strerror(rc));
	return -1;
}

/* expired - why the shadow entry no longer allows logins (shadow(5) day numbers), or NULL. */
static const char *expired(const struct spwd *sp)
{
	long today = (long)(time(NULL) / 86400);

	if (sp->sp_expire > 0 && today >= sp->sp_expire)
		return "account expired";
	if (sp->sp_lstchg > 0 && sp->sp_max >= 0 && sp->sp_inact >= 0 &&
	    today >= sp->sp_lstchg + sp->sp_max + sp->sp_inact)
		return "password expired and the inactivity period is over";
	return NULL;
}

/* get_hash - the user's hash into E: 0 ok, 1 refused (logged), -1 error (logged). */
static int get_hash(const struct passwd *pw, struct auth_entry *e)
{
	struct spwd sp;
	char *buf = NULL;
	size_t bufsize = 0;
	const char *why = NULL, *hash = pw->pw_passwd;
	int found = get_sp(pw->pw_name, &sp, &buf, &bufsize);
	int rc = 0;

	if (found < 0) {
		rc = -1;
		goto out;
	}
	if (found > 0) {
		hash = sp.sp_pwdp;
		why = expired(&sp);
	} else if (strcmp(hash, "x") == 0) {
		/* NSS answers "no entry" when /etc/shadow is unreadable: say what the likely cause is. */
		log_err("auth: no shadow entry for %s (euid %lu: can this process read /etc/shadow?)",
			LOG_Q(pw->pw_name), (unsigned long)geteuid());
		rc = -1;
		goto out;
	}
	if (why == NULL && (hash[0] == '!' || hash[0] == '*'))
		why = "account locked";
	else if (why == NULL && hash[0] == '\0')
		why = "no password set";
	else if (why == NULL && strlen(hash) >= sizeof(e->hash))
		why = "password hash too long";
	if (why != NULL) {
		log_info("auth: system user %s refused: %s", LOG_Q(pw->pw_name), why);
		rc = 1;
	} else
		memcpy(e->hash, hash, strlen(hash) + 1);
out:
	if (buf != NULL) {
		explicit_bzero(buf, bufsize);
		free(buf);
	}
	return rc;
}

/* fill_user - uid, gid, home and mailbox of PW into E: AUTH_OK, or AUTH_TEMPFAIL (logged). */
static enum auth_result fill_user(const struct config *cfg, const struct passwd *pw,
				  struct auth_entry *e)
{
	const char *tmpl = conf(cfg)->auth.system_mailbox, *why = NULL;
	struct auth_user *u = &e->user;

	if (strlen(pw->pw_dir) >= sizeof(u->home)) {
		log_err("auth: system user %s: home directory path too long", LOG_Q(pw->pw_name));
		return AUTH_TEMPFAIL;
	}
	memcpy(u->name, pw->pw_name, strlen(pw->pw_name) + 1);
	memcpy(u->home, pw->pw_dir, strlen(pw->pw_dir) + 1);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	if (mailbox_spec_expand(tmpl, u->name, u->home, u->mailbox, sizeof(u->mailbox), &why) != 0) {
		log_err("auth: auth.system_mailbox \"%s\" for %s: %s", tmpl, LOG_Q(u->name), why);
		return AUTH_TEMPFAIL;
	}
	return AUTH_OK;
}

/* refused_uid - why PW's uid may not log in (root, or below auth.first_valid_uid), or NULL. */
static const char *refused_uid(const struct config *cfg, const struct passwd *pw)
{
	if (pw->pw_uid == 0)
		return "root may not log in";
	if ((long long)pw->pw_uid < conf(cfg)->auth.first_valid_uid)
		return "uid below auth.first_valid_uid";
	return NULL;
}

enum auth_result auth_system_lookup(const struct config *cfg, const char *name, struct auth_entry *e)
{
	struct passwd pw;
	char *buf = NULL;
	const char *why;
	enum auth_result r = AUTH_FAIL;
	int found;

	memset(e, 0, sizeof(*e));
	found = get_pw(name, &pw, &buf);
	if (found < 0)
		r = AUTH_TEMPFAIL;
	else if (found == 0)
		log_debug("auth: no system user %s", LOG_Q(name));
	else if (!auth_name_valid(pw.pw_name))
		log_info("auth: system user %s refused: name not usable as a mail user", LOG_Q(name));
	else if ((why = refused_uid(cfg, &pw)) != NULL)
		log_info("auth: system user %s refused: %s (uid %lu)", LOG_Q(pw.pw_name), why,
			 (unsigned long)pw.pw_uid);
	else {
		int h = get_hash(&pw, e);

		if (h < 0)
			r = AUTH_TEMPFAIL;
		else if (h == 0)
			r = fill_user(cfg, &pw, e);
	}
	free(buf);
	if (r != AUTH_OK)
		explicit_bzero(e, sizeof(*e));
	return r;
}

/* The shadow database's kinds of hash, counted again when /etc/shadow changes. */
static struct {
	bool counted;
	struct auth_file_seen seen;
	struct auth_burn_tally burn;
	struct auth_burn_said said;
} shadow_kinds;

#define SHADOW_PATH "/etc/shadow"

/* Entries counted at most: plenty to know what most users have, without walking a whole directory. */
#define SHADOW_COUNT_MAX 100000

/* count_shadow - count the kinds of hash of the shadow database's entries into shadow_kinds. */
static void count_shadow(void)
{
	struct spwd sp, *res = NULL;
	size_t size = 16384, seen = 0;
	char *buf = malloc(size);

	auth_burn_tally_reset(&shadow_kinds.burn);
	if (buf == NULL) {
		log_err("auth: out of memory reading the shadow database");
		return;
	}
	setspent();
	while (seen++ < SHADOW_COUNT_MAX && getspent_r(&sp, buf, size, &res) == 0 && res != NULL)
		auth_burn_tally_add(&shadow_kinds.burn, sp.sp_pwdp);
	endspent();
	explicit_bzero(buf, size);
	free(buf);
	auth_burn_tally_report(&shadow_kinds.burn, "the shadow database", &shadow_kinds.said);
}

const char *auth_system_burn_setting(void)
{
	struct stat st;
	struct auth_file_seen now = { 0 };
	bool same;
	size_t n;

	if (stat(SHADOW_PATH, &st) == 0)
		now = auth_file_seen_of(&st);
	/* Without /etc/shadow (the users come from elsewhere through NSS) they are counted once. */
	same = now.valid ? auth_file_same_version(&shadow_kinds.seen, &now) : !shadow_kinds.seen.valid;
	if (!shadow_kinds.counted || !same) {
		count_shadow();
		shadow_kinds.seen = now;
		shadow_kinds.counted = true;
	}
	return auth_burn_tally_pick(&shadow_kinds.burn, &n);
}
