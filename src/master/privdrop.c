/* privdrop.c - the master's switch from root to server.user with a minimal capability set. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "master/privdrop.h"

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

/* make_dir - mkdir PATH (parents must exist) and give it to UID:GID with MODE. */
static int make_dir(const struct config *cfg, const char *key, uid_t uid, gid_t gid, mode_t mode,
		    struct cfg_error *err)
{
	const char *path = cfg_str_named(cfg, key);
	struct stat st;

	if (path[0] != '/') {
		cfg_fail(cfg, key, err, "'%s' must be an absolute path", path);
		return -1;
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		cfg_fail(cfg, key, err, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cfg_fail(cfg, key, err, "%s is not a directory", path);
		return -1;
	}
	if (geteuid() == 0 && (st.st_uid != uid || st.st_gid != gid) && chown(path, uid, gid) < 0) {
		cfg_fail(cfg, key, err, "cannot give %s to server.user: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int master_prepare_dirs(const struct config *cfg, struct cfg_error *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (geteuid() == 0 && lookup_ids(cfg, &uid, &gid, err) < 0)
		return -1;
	if (make_dir(cfg, "server.state_dir", uid, gid, 0755, err) < 0)
		return -1;
	return make_dir(cfg, "relay.db_dir", uid, gid, 0750, err);
}
