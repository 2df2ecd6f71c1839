/* cmd_block.c - popgatectl block, unblock and blocks: accounts an admin has stopped (see blocks.h). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/blocks.h"
#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"

/* Longest block with --for; longer is "for good" (no --for). */
#define CTL_BLOCK_MAX_SECONDS (366LL * 86400)

/* block_args - "USER [--for D] [--pop] [--note TEXT]" into B; 0 or CTL_EX_USAGE. */
static int block_args(int argc, char **argv, struct auth_block *b, time_t now)
{
	long long secs = 0;
	const char *why = NULL, *user = NULL, *note = "";

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
			if (cfg_parse_duration(argv[++i], &secs, &why) < 0 || secs <= 0 || secs > CTL_BLOCK_MAX_SECONDS) {
				fprintf(stderr, "popgatectl block: --for %s: %s\n", argv[i],
					why != NULL ? why : "must be between 1s and 366d");
				return CTL_EX_USAGE;
			}
		} else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc) {
			note = argv[++i];
		} else if (strcmp(argv[i], "--pop") == 0) {
			b->pop = true;
		} else if (argv[i][0] != '-' && user == NULL) {
			user = argv[i];
		} else {
			fprintf(stderr, "popgatectl block: unexpected argument %s\n", argv[i]);
			return CTL_EX_USAGE;
		}
	}
	if (user == NULL || !auth_name_valid(user) || !auth_block_note_ok(note)) {
		fprintf(stderr, "popgatectl block: expected a user name, and a note of at most %d bytes "
			"without control characters\n", AUTH_BLOCK_NOTE_MAX - 1);
		return CTL_EX_USAGE;
	}
	snprintf(b->user, sizeof(b->user), "%s", user);
	snprintf(b->note, sizeof(b->note), "%s", note);
	snprintf(b->by, sizeof(b->by), "popgatectl");
	b->since = now;
	b->until = secs > 0 ? (int64_t)now + secs : 0;
	return 0;
}

int ctl_block(const struct config *cfg, int argc, char **argv)
{
	struct auth_block b = { .pop = false };
	struct relaydb *db = NULL;
	char err[512], until[32];
	time_t now = time(NULL);
	long revoked;
	int rc;

	if ((rc = block_args(argc, argv, &b, now)) != 0)
		return rc;
	/* The block first: from here on no login authorizes relaying; then what is left is revoked. */
	if (auth_block_set(cfg, &b, now, err, sizeof(err)) < 0) {
		fprintf(stderr, "popgatectl block: %s\n", err);
		return CTL_EX_TEMPFAIL;
	}
	if (b.until == 0)
		snprintf(until, sizeof(until), "lifted");
	else
		ctl_format_time(b.until, until, sizeof(until));
	printf("%s: blocked until %s%s\n", b.user, until, b.pop ? ", POP logins refused too" : "");
	ctl_audit(cfg, "block", "blocked %s until %s%s%s%s", b.user, until, b.pop ? ", POP logins too" : "",
		  b.note[0] != '\0' ? ": " : "", b.note);
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	revoked = relaydb_revoke_user(cfg, db, b.user, now);
	relaydb_close(&db);
	if (revoked < 0) {
		fprintf(stderr, "popgatectl block: %s: its authorizations could not be revoked (database error)\n",
			b.user);
		return CTL_EX_TEMPFAIL;
	}
	printf("%s: %ld authorization%s revoked\n", b.user, revoked, revoked == 1 ? "" : "s");
	return 0;
}

int ctl_unblock(const struct config *cfg, int argc, char **argv)
{
	char err[512];
	int rc;

	if (argc != 1 || !auth_name_valid(argv[0])) {
		fprintf(stderr, "popgatectl unblock: expected one user name\n");
		return CTL_EX_USAGE;
	}
	rc = auth_block_lift(cfg, argv[0], time(NULL), err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "popgatectl unblock: %s\n", err);
		return CTL_EX_TEMPFAIL;
	}
	if (rc == 0) {
		fprintf(stderr, "popgatectl unblock: %s is not blocked\n", argv[0]);
		return 1;
	}
	ctl_audit(cfg, "unblock", "unblocked %s", argv[0]);
	printf("%s: unblocked\n", argv[0]);
	return 0;
}

int ctl_blocks(const struct config *cfg, int argc, char **argv)
{
	struct auth_blocks b;
	char since[32], until[32];
	time_t now = time(NULL);

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "popgatectl blocks: takes no arguments\n");
		return CTL_EX_USAGE;
	}
	if (auth_blocks_load(cfg, &b, now) < 0) {
		fprintf(stderr, "popgatectl blocks: the blocks file cannot be read (see the log)\n");
		return CTL_EX_TEMPFAIL;
	}
	printf("%-20s %-19s  %-19s  %-4s %-12s %s\n", "USER", "SINCE", "UNTIL", "POP", "BY", "NOTE");
	for (size_t i = 0; i < b.n; i++) {
		ctl_format_time(b.v[i].since, since, sizeof(since));
		if (b.v[i].until == 0)
			snprintf(until, sizeof(until), "lifted");
		else
			ctl_format_time(b.v[i].until, until, sizeof(until));
		printf("%-20s %-19s  %-19s  %-4s %-12s %s\n", b.v[i].user, since, until,
		       b.v[i].pop ? "yes" : "no", b.v[i].by, b.v[i].note);
	}
	auth_blocks_free(&b);
	return 0;
}
