/* main.c - popgatectl: administer a popgate installation from the command line. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	{ "import-drac", ctl_import_drac, "FILE", "import the unexpired entries of a DRAC dracd.db", true },
	{ "import-dracd-allow", ctl_import_dracd_allow, "FILE",
	  "print rpc.dracd's dracd.allow as a relay.drac_clients line", false },
	{ "passwd", ctl_passwd, "", "print a yescrypt hash of a password read from the terminal or stdin", false },
	{ NULL, NULL, NULL, NULL, false },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: popgatectl [-f CONFIG] COMMAND [ARGS]\n\n"
		"  -f CONFIG  configuration file (default %s)\n\ncommands:\n",
		POPGATE_SYSCONFDIR "/popgate.conf");
	for (const struct ctl_command *c = commands; c->name != NULL; c++)
		fprintf(out, "  %-18s %-26s %s\n", c->name, c->usage, c->help);
}

static const struct ctl_command *find_command(const char *name)
{
	for (const struct ctl_command *c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
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
	/* "+": stop at the command, whose own options follow it. */
	while ((opt = getopt(argc, argv, "+f:h")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			explicit_path = true;
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
