/* cmd_lockouts.c - popgatectl lockouts and unlock: the master's failed-login penalties, over control.sock. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"
#include "master/control.h"

/* How long popgatectl waits for the master: it answers at once unless it is stopped. */
#define CTL_CONTROL_TIMEOUT_MS 5000

int ctl_lockouts(const struct config *cfg, int argc, char **argv)
{
	static char reply[CONTROL_REPLY_MAX];
	char err[512], since[32], until[32], *line, *save = NULL;
	struct control_row r;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "popgatectl lockouts: takes no arguments\n");
		return CTL_EX_USAGE;
	}
	if (control_request(cfg, "lockouts", reply, sizeof(reply), CTL_CONTROL_TIMEOUT_MS, err, sizeof(err)) < 0) {
		fprintf(stderr, "popgatectl lockouts: %s\n", err);
		return CTL_EX_TEMPFAIL;
	}
	printf("%-39s %-20s %8s  %-19s  %-19s  %-10s %s\n", "ADDRESS", "USER", "FAILURES", "SINCE", "UNTIL",
	       "STATE", "DELAY");
	line = strtok_r(reply, "\n", &save);   /* "ok N" */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (control_parse_row(line, &r) < 0)
			continue;
		ctl_format_time(r.first, since, sizeof(since));
		ctl_format_time(r.until, until, sizeof(until));
		printf("%-39s %-20s %8u  %-19s  %-19s  %-10s %us\n", r.ip, r.user[0] != '\0' ? r.user : "-",
		       r.failures, since, until, r.state, r.delay);
	}
	return 0;
}

int ctl_unlock(const struct config *cfg, int argc, char **argv)
{
	char req[CONTROL_REQUEST_MAX], reply[64], ip[IP_TEXT_MAX], err[512];

	if (argc != 1 || ip_canonical(argv[0], ip) < 0) {
		fprintf(stderr, "popgatectl unlock: expected one IP address\n");
		return CTL_EX_USAGE;
	}
	snprintf(req, sizeof(req), "unlock %s", ip);
	if (control_request(cfg, req, reply, sizeof(reply), CTL_CONTROL_TIMEOUT_MS, err, sizeof(err)) < 0) {
		fprintf(stderr, "popgatectl unlock: %s\n", err);
		return CTL_EX_TEMPFAIL;
	}
	if (strtoul(reply + 2, NULL, 10) == 0) {
		printf("%s: no failed logins recorded\n", ip);
		return 1;
	}
	ctl_audit(cfg, "unlock", "unlocked %s (failed logins forgotten: %lu user names)", ip, strtoul(reply + 2, NULL, 10));
	printf("%s: unlocked\n", ip);
	return 0;
}
