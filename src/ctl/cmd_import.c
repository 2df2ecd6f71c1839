/* cmd_import.c - popgatectl import-drac: take over an existing DRAC installation's dracd.db, key by key. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"
#include "relaydb/drac_import.h"

/* report_skip - one line per key left out, on stdout with the summary (a report, not an error). */
static void report_skip(void *arg, const char *key, enum drac_skip why, const char *reason)
{
	(void)arg;
	printf("skipped %s: %s (%s)\n", key, reason, drac_skip_name(why));
}

/* print_summary - one line with every count, so nothing is left out silently. */
static void print_summary(const struct drac_report *r)
{
	long skipped = 0;

	for (int i = 0; i < DRAC_SKIP_COUNT; i++)
		skipped += r->skipped[i];
	printf("%ld imported, %ld already held for longer, %ld expired, %ld skipped", r->imported, r->kept,
	       r->expired, skipped);
	for (int i = 0; i < DRAC_SKIP_COUNT; i++)
		printf("%s%ld %s", i == 0 ? " (" : ", ", r->skipped[i], drac_skip_name((enum drac_skip)i));
	printf(")\n");
}

int ctl_import_drac(const struct config *cfg, int argc, char **argv)
{
	struct relaydb *db = NULL;
	struct drac_report rep;
	enum drac_result r;
	const char *file = argc == 1 ? argv[0] : NULL;
	int rc;

	if (file == NULL) {
		fprintf(stderr, "popgatectl import-drac: expected the path of dracd.db\n");
		return CTL_EX_USAGE;
	}
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	r = relaydb_import_drac(db, file, time(NULL), &rep, report_skip, NULL);
	if (r == DRAC_OK) {
		if (rep.imported > 0)
			ctl_relay_changed(cfg, db);
		print_summary(&rep);
	} else {
		fprintf(stderr, "popgatectl import-drac: %s: %s\n", file,
			r == DRAC_BAD_FILE ? "not imported (see above)" : "relay database error, nothing lost: try again");
		rc = r == DRAC_BAD_FILE ? 1 : CTL_EX_TEMPFAIL;
	}
	relaydb_close(&db);
	return rc;
}
