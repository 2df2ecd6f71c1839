/* cmd_import.c - popgatectl import-drac: take over an existing DRAC installation's dracd.db. */

#include <stdio.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"

int ctl_import_drac(const struct config *cfg, int argc, char **argv)
{
	struct relaydb *db = NULL;
	long n, skipped = 0;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "popgatectl import-drac: expected the path of dracd.db\n");
		return CTL_EX_USAGE;
	}
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	n = relaydb_import_drac(db, argv[0], time(NULL), &skipped);
	if (n < 0) {
		fprintf(stderr, "popgatectl import-drac: %s: could not be imported\n", argv[0]);
		rc = CTL_EX_TEMPFAIL;
	} else {
		if (n > 0)
			ctl_relay_changed(cfg, db);
		printf("%ld imported, %ld skipped (expired or unreadable)\n", n, skipped);
	}
	relaydb_close(&db);
	return rc;
}
