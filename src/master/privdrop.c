/* privdrop.c - the master's switch from root to server.user, and the users and directories it prepares. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "master/privdrop.h"
#include "relaydb/lookup.h"

static const cap_value_t kept_caps[] = {
	CAP_SETUID, CAP_SETGID, CAP_DAC_READ_SEARCH, CAP_CHOWN, CAP_NET_BIND_SERVICE, CAP_KILL,
};

static int lookup_ids(const struct config *cfg, uid_t *uid, gid_t *gid, struct cfg_error *err)
{
	const char *user = conf(cfg)->server.user, *group = conf(cfg)->server.group;
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		cfg_fail(cfg, "server.user", err, "no such user '%s'", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (*group != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			cfg_fail(cfg, "server.group", err, "no such group '%s'", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* login_ids - server.login_user's uid and primary group. 0 or -1 (ERR says why). */
static int login_ids(const struct config *cfg, uid_t *uid, gid_t *gid, struct cfg_error *err)
{
	const char *user = conf(cfg)->server.login_user;
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		cfg_fail(cfg, "server.login_user", err, "no such user '%s'", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* warn_login_user - say at start-up when protocol children would share what server.user owns. */
static void warn_login_user(const struct config *cfg, uid_t luid, gid_t lgid)
{
	struct cfg_error what;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || lookup_ids(cfg, &uid, &gid, &what) < 0)
		return; /* unprivileged, everything runs as one user; a bad server.user is reported elsewhere */
	if (luid == uid)
		cfg_fail(cfg, "server.login_user", &what, "'%s' is server.user: the protocol children, which read the "
			 "network, can write the relay database (authorize any address) and everything server.user owns",
			 conf(cfg)->server.login_user);
	else if (lgid == gid)
		cfg_fail(cfg, "server.login_user", &what, "'%s' has server.user's group (gid %u): the protocol children, "
			 "which read the network, can write the relay database, whose files that group may write",
			 conf(cfg)->server.login_user, (unsigned)gid);
	else
		return;
	log_warn("%s", what.msg);
}

int master_check_login_user(const struct config *cfg, struct cfg_error *err)
{
	uid_t luid;
	gid_t lgid;

	if (login_ids(cfg, &luid, &lgid, err) < 0)
		return -1;
	if (luid == 0 || lgid == 0) {
		cfg_fail(cfg, "server.login_user", err, "'%s' is root's: the protocol children must not be",
			 conf(cfg)->server.login_user);
		return -1;
	}
	warn_login_user(cfg, luid, lgid);
	return 0;
}

/*
 * warm_nss - load, once, the NSS modules a supplementary-group lookup uses: "group: files systemd"
 * consults every service, and the sessions forked from the master inherit what it loaded, where
 * each one's lookup of the mailbox owner's groups dlopened libnss_systemd afresh (330 us, 8% of
 * a POP3 session's CPU in bench/run's profile).
 */
static void warm_nss(const char *user, gid_t gid)
{
	gid_t groups[64];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));

	(void)getgrouplist(user, gid, groups, &n);
}

