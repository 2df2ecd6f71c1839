/* ctl.h - popgatectl subcommands: each is a function taking its own argv after the command name. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CTL_H
#define POPGATE_CTL_H

#include <stdbool.h>

#include "common/config.h"

/* A subcommand: returns the process exit status. CFG is the loaded config (never NULL). */
typedef int (*ctl_fn)(const struct config *cfg, int argc, char **argv);

struct ctl_command {
	const char *name;
	ctl_fn fn;
	const char *usage;   /* arguments, e.g. "IP [--user U] [--ttl D]" */
	const char *help;    /* one line */
	bool needs_config;   /* false: runs on built-in defaults when no -f is given (passwd) */
};

/* Exit statuses besides 0 and 1 (sysexits.h): bad arguments, database unavailable. */
#define CTL_EX_USAGE 64
#define CTL_EX_TEMPFAIL 75

/* How long a command may wait for the relay database (popgatectl -w; 0: no bound). */
#define CTL_DB_WAIT_DEFAULT_S 60
extern unsigned ctl_db_wait_s;

/* Implemented in src/ctl/cmd_*.c and listed in the table in src/ctl/main.c. */
int ctl_passwd(const struct config *cfg, int argc, char **argv);

/* ctl_import_relay - import-relay bdb|postgresql: copy that backend's authorizations into relay.backend. */
int ctl_import_relay(const struct config *cfg, int argc, char **argv);

/* ctl_db - db init | db upgrade: create or bring up to date the PostgreSQL store's schema. */
int ctl_db(const struct config *cfg, int argc, char **argv);

/* ctl_list - print the relay authorizations as an aligned table, or JSON with --json. */
int ctl_list(const struct config *cfg, int argc, char **argv);

/* ctl_add - authorize IP by hand: add IP [--user U] [--ttl D]. */
int ctl_add(const struct config *cfg, int argc, char **argv);

/* ctl_del - remove IP's authorization; exit 1 when there was none. */
int ctl_del(const struct config *cfg, int argc, char **argv);

/* ctl_flush - remove every authorization. */
int ctl_flush(const struct config *cfg, int argc, char **argv);

/* ctl_sweep - remove expired authorizations now. */
int ctl_sweep(const struct config *cfg, int argc, char **argv);

/* ctl_check - print whether IP may relay and why; exit 0 allowed, 1 not. */
int ctl_check(const struct config *cfg, int argc, char **argv);

/* ctl_import_drac - copy a DRAC dracd.db's unexpired entries into the relay database. */
int ctl_import_drac(const struct config *cfg, int argc, char **argv);

/* ctl_import_popauth - merge qpopper's APOP secrets (a `popauth -list` export) into auth.apop_secrets_file. */
int ctl_import_popauth(const struct config *cfg, int argc, char **argv);

/* ctl_block - block an account: block USER [--for D] [--pop] [--note TEXT]; revokes its authorizations. */
int ctl_block(const struct config *cfg, int argc, char **argv);

/* ctl_unblock - lift USER's block; exit 1 when there was none. */
int ctl_unblock(const struct config *cfg, int argc, char **argv);

/* ctl_blocks - print the blocks in force. */
int ctl_blocks(const struct config *cfg, int argc, char **argv);

/* ctl_lockouts - list the master's failed-login penalties and lockouts (control.sock). */
int ctl_lockouts(const struct config *cfg, int argc, char **argv);

/* ctl_unlock - make the master forget IP's failed logins; exit 1 when it had none. */
int ctl_unlock(const struct config *cfg, int argc, char **argv);

/*
 * ctl_audit - add an action to the audit trail (admin_audit.h) as "popgatectl (NAME)", NAME the
 * user who ran it (SUDO_USER when run through sudo), captured before any change of uid.
 */
void ctl_audit(const struct config *cfg, const char *action, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ctl_import_dracd_allow - print rpc.dracd's dracd.allow as relay.drac_clients; bad lines as FILE:LINE. */
int ctl_import_dracd_allow(const struct config *cfg, int argc, char **argv);

#endif
