/* main.c - popgatectl: administer a popgate installation from the command line. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin_audit.h"
#include "common/config.h"
#include "common/config_keys.h"
#include "common/log.h"
#include "ctl/ctl.h"

static const struct ctl_command commands[] = {
	{ "list", ctl_list, "[--json]", "show the relay authorizations", true },
	{ "add", ctl_add, "IP [--user U] [--ttl D]", "authorize IP to relay (default ttl relay.timeout)", true },
	{ "del", ctl_del, "IP", "remove IP's authorization", true },
	{ "flush", ctl_flush, "", "remove every authorization", true },
	{ "sweep", ctl_sweep, "", "remove expired authorizations now", true },
	{ "check", ctl_check, "IP", "say whether IP may relay and why (exit 0 yes, 1 no)", true },
	{ "block", ctl_block, "USER [--for D] [--pop] [--note T]", "block an account (for good without --for) and revoke its relaying", true },
	{ "unblock", ctl_unblock, "USER", "lift USER's block", true },
	{ "blocks", ctl_blocks, "", "show the blocked accounts", true },
	{ "lockouts", ctl_lockouts, "", "show failed-login penalties and lockouts (address, user, failures, since, until)", true },
	{ "unlock", ctl_unlock, "IP", "lift IP's lockout and penalties (needs root)", true },
	{ "import-drac", ctl_import_drac, "FILE", "import the unexpired entries of a DRAC dracd.db", true },
	{ "import-popauth", ctl_import_popauth, "FILE", "merge qpopper's APOP secrets (popauth -list) into auth.apop_secrets_file", true },
	{ "import-dracd-allow", ctl_import_dracd_allow, "FILE",
	  "print rpc.dracd's dracd.allow as a relay.drac_clients line", false },
	{ "passwd", ctl_passwd, "", "print a yescrypt hash of a password read from the terminal or stdin", false },
	{ "import-relay", ctl_import_relay, "bdb|postgresql",
	  "copy the unexpired authorizations of the named backend into relay.backend", true },
	{ "db", ctl_db, "init|upgrade", "create or upgrade the PostgreSQL table (relay.backend = postgresql)", true },
	{ "help", NULL, "[COMMAND]", "show this list, or one command's usage", false },
	{ NULL, NULL, NULL, NULL, false },
};

/* Who runs popgatectl, as the audit trail names them; set once at start, before any uid change. */
static char actor[64] = "popgatectl";

static void remember_actor(void)
{
	const char *sudo = getenv("SUDO_USER");
	const struct passwd *pw = getpwuid(getuid());
	const char *who = sudo != NULL && sudo[0] != '\0' ? sudo : pw != NULL ? pw->pw_name : NULL;

	if (who != NULL)
		snprintf(actor, sizeof(actor), "popgatectl (%.40s)", who);
}

void ctl_audit(const struct config *cfg, const char *action, const char *fmt, ...)
{
	char detail[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	(void)admin_audit_add(cfg, time(NULL), actor, "", action, "%s", detail);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: popgatectl [-f CONFIG] [-w SECONDS] COMMAND [ARGS]\n\n"
		"  -f CONFIG  configuration file (default %s)\n"
		"  -w SECONDS longest wait for the relay database, then exit 75 (default %d; 0: no bound)\n"
		"  -h, --help show this help\n\ncommands:\n",
		POPGATE_SYSCONFDIR "/popgate.conf", CTL_DB_WAIT_DEFAULT_S);
	for (const struct ctl_command *c = commands; c->name != NULL; c++)
		fprintf(out, "  %-18s %-26s %s\n", c->name, c->usage, c->help);
	fprintf(out, "\nexit status: 0 done (check: may relay), 1 failed or not found (check: may not relay),\n"
		"64 usage error, 75 relay database unavailable (try again), 78 configuration error\n"
		"see popgatectl(8)\n");
}

static const struct ctl_command *find_command(const char *name)
{
	for (const struct ctl_command *c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* help - "popgatectl help [COMMAND]": the whole list on stdout, or one command's line. */
static int help(int argc, char **argv)
{
	const struct ctl_command *c;

	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 || (c = find_command(argv[0])) == NULL) {
		fprintf(stderr, "popgatectl help: no such command: %s\n", argv[0]);
		return CTL_EX_USAGE;
	}
	printf("usage: popgatectl [-f CONFIG] %s %s\n  %s\n", c->name, c->usage, c->help);
	return 0;
}

/* parse_wait - popgatectl -w SECONDS into ctl_db_wait_s. 0, or -1 (said). */
static int parse_wait(const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v > 86400) {
		fprintf(stderr, "popgatectl: -w %s: expected seconds, 0 to 86400\n", arg);
		return -1;
	}
	ctl_db_wait_s = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = POPGATE_SYSCONFDIR "/popgate.conf";
	bool explicit_path = false;
	const struct ctl_command *cmd;
	struct config *cfg;
	struct cfg_error err;
	int opt, rc;

	log_open("popgatectl", LOG_MAIL, true);
	remember_actor();
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	/* "+": stop at the command, whose own options follow it. */
	while ((opt = getopt(argc, argv, "+f:hw:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			explicit_path = true;
			break;
		case 'w':
			if (parse_wait(optarg) < 0)
				return CTL_EX_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CTL_EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EX_USAGE;
	}
	if ((cmd = find_command(argv[optind])) == NULL) {
		fprintf(stderr, "popgatectl: unknown command %s\n", argv[optind]);
		usage(stderr);
		return CTL_EX_USAGE;
	}
	if (cmd->fn == NULL)
		return help(argc - optind - 1, argv + optind + 1);
	/* Making a hash must work before any popgate.conf exists (the first step of an install). */
	if (!cmd->needs_config && !explicit_path)
		cfg = config_load_string("(built-in defaults)", "", &err);
	else
		cfg = config_load(path, &err);
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return CFG_EXIT;
	}
	rc = cmd->fn(cfg, argc - optind - 1, argv + optind + 1);
	config_free(&cfg);
	return rc;
}
