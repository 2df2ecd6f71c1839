/* auth.c - USER/PASS checks: pick the backend, then spend the same time whether or not the user exists. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "auth/auth_int.h"
#include "common/log.h"

/* file_backend - whether auth.backend is the passwd file rather than the system's users. */
static bool file_backend(const struct config *cfg)
{
	return strcmp(conf(cfg)->auth.backend, "file") == 0;
}

enum auth_result auth_backend_lookup(const struct config *cfg, const char *name, struct auth_entry *e)
{
	if (file_backend(cfg))
		return auth_file_lookup(cfg, name, e);
	return auth_system_lookup(cfg, name, e);
}

const char *auth_backend_burn_setting(const struct config *cfg)
{
	if (file_backend(cfg))
		return auth_file_burn_setting(cfg);
	return auth_system_burn_setting();
}

enum auth_result auth_password(const struct config *cfg, const char *user, const char *pass,
			       struct auth_user *out)
{
	struct auth_entry e;
	enum auth_result r;
	bool ok;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	/* A bad name never reaches a file, but still costs one hash so all failures look alike. */
	if (pass == NULL || strnlen(pass, AUTH_PASS_MAX) >= AUTH_PASS_MAX || !auth_name_valid(user)) {
		auth_burn(auth_backend_burn_setting(cfg), "");
		return AUTH_FAIL;
	}
	r = auth_backend_lookup(cfg, user, &e);
	if (r == AUTH_TEMPFAIL)
		return r;
	if (r == AUTH_FAIL) {
		auth_burn(auth_backend_burn_setting(cfg), pass);
		return AUTH_FAIL;
	}
	ok = auth_verify_hash(pass, e.hash);
	if (ok && out != NULL)
		*out = e.user;
	explicit_bzero(&e, sizeof(e));
	return ok ? AUTH_OK : AUTH_FAIL;
}
