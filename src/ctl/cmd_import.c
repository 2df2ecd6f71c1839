/* cmd_import.c - popgatectl import-drac: take over an existing DRAC installation's dracd.db, key by key. */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"
#include "relaydb/drac_import.h"

/* rpc.dracd's default -e: an entry lasts 30 minutes from the login it records. */
#define DRAC_DEFAULT_EXPIRE (30 * 60)

/* report_skip - one line per key left out, on stdout with the summary (a report, not an error). */
static void report_skip(void *arg, const char *key, enum drac_skip why, const char *reason)
{
	(void)arg;
	printf("skipped %s: %s (%s)\n", key, reason, drac_skip_name(why));
}

/* import_args - "FILE [--drac-expire D]"; 0 or CTL_EX_USAGE. */
static int import_args(int argc, char **argv, const char **file, long long *expire)
{
	const char *why = NULL;

	*file = NULL;
	*expire = DRAC_DEFAULT_EXPIRE;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--drac-expire") == 0 && i + 1 < argc) {
			if (cfg_parse_duration(argv[++i], expire, &why) < 0 || *expire <= 0 || *expire > 366LL * 86400) {
				fprintf(stderr, "popgatectl import-drac: --drac-expire %s: %s\n", argv[i],
					why != NULL ? why : "out of range");
				return CTL_EX_USAGE;
			}
		} else if (*file == NULL && argv[i][0] != '-') {
			*file = argv[i];
		} else {
			*file = NULL;
			break;
		}
	}
	if (*file == NULL) {
		fprintf(stderr, "popgatectl import-drac: expected FILE [--drac-expire D] (FILE: the dracd.db)\n");
		return CTL_EX_USAGE;
	}
	return 0;
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
	const char *file;
	long long expire;
	int rc;

	if ((rc = import_args(argc, argv, &file, &expire)) != 0)
		return rc;
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	r = relaydb_import_drac(db, file, time(NULL), (long)expire, &rep, report_skip, NULL);
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
