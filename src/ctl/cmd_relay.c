/* cmd_relay.c - popgatectl add, del, flush, sweep and check on the relay database. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"
#include "master/control.h"
#include "relaydb/explain.h"

/* one_ip - the single IP argument of del and check, canonicalised; 0 or CTL_EX_USAGE. */
static int one_ip(const char *cmd, int argc, char **argv, char ip[IP_TEXT_MAX])
{
	if (argc != 1) {
		fprintf(stderr, "popgatectl %s: expected one IP address\n", cmd);
		return CTL_EX_USAGE;
	}
	if (ip_canonical(argv[0], ip) < 0) {
		fprintf(stderr, "popgatectl %s: %s: not an IP address\n", cmd, argv[0]);
		return CTL_EX_USAGE;
	}
	return 0;
}

/* add_args - parse "IP [--user U] [--ttl D]"; 0 or CTL_EX_USAGE. */
static int add_args(const struct config *cfg, int argc, char **argv, char ip[IP_TEXT_MAX],
		    const char **user, long long *ttl)
{
	const char *why = NULL;
	const char *ipa = NULL;

	*user = "";
	*ttl = conf(cfg)->relay.timeout;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			*user = argv[++i];
		} else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			if (cfg_parse_duration(argv[++i], ttl, &why) < 0 || *ttl <= 0 || *ttl > 366LL * 86400) {
				fprintf(stderr, "popgatectl add: --ttl %s: %s\n", argv[i],
					why != NULL ? why : "must be between 1s and 366d");
				return CTL_EX_USAGE;
			}
		} else if (argv[i][0] != '-' && ipa == NULL) {
			ipa = argv[i];
		} else {
			fprintf(stderr, "popgatectl add: unexpected argument %s\n", argv[i]);
			return CTL_EX_USAGE;
		}
	}
	if (strlen(*user) >= RELAY_USER_MAX || strpbrk(*user, "\r\n\t") != NULL) {
		fprintf(stderr, "popgatectl add: --user: too long or contains control characters\n");
		return CTL_EX_USAGE;
	}
	return one_ip("add", ipa != NULL ? 1 : 0, (char **)&ipa, ip);
}

int ctl_add(const struct config *cfg, int argc, char **argv)
{
	struct relaydb *db = NULL;
	char ip[IP_TEXT_MAX], until[32];
	const char *user;
	long long ttl;
	time_t now = time(NULL);
	int rc;

	if ((rc = add_args(cfg, argc, argv, ip, &user, &ttl)) != 0)
		return rc;
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	if (relaydb_authorize(db, ip, user, RELAY_PROTO_MANUAL, ttl, now) < 0) {
		fprintf(stderr, "popgatectl add: %s: database error\n", ip);
		rc = CTL_EX_TEMPFAIL;
	} else {
		ctl_relay_changed_ip(cfg, db, ip);
		ctl_audit(cfg, "add", "authorized %s for %llds%s%s", ip, ttl, user[0] != '\0' ? ", user " : "", user);
		ctl_format_time((int64_t)now + ttl, until, sizeof(until));
		printf("%s: authorized until %s\n", ip, until);
	}
	relaydb_close(&db);
	return rc;
}

int ctl_del(const struct config *cfg, int argc, char **argv)
{
	struct relaydb *db = NULL;
	char ip[IP_TEXT_MAX];
	int rc, r;

	if ((rc = one_ip("del", argc, argv, ip)) != 0 || (rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	r = relaydb_del(db, ip);
	if (r < 0) {
		fprintf(stderr, "popgatectl del: %s: database error\n", ip);
		rc = CTL_EX_TEMPFAIL;
	} else if (r == 0) {
		printf("%s: no authorization\n", ip);
		rc = 1;
	} else {
		ctl_relay_changed_ip(cfg, db, ip);
		ctl_audit(cfg, "revoke", "revoked %s", ip);
		printf("%s: removed\n", ip);
	}
	relaydb_close(&db);
	return rc;
}

/* purge_cmd - flush or sweep, which differ only in what they remove. */
static int purge_cmd(const struct config *cfg, int argc, const char *cmd, bool all)
{
	struct relaydb *db = NULL;
	long n;
	int rc;

	if (argc != 0) {
		fprintf(stderr, "popgatectl %s: takes no arguments\n", cmd);
		return CTL_EX_USAGE;
	}
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	n = all ? relaydb_flush(db) : relaydb_sweep(db, time(NULL), conf(cfg)->relay.timeout);
	if (n < 0) {
		fprintf(stderr, "popgatectl %s: database error\n", cmd);
		rc = CTL_EX_TEMPFAIL;
	} else {
		ctl_relay_changed(cfg, db);
		if (all)
			ctl_audit(cfg, "flush", "removed every authorization (%ld)", n);
		printf("%ld %s removed\n", n, n == 1 ? "entry" : "entries");
	}
	relaydb_close(&db);
	return rc;
}

int ctl_flush(const struct config *cfg, int argc, char **argv)
{
	return purge_cmd(cfg, argc, "flush", true);
}

int ctl_sweep(const struct config *cfg, int argc, char **argv)
{
	return purge_cmd(cfg, argc, "sweep", false);
}

static void print_line(const char *line, void *arg)
{
	(void)arg;
	puts(line);
}

/* Lines kept to print later: the lockout lines are asked for while popgatectl is still root. */
struct held_lines {
	char text[8][768];
	int n;
};

static void hold_line(const char *line, void *arg)
{
	struct held_lines *h = arg;

	if (h->n < 8)
		snprintf(h->text[h->n++], sizeof(h->text[0]), "%s", line);
}

/* user_may_relay - for a look-up by user alone: not blocked and an authorization still counting. */
static bool user_may_relay(const struct relay_explain *x, time_t now)
{
	if (x->blocked != 0 || x->user_found <= 0)
		return false;
	for (int i = 0; i < x->user_found && i < RELAY_EXPLAIN_ENTRIES; i++)
		if (!relay_entry_expired(&x->user_entries[i], now, x->timeout))
			return true;
	return false;
}

int ctl_check(const struct config *cfg, int argc, char **argv)
{
	struct relaydb *db = NULL;
	struct relay_explain x;
	const char *ip = NULL, *user = NULL;
	char canon[IP_TEXT_MAX];
	time_t now = time(NULL);

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc && user == NULL)
			user = argv[++i];
		else if (ip == NULL && ip_canonical(argv[i], canon) == 0)
			ip = argv[i];
		else if (user == NULL && argv[i][0] != '-')
			user = argv[i];
		else
			user = "";   /* an argument too many: refused below */
	}
	if ((ip == NULL && user == NULL) || (user != NULL && !auth_name_valid(user))) {
		fprintf(stderr, "popgatectl check: expected an IP address, a user name, or IP --user NAME\n");
		return CTL_EX_USAGE;
	}
	/* The master answers root only: ask before becoming the database's owner. */
	static struct held_lines held;
	control_lockout_lines(cfg, ip != NULL ? canon : NULL, user, now, hold_line, &held);
	/* A database that cannot be opened is what the SMTP side would see too: report db-error. */
	if (ctl_relay_open(cfg, &db) != 0)
		db = NULL;
	(void)relay_explain(cfg, db, ip, user, now, &x);
	relaydb_close(&db);
	relay_explain_lines(&x, now, print_line, NULL);
	for (int i = 0; i < held.n; i++)
		puts(held.text[i]);
	relay_explain_seen_lines(&x, NULL, NULL, now, print_line, NULL);
	if (ip != NULL)
		return relay_allowed(x.reason) ? 0 : 1;
	return user_may_relay(&x, now) ? 0 : 1;
}