int master_drop_privileges(const struct config *cfg)
{
	struct cfg_error err;
	uid_t uid;
	gid_t gid;
	size_t ncaps = sizeof(kept_caps) / sizeof(kept_caps[0]);

	if (geteuid() != 0)
		return 0;
	if (lookup_ids(cfg, &uid, &gid, &err) < 0) {
		log_err("%s", err.msg);
		return -1;
	}
	warm_nss(conf(cfg)->server.user, gid);
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_err("switching the master to %s: %s", conf(cfg)->server.user, strerror(errno));
		return -1;
	}
	cap_t caps = cap_init();
	int rc = caps == NULL ? -1 : 0;
	if (rc == 0)
		rc = cap_set_flag(caps, CAP_PERMITTED, (int)ncaps, kept_caps, CAP_SET) |
		     cap_set_flag(caps, CAP_EFFECTIVE, (int)ncaps, kept_caps, CAP_SET);
	if (rc == 0)
		rc = cap_set_proc(caps);
	cap_free(caps);
	prctl(PR_SET_KEEPCAPS, 0);
	if (rc < 0) {
		log_err("keeping the master's capabilities: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * as_owner - mkdir (MAKE) or chmod PATH to MODE with the file system ids UID:GID for this one call.
 * Under popgated.service's CapabilityBoundingSet root has neither CAP_DAC_OVERRIDE nor CAP_FOWNER:
 * it may not create in a directory it gave server.user, nor change the mode of one it gave away.
 * Their owner may; and with the directory's group as the fsgid a setgid bit survives the chmod.
 * Only as root, with CAP_SETUID and CAP_SETGID; 0, or -1 with errno.
 */
static int as_owner(bool make, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	gid_t was_gid = (gid_t)setfsgid(gid);
	uid_t was_uid = (uid_t)setfsuid(uid);
	int rc = -1, saved = EPERM;

	if ((uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid) {
		rc = make ? mkdir(path, mode) : chmod(path, mode);
		saved = errno;
	}
	(void)setfsuid(was_uid);
	(void)setfsgid(was_gid);
	errno = saved;
	return rc;
}

/* make_dir - mkdir PATH (parents must exist) for KEY and give it to UID:GID; MODE is enforced if FORCE_MODE. */
static int make_dir(const struct config *cfg, const char *key, const char *path, uid_t uid, gid_t gid, mode_t mode,
		    bool force_mode, struct cfg_error *err)
{
	struct stat st;
	bool root = geteuid() == 0;

	if (path[0] != '/') {
		cfg_fail(cfg, key, err, "'%s' must be an absolute path", path);
		return -1;
	}
	/* Inside a directory server.user already owns (server.state_dir), as its owner. */
	if (mkdir(path, mode) < 0 && errno != EEXIST &&
	    !(errno == EACCES && root && (as_owner(true, path, mode, uid, gid) == 0 || errno == EEXIST))) {
		cfg_fail(cfg, key, err, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cfg_fail(cfg, key, err, "%s is not a directory", path);
		return -1;
	}
	if (root && (st.st_uid != uid || st.st_gid != gid) && chown(path, uid, gid) < 0) {
		cfg_fail(cfg, key, err, "cannot give %s to server.user: %s", path, strerror(errno));
		return -1;
	}
	/* mkdir's mode passed through the umask, and a directory left by an older version kept its own. */
	if (force_mode && (st.st_mode & 07777) != mode && chmod(path, mode) < 0 &&
	    !(errno == EPERM && root && as_owner(false, path, mode, uid, gid) == 0)) {
		cfg_fail(cfg, key, err, "cannot set the mode of %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * make_login_dir - server.state_dir/login, where the sockets the protocol children may reach live
 * (lookup.sock): server.user's, group server.login_user's, setgid so each socket made in it takes
 * that group, and closed to everyone else, as Dovecot's login directory is to dovenull.
 */
static int make_login_dir(const struct config *cfg, uid_t uid, struct cfg_error *err)
{
	char path[PATH_MAX];
	uid_t luid;
	gid_t lgid = getgid();

	if (relay_lookup_dir(cfg, path, sizeof(path)) < 0) {
		cfg_fail(cfg, "server.state_dir", err, "too long for the path of a unix socket in it");
		return -1;
	}
	if (geteuid() == 0 && login_ids(cfg, &luid, &lgid, err) < 0)
		return -1;
	return make_dir(cfg, "server.state_dir", path, uid, lgid, 02750, true, err);
}

int master_prepare_dirs(const struct config *cfg, struct cfg_error *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (geteuid() == 0 && lookup_ids(cfg, &uid, &gid, err) < 0)
		return -1;
	if (make_dir(cfg, "server.state_dir", conf(cfg)->server.state_dir, uid, gid, 0755, false, err) < 0 ||
	    make_login_dir(cfg, uid, err) < 0)
		return -1;
	return make_dir(cfg, "relay.db_dir", conf(cfg)->relay.db_dir, uid, gid, 0750, false, err);
}
