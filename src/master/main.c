/* main.c - popgated's command line: load and check popgate.conf, then hand over to the master. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "common/config_keys.h"
#include "common/log.h"
#include "master/master.h"
#include "master/validate.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: popgated [-F] [-t | -n] [-f FILE]\n"
		"  -f FILE  configuration file (default %s/popgate.conf)\n"
		"  -F       stay in the foreground and log to stderr\n"
		"  -t       check the configuration, print the effective settings and exit\n"
		"  -n       check the configuration, print only the settings that differ from the defaults\n"
		"  -V       print the version and exit\n",
		POPGATE_SYSCONFDIR);
}

/* check_only - -t and -n: 0 and the settings on stdout, or 78 and FILE:LINE on stderr. */
static int check_only(struct config *cfg, bool changed_only)
{
	struct cfg_error err;
	SSL_CTX *tls = NULL;
	int rc = 0;

	if (master_validate(cfg, &tls, &err) < 0) {
		fprintf(stderr, "popgated: %s\n", err.msg);
		rc = CFG_EXIT;
	} else if (changed_only) {
		config_dump_changed(cfg, stdout);
	} else {
		config_dump(cfg, stdout);
	}
	if (tls != NULL)
		SSL_CTX_free(tls);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = POPGATE_SYSCONFDIR "/popgate.conf";
	bool foreground = false, test = false, changed_only = false;
	struct cfg_error err;
	struct config *cfg;
	int c;

	while ((c = getopt(argc, argv, "f:FtnVh")) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 'F': foreground = true; break;
		case 't': test = true; break;
		case 'n': test = changed_only = true; break;
		case 'V': printf("popgated %s\n", POPGATE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	cfg = config_load(path, &err);
	if (cfg == NULL) {
		fprintf(stderr, "popgated: %s\n", err.msg);
		return CFG_EXIT;
	}
	if (test)
		return check_only(cfg, changed_only);
	log_open("popgated", log_facility_from_name(conf(cfg)->server.log_facility), foreground);
	return master_run(cfg, foreground);
}
