/*
 * pop3_privs.c - what the post-login process does as root before becoming the mailbox owner:
 * the per-user index directory, and the switch to the user with the "mail" group when an mbox
 * spool needs it for dotlocks (Debian's /var/mail is root:mail 2775).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privsep.h"
#include "pop3d/pop3_int.h"

/* Supplementary groups kept for the user: its own plus "mail". */
#define POP3_GROUPS_MAX 64

/* subdir - mkdir NAME under DIRFD (existing is fine) and open it without following a link; fd or -1. */
static int subdir(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* own_dir - make FD's directory UID:GID mode 0700 (root), or check it already is ours (not root). */
static int own_dir(int fd, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == 0700)
		return 0;
	if (geteuid() == 0)
		return fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0 ? -1 : 0;
	if (st.st_uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int pop3_index_dir(const struct config *cfg, uid_t uid, gid_t gid, char *out, size_t cap)
{
	const char *state = cfg_str(cfg, "server.state_dir");
	char name[32];
	int sfd = -1, ifd = -1, ufd = -1, rc = -1;
	const char *step = "opening";

	snprintf(name, sizeof(name), "%lu", (unsigned long)uid);
	if (state[0] == '\0') {
		log_err("pop3: server.state_dir is not set");
		return -1;
	}
	/* index/ stays root's (0711): users reach only their own directory, server.user none of them. */
	if ((sfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 && (ifd = subdir(sfd, "index", 0711)) >= 0 &&
	    (step = "creating", ufd = subdir(ifd, name, 0700)) >= 0 && (step = "taking over", own_dir(ufd, uid, gid)) == 0)
		rc = 0;
	if (rc == 0 && snprintf(out, cap, "%s/index/%s", state, name) >= (int)cap) {
		log_err("pop3: index directory path under %s too long", state);
		rc = -1;
	} else if (rc < 0) {
		log_err("pop3: %s index directory %s/index/%s: %s", step, state, name, strerror(errno));
	}
	if (ufd >= 0)
		close(ufd);
	if (ifd >= 0)
		close(ifd);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

/* mail_gid - the "mail" group when USER's mbox lives in a directory only that group may write to; else -1. */
static long mail_gid(const struct auth_user *user)
{
	char path[AUTH_MAILBOX_MAX];
	struct group *gr;
	struct stat st;

	if (strncmp(user->mailbox, "mbox:", 5) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s", user->mailbox + 5);
	if ((gr = getgrnam("mail")) == NULL || stat(dirname(path), &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_gid != gr->gr_gid || !(st.st_mode & S_IWGRP))
		return -1;
	return (long)gr->gr_gid;
}

/*
 * user_groups - the supplementary groups of the account owning UID (not of the login name: a
 * virtual user may share its name with an unrelated system account), plus EXTRA if >= 0.
 */
static int user_groups(uid_t uid, gid_t gid, long extra, gid_t *groups, int cap)
{
	struct passwd *pw = getpwuid(uid);
	int n = cap - 1;

	if (pw == NULL || getgrouplist(pw->pw_name, gid, groups, &n) < 0) {
		groups[0] = gid;
		n = 1;
	}
	if (extra >= 0)
		groups[n++] = (gid_t)extra;
	return n;
}

int pop3_become_user(const struct auth_user *user)
{
	gid_t groups[POP3_GROUPS_MAX];
	long mail = mail_gid(user);
	int n;

	if (geteuid() != 0 && getuid() != 0)
		return privsep_drop_to(user->uid, user->gid, user->name); /* unprivileged: only "stay who we are" */
	if (user->uid == 0) {
		log_err("pop3: refusing to run a session as root for %s", user->name);
		return -1;
	}
	n = user_groups(user->uid, user->gid, mail, groups, POP3_GROUPS_MAX);
	if (setgroups((size_t)n, groups) < 0 || setresgid(user->gid, user->gid, user->gid) < 0 ||
	    setresuid(user->uid, user->uid, user->uid) < 0) {
		log_err("pop3: switching to %s (uid %lu gid %lu): %s", user->name, (unsigned long)user->uid,
			(unsigned long)user->gid, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		log_err("pop3: privilege drop to %s did not hold", user->name);
		return -1;
	}
	return 0;
}
