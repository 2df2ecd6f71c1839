/* relaydb_fixture.h - the scratch directory, config and database of the relaydb Check tests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_RELAYDB_FIXTURE_H
#define POPGATE_RELAYDB_FIXTURE_H

#include "common/config.h"
#include "relaydb/relaydb.h"
#include "testlib.h"

/* fx_dir - the scratch directory of the current test (made by fx_setup). */
extern char fx_dir[TL_PATH_MAX];

/* fx_setup - make a fresh scratch directory; a Check checked fixture. */
void fx_setup(void);

/* fx_teardown - remove the scratch directory and everything in it. */
void fx_teardown(void);

/* fx_config - a config whose relay.db_dir is in the scratch directory, plus EXTRA lines of [relay]. */
struct config *fx_config(const char *extra);

/* fx_open_db - the relay database CFG names, or fail the test with relaydb_open's error. */
struct relaydb *fx_open_db(const struct config *cfg);

#endif
