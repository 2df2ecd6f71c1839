/* validate.c - cross-key and system checks of popgate.conf, shared by -t, start-up and reload. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tls.h"
#include "drac/drac.h"
#include "master/validate.h"

/* check_readable - KEY names a file this process can read (when set, or when REQUIRED). */
static int check_readable(const struct config *cfg, const char *key, bool required, struct cfg_error *err)
{
	const char *path = cfg_str(cfg, key);

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

/* check_forward - "sendmail:/absolute/path" or "smtp:HOST:PORT". */
static int check_forward(const struct config *cfg, struct cfg_error *err)
{
	const char *f = cfg_str(cfg, "smtp.forward");

	if (strncmp(f, "sendmail:", 9) == 0) {
		if (f[9] != '/') {
			cfg_fail(cfg, "smtp.forward", err, "sendmail: needs an absolute path, e.g. sendmail:/usr/sbin/sendmail");
			return -1;
		}
		return 0;
	}
	if (strncmp(f, "smtp:", 5) == 0) {
		const char *colon = strrchr(f + 5, ':');
		char *end;
		long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
		if (colon == NULL || colon == f + 5 || colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
			cfg_fail(cfg, "smtp.forward", err, "smtp: needs HOST:PORT, e.g. smtp:127.0.0.1:10025");
			return -1;
		}
		return 0;
	}
	cfg_fail(cfg, "smtp.forward", err, "'%s': expected sendmail:/path or smtp:HOST:PORT", f);
	return -1;
}

/* check_drac_listen - relay.drac_listen is empty, rpcbind, or an address (bound later, with the listeners). */
static int check_drac_listen(const struct config *cfg, struct cfg_error *err)
{
	struct listen_addr la;
	enum drac_mode mode;
	const char *why;

	if (drac_listen_parse(cfg_str(cfg, "relay.drac_listen"), &mode, &la, &why) < 0) {
		cfg_fail(cfg, "relay.drac_listen", err, "%s", why);
		return -1;
	}
	return 0;
}

/* needs_tls - which key first asks for a certificate, or NULL. */
static const char *needs_tls(const struct config *cfg)
{
	if (cfg_listen(cfg, "pop3.listen_tls")->n > 0)
		return "pop3.listen_tls";
	if (cfg_listen(cfg, "smtp.listen_tls")->n > 0)
		return "smtp.listen_tls";
	if (cfg_bool(cfg, "admin.tls") && cfg_listen(cfg, "admin.listen")->n > 0)
		return "admin.tls";
	return NULL;
}

int master_validate(const struct config *cfg, SSL_CTX **tls, struct cfg_error *err)
{
	const char *why_tls = needs_tls(cfg);

	*tls = NULL;
	if (getpwnam(cfg_str(cfg, "server.user")) == NULL) {
		cfg_fail(cfg, "server.user", err, "no such user '%s'", cfg_str(cfg, "server.user"));
		return -1;
	}
	if (check_readable(cfg, "auth.passwd_file", strcmp(cfg_str(cfg, "auth.backend"), "file") == 0, err) < 0 ||
	    check_readable(cfg, "auth.apop_secrets_file", false, err) < 0 ||
	    check_readable(cfg, "admin.users_file", false, err) < 0 ||
	    check_readable(cfg, "smtp.forward_auth_file", false, err) < 0)
		return -1;
	if (check_forward(cfg, err) < 0 || check_drac_listen(cfg, err) < 0)
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
