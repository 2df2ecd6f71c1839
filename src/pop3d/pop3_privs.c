/* pop3_privs.c - the post-login process's last privileged steps: index directory, user switch. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * What the post-login process does while it still may switch users (root, or
 * server.user holding the master's CAP_SETUID/SETGID/CHOWN): the per-user index directory, and
 * the switch to the user with the "mail" group when an mbox spool needs it for dotlocks
 * (Debian's /var/mail is root:mail 2775), dropping every capability on the way.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "pop3d/pop3_int.h"

/*
 * subdir - open NAME under DIRFD without following a link, made first when it is missing; fd or
 * -1. Opened before any mkdir: after a user's first login it is there, and a mkdir would only
 * fail with EEXIST.
 */
static int subdir(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* own_dir - give FD's directory to UID:GID (CAP_CHOWN or root), mode 0700 while it is still ours. */
static int own_dir(int fd, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_uid == uid && st.st_gid == gid)
		return 0;
	/* Only the owner may chmod (no CAP_FOWNER here), so before the directory is given away. */
	if (st.st_uid == geteuid() && fchmod(fd, 0700) < 0)
		return -1;
	return fchown(fd, uid, gid);
}

/*
 * ready - whether PATH is already UID:GID's directory, as a login before left it: one stat
 * instead of the walk's seven calls (opens, fstat, closes). The final name is not followed; the
 * names above it are the state directory's and index/, which only root or server.user may change.
 * Nothing is granted on this answer: the mailbox process opens PATH as the user, with the user's
 * rights. A directory removed or changed meanwhile fails the test and is made again by the walk.
 */
static bool ready(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid &&
	       st.st_gid == gid;
}

