/* validate.c - cross-key and system checks of popgate.conf, shared by -t, start-up and reload. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tls.h"
#include "drac/drac.h"
#include "master/privdrop.h"
#include "master/validate.h"
#include "relaydb/socketmap.h"
#include "smtpd/smtp_forward.h"

/* check_readable - KEY names a file this process can read (when set, or when REQUIRED). */
static int check_readable(const struct config *cfg, const char *key, bool required, struct cfg_error *err)
{
	const char *path = cfg_str_named(cfg, key);

	if (*path == '\0') {
		if (required)
			cfg_fail(cfg, key, err, "must be set");
		return required ? -1 : 0;
	}
	if (access(path, R_OK) < 0) {
		cfg_fail(cfg, key, err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * check_forward_auth - the smarthost's credentials, read as the sessions read them: a file with
 * no user:password line passed -t and then failed every hand-off.
 */
static int check_forward_auth(const struct config *cfg, struct cfg_error *err)
{
	struct smtp_forward_cfg *fc = calloc(1, sizeof(*fc));
	int rc = 0;

	if (fc == NULL) {
		cfg_fail(cfg, "smtp.forward_auth_file", err, "out of memory");
		return -1;
	}
	smtp_forward_cfg_load(cfg, "", fc);
	if (!fc->usable) {
		cfg_fail(cfg, "smtp.forward_auth_file", err, "%s: no usable user:password line",
			 conf(cfg)->smtp.forward_auth_file);
		rc = -1;
	}
	smtp_forward_cfg_wipe(fc);
	free(fc);
	return rc;
}

/*
 * check_forward - smtp.forward read by the parser the sessions use, and what it names there: a
 * sendmail program that is an executable file, a smarthost that is an address or a host name.
 * Otherwise -t passed and every message got 451.
 */
static int check_forward(const struct config *cfg, struct cfg_error *err)
{
	const char *f = conf(cfg)->smtp.forward, *why;
	struct smtp_forward_cfg fc;
	unsigned char addr[sizeof(struct in6_addr)];
	struct stat st;
	char msg[256];

	memset(&fc, 0, sizeof(fc));
	if (smtp_next_hop_parse(f, &fc, msg, sizeof(msg)) < 0) {
		cfg_fail(cfg, "smtp.forward", err, "'%s': %s", f, msg);
		return -1;
	}
	if (fc.kind == SMTP_HOP_SENDMAIL) {
		if (stat(fc.path, &st) < 0)
			cfg_fail(cfg, "smtp.forward", err, "%s: %s", fc.path, strerror(errno));
		else if (!S_ISREG(st.st_mode) || access(fc.path, X_OK) < 0)
			cfg_fail(cfg, "smtp.forward", err, "%s is not an executable program", fc.path);
		else
			return 0;
		return -1;
	}
	if (inet_pton(AF_INET, fc.host, addr) != 1 && inet_pton(AF_INET6, fc.host, addr) != 1 &&
	    (why = cfg_hostname_check(fc.host, 1)) != NULL) {
		cfg_fail(cfg, "smtp.forward", err, "smarthost '%s': %s", fc.host, why);
		return -1;
	}
	return *conf(cfg)->smtp.forward_auth_file != '\0' ? check_forward_auth(cfg, err) : 0;
}

/* check_dir - PATH (from KEY) is a directory. */
static int check_dir(const struct config *cfg, const char *key, const char *path, struct cfg_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		cfg_fail(cfg, key, err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cfg_fail(cfg, key, err, "%s is not a directory", path);
		return -1;
	}
	return 0;
}

/* check_export_dir - the directory relay.export_map is written into (else every sweep fails). */
static int check_export_dir(const struct config *cfg, struct cfg_error *err)
{
	const char *map = conf(cfg)->relay.export_map, *slash = strrchr(map, '/');
	char dir[PATH_MAX];

	if (slash == NULL) /* unset: paths are absolute (config_values.c) */
		return 0;
	if ((size_t)(slash - map) >= sizeof(dir)) {
		cfg_fail(cfg, "relay.export_map", err, "path too long");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash == map ? 1 : (int)(slash - map), map);
	/* popgated makes these two at start, after this check. */
	if (strcmp(dir, conf(cfg)->server.state_dir) == 0 || strcmp(dir, conf(cfg)->relay.db_dir) == 0)
		return 0;
	return check_dir(cfg, "relay.export_map", dir, err);
}

/* check_socketmap - relay.socketmap_listen is empty, host:port or unix:/path. */
static int check_socketmap(const struct config *cfg, struct cfg_error *err)
{
	struct socketmap_where w;
	const char *why = "";

	if (socketmap_where_parse(conf(cfg)->relay.socketmap_listen, &w, &why) < 0) {
		cfg_fail(cfg, "relay.socketmap_listen", err, "%s", why);
		return -1;
	}
	return 0;
}

/* check_drac_listen - relay.drac_listen is empty, rpcbind, or an address (bound later, with the listeners). */
static int check_drac_listen(const struct config *cfg, struct cfg_error *err)
{
	struct listen_addr la;
	enum drac_mode mode;
	const char *why;

	if (drac_listen_parse(conf(cfg)->relay.drac_listen, &mode, &la, &why) < 0) {
		cfg_fail(cfg, "relay.drac_listen", err, "%s", why);
		return -1;
	}
	return 0;
}

/*
 * check_relay_backend - relay.backend = postgresql needs relay.postgresql. Whether the store
 * answers is not checked: a node starts with the store down and queues logins meanwhile.
 */
static int check_relay_backend(const struct config *cfg, struct cfg_error *err)
{
	if (strcmp(conf(cfg)->relay.backend, "postgresql") == 0 && *conf(cfg)->relay.postgresql == '\0') {
		cfg_fail(cfg, "relay.postgresql", err, "must be set when relay.backend = postgresql");
		return -1;
	}
	return 0;
}

/* needs_tls - which key first asks for a certificate, or NULL. */
static const char *needs_tls(const struct config *cfg)
{
	if (conf(cfg)->pop3.listen_tls.n > 0)
		return "pop3.listen_tls";
	if (conf(cfg)->smtp.listen_tls.n > 0)
		return "smtp.listen_tls";
	if (conf(cfg)->pop3.listen_tls_proxy.n > 0)
		return "pop3.listen_tls_proxy";
	if (conf(cfg)->smtp.listen_tls_proxy.n > 0)
		return "smtp.listen_tls_proxy";
	if (conf(cfg)->admin.tls && conf(cfg)->admin.listen.n > 0)
		return "admin.tls";
	return NULL;
}

int master_validate(const struct config *cfg, SSL_CTX **tls, struct cfg_error *err)
{
	const char *why_tls = needs_tls(cfg);

	*tls = NULL;
	if (getpwnam(conf(cfg)->server.user) == NULL) {
		cfg_fail(cfg, "server.user", err, "no such user '%s'", conf(cfg)->server.user);
		return -1;
	}
	if (*conf(cfg)->server.group != '\0' && getgrnam(conf(cfg)->server.group) == NULL) {
		cfg_fail(cfg, "server.group", err, "no such group '%s'", conf(cfg)->server.group);
		return -1;
	}
	if (master_check_login_user(cfg, err) < 0)
		return -1;
	if (check_readable(cfg, "auth.passwd_file", strcmp(conf(cfg)->auth.backend, "file") == 0, err) < 0 ||
	    check_readable(cfg, "auth.apop_secrets_file", false, err) < 0 ||
	    check_readable(cfg, "admin.users_file", false, err) < 0 ||
	    check_readable(cfg, "smtp.forward_auth_file", false, err) < 0)
		return -1;
	if (check_forward(cfg, err) < 0 || check_export_dir(cfg, err) < 0 || check_socketmap(cfg, err) < 0 ||
	    check_drac_listen(cfg, err) < 0 || check_relay_backend(cfg, err) < 0)
		return -1;
	if (why_tls != NULL && !tls_configured(cfg)) {
		cfg_fail(cfg, why_tls, err, "needs tls.cert_file and tls.key_file (or empty it to disable)");
		return -1;
	}
	if (tls_configured(cfg)) {
		*tls = tls_server_ctx(cfg, err);
		if (*tls == NULL)
			return -1;
	}
	return 0;
}

/*
 * What the master set up as root and a reload cannot redo: the user it became, the directories
 * it made and gave away (server.state_dir/login with server.login_user's group), the pid file it
 * holds locked. Taken on a reload, a new value left the workers with a directory nobody made.
 */
static const char *const restart_keys[] = {
	"server.user", "server.group", "server.login_user", "server.state_dir", "server.pid_file", "relay.db_dir",
};

int master_validate_reload(const struct config *running, const struct config *cfg, struct cfg_error *err)
{
	for (size_t i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++) {
		const char *was = cfg_str_named(running, restart_keys[i]);

		if (strcmp(was, cfg_str_named(cfg, restart_keys[i])) != 0) {
			cfg_fail(cfg, restart_keys[i], err, "a change takes a restart, not a reload (running with '%s')", was);
			return -1;
		}
	}
	return 0;
}
