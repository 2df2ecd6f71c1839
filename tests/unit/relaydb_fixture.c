/* relaydb_fixture.c - scratch directories and configs for the relaydb Check tests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "relaydb_fixture.h"

char fx_dir[64];

void fx_setup(void)
{
	snprintf(fx_dir, sizeof(fx_dir), "/tmp/check_relaydb.XXXXXX");
	if (mkdtemp(fx_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void fx_teardown(void)
{
	nftw(fx_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct config *fx_config(const char *extra)
{
	char text[2048];
	struct cfg_error err;
	struct config *cfg;

	snprintf(text, sizeof(text), "[relay]\ndb_dir = %s/relay\n%s\n", fx_dir, extra != NULL ? extra : "");
	cfg = config_load_string("test.conf", text, &err);
	ck_assert_msg(cfg != NULL, "config: %s", err.msg);
	return cfg;
}