/* make_index_dir - the walk: STATE/index (0711), then NAME in it, made if missing and given to UID:GID. 0 or -1 logged. */
static int make_index_dir(const char *state, const char *name, uid_t uid, gid_t gid)
{
	int sfd = -1, ifd = -1, ufd = -1, rc = -1;
	const char *step = "opening";

	/* index/ is 0711: a user can reach only its own directory, and cannot list the others. */
	if ((sfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 && (ifd = subdir(sfd, "index", 0711)) >= 0 &&
	    (step = "creating", ufd = subdir(ifd, name, 0700)) >= 0 && (step = "taking over", own_dir(ufd, uid, gid)) == 0)
		rc = 0;
	else
		log_err("pop3: %s index directory %s/index/%s: %s", step, state, name, strerror(errno));
	if (ufd >= 0)
		close(ufd);
	if (ifd >= 0)
		close(ifd);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

int pop3_index_dir(const struct config *cfg, uid_t uid, gid_t gid, char *out, size_t cap)
{
	const char *state = conf(cfg)->server.state_dir;
	char name[32];

	snprintf(name, sizeof(name), "%lu", (unsigned long)uid);
	if (state[0] == '\0') {
		log_err("pop3: server.state_dir is not set");
		return -1;
	}
	if (snprintf(out, cap, "%s/index/%s", state, name) >= (int)cap) {
		log_err("pop3: index directory path under %s too long", state);
		return -1;
	}
	return ready(out, uid, gid) ? 0 : make_index_dir(state, name, uid, gid);
}

/*
 * mail_group - the "mail" group's gid, or -1. Looked up once per process: NSS (files, then
 * libnss_systemd) costs about 10 us a call, and the answer cannot go stale in a way that matters
 * here, since a monitor serves a bounded number of sessions (ten protocol children of
 * server.process_reuse connections) and its mailbox process no more, so a renumbered group is
 * seen by the next monitor. A failed look-up is asked again: it may have been a passing NSS error.
 */
static long mail_group(void)
{
	static long gid = -1;
	struct group *gr;

	if (gid < 0 && (gr = getgrnam("mail")) != NULL)
		gid = (long)gr->gr_gid;
	return gid;
}

long pop3_mail_gid(const struct auth_user *user)
{
	char path[AUTH_MAILBOX_MAX];
	struct stat st;
	long gid;

	if (strncmp(user->mailbox, "mbox:", 5) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s", user->mailbox + 5);
	/* The directory each time: an admin's chmod of the spool counts from the next login. */
	if (stat(dirname(path), &st) < 0 || !S_ISDIR(st.st_mode) || !(st.st_mode & S_IWGRP))
		return -1;
	gid = mail_group();
	return gid >= 0 && st.st_gid == (gid_t)gid ? gid : -1;
}

/*
 * The groups of the account owning the uid (not of the login name: a virtual user may share its
 * name with an unrelated system account), plus the extra one.
 */
int pop3_user_groups(const struct auth_user *user, long mail_gid, struct pop3_groups *out)
{
	struct passwd *pw = getpwuid(user->uid);
	int n = POP3_GROUPS_INLINE - 1; /* one left for MAIL_GID */

	out->gid = out->own;
	out->n = 0;
	if (pw == NULL) {
		out->gid[0] = user->gid;
		n = 1;
	} else if (getgrouplist(pw->pw_name, user->gid, out->gid, &n) < 0) {
		/* More than fit: N now says how many, so ask again with room for every one. */
		int room = n;
		gid_t *all = calloc((size_t)room + 1, sizeof(*all));

		if (all == NULL || getgrouplist(pw->pw_name, user->gid, all, &n) < 0) {
			log_err("pop3: the %d groups of %s (uid %lu): %s", room, user->name, (unsigned long)user->uid,
				all == NULL ? "out of memory" : "changed while read");
			free(all);
			return -1;
		}
		out->gid = all;
	}
	if (mail_gid >= 0)
		out->gid[n++] = (gid_t)mail_gid;
	out->n = n;
	return 0;
}

void pop3_groups_free(struct pop3_groups *g)
{
	if (g->gid != g->own)
		free(g->gid);
	g->gid = g->own;
	g->n = 0;
}

/* can_switch - root, or a session of a master that kept CAP_SETUID and CAP_SETGID. */
static bool can_switch(void)
{
	cap_flag_value_t u = CAP_CLEAR, g = CAP_CLEAR;
	cap_t caps;

	if (geteuid() == 0)
		return true;
	if ((caps = cap_get_proc()) == NULL)
		return false;
	cap_get_flag(caps, CAP_SETUID, CAP_PERMITTED, &u);
	cap_get_flag(caps, CAP_SETGID, CAP_PERMITTED, &g);
	cap_free(caps);
	return u == CAP_SET && g == CAP_SET;
}

/* no_caps_left - drop every capability and check that neither root nor a capability can come back. */
static bool no_caps_left(void)
{
	cap_t none = cap_init(), now;
	bool ok = none != NULL && cap_set_proc(none) == 0;

	if (ok && (now = cap_get_proc()) != NULL) {
		ok = cap_compare(none, now) == 0;
		cap_free(now);
	} else {
		ok = false;
	}
	cap_free(none);
	return ok && setuid(0) < 0 && seteuid(0) < 0;
}

/* in_root_group - whether group 0 is among GROUPS: root's group reads files no mailbox owner should. */
static bool in_root_group(const gid_t *groups, int n)
{
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			return true;
	return false;
}

int pop3_become_user(const struct auth_user *user, const struct pop3_groups *groups)
{
	if (!can_switch()) {
		if (getuid() == user->uid && geteuid() == user->uid)
			return 0; /* started unprivileged (tests): we already are the only possible user */
		log_err("pop3: cannot switch to %s (uid %lu): no privileges", user->name, (unsigned long)user->uid);
		return -1;
	}
	if (user->uid == 0) {
		log_err("pop3: refusing to run a session as root for %s", user->name);
		return -1;
	}
	if (in_root_group(groups->gid, groups->n)) {
		log_err("pop3: refusing to run a session in group root for %s", user->name);
		return -1;
	}
	if (setgroups((size_t)groups->n, groups->gid) < 0 || setresgid(user->gid, user->gid, user->gid) < 0 ||
	    setresuid(user->uid, user->uid, user->uid) < 0) {
		log_err("pop3: switching to %s (uid %lu gid %lu): %s", user->name, (unsigned long)user->uid,
			(unsigned long)user->gid, strerror(errno));
		return -1;
	}
	/* From a capability-holding uid, setresuid keeps the capabilities: they must go explicitly. */
	if (!no_caps_left()) {
		log_err("pop3: privilege drop to %s did not hold", user->name);
		return -1;
	}
	return 0;
}
