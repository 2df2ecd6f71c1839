/* cmd_db.c - popgatectl db init / db upgrade: the PostgreSQL store's schema. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "relaydb/pg_store.h"

int ctl_db(const struct config *cfg, int argc, char **argv)
{
	char err[512];
	int from, to;
	bool init;

	if (argc != 1 || (strcmp(argv[0], "init") != 0 && strcmp(argv[0], "upgrade") != 0)) {
		fprintf(stderr, "usage: popgatectl db init|upgrade\n");
		return CTL_EX_USAGE;
	}
	init = strcmp(argv[0], "init") == 0;
	if (pg_store_schema(cfg, init, &from, &to, err, sizeof(err)) < 0) {
		fprintf(stderr, "popgatectl db %s: %s\n", argv[0], err);
		return strstr(err, "schema") != NULL || strstr(err, "backend") != NULL ? 1 : CTL_EX_TEMPFAIL;
	}
	if (from == to)
		printf("schema version %d: up to date\n", to);
	else if (from == 0)
		printf("schema version %d created\n", to);
	else
		printf("schema upgraded from version %d to %d\n", from, to);
	return 0;
}
