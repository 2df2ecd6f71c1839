/* relaydb_fixture.c - the scratch directory, config and database of the relaydb Check tests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>

#include "relaydb_fixture.h"

char fx_dir[TL_PATH_MAX];

void fx_setup(void)
{
	tl_scratch(fx_dir, sizeof(fx_dir), "check_relaydb");
}

void fx_teardown(void)
{
	tl_rm_rf(fx_dir);
}

struct config *fx_config(const char *extra)
{
	return tl_configf("[relay]\ndb_dir = %s/relay\n%s\n", fx_dir, extra != NULL ? extra : "");
}

struct relaydb *fx_open_db(const struct config *cfg)
{
	struct relaydb *db = NULL;
	char err[512];

	ck_assert_msg(relaydb_open(cfg, &db, err, sizeof(err)) == 0, "open: %s", err);
	return db;
}
