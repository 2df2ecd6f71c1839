/* ctl.h - popgatectl subcommands: each is a function taking its own argv after the command name. */
#ifndef POPGATE_CTL_H
#define POPGATE_CTL_H

#include "common/config.h"

/* A subcommand: returns the process exit status. CFG is the loaded config (never NULL). */
typedef int (*ctl_fn)(const struct config *cfg, int argc, char **argv);

struct ctl_command {
	const char *name;
	ctl_fn fn;
	const char *usage;   /* arguments, e.g. "IP [--user U] [--ttl D]" */
	const char *help;    /* one line */
};

/* Implemented in src/ctl/cmd_*.c and listed in the table in src/ctl/main.c. */
int ctl_passwd(const struct config *cfg, int argc, char **argv);

#endif
