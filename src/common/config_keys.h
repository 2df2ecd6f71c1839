/* config_keys.h - the per-section key tables that make up the config registry. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CONFIG_KEYS_H
#define POPGATE_CONFIG_KEYS_H

#include "common/config.h"

/* Installation paths, set by the build (Makefile.am) so defaults follow --prefix. */
#ifndef POPGATE_SYSCONFDIR
#define POPGATE_SYSCONFDIR "/etc/popgate"
#endif
#ifndef POPGATE_STATEDIR
#define POPGATE_STATEDIR "/var/lib/popgate"
#endif
#ifndef POPGATE_RUNDIR
#define POPGATE_RUNDIR "/run"
#endif
#ifndef POPGATE_WWWDIR
#define POPGATE_WWWDIR "/usr/share/popgate/www"
#endif

/* Shorthand for table rows: name, type, default, help[, min, max[, choices]][, check]. */
#define CFG_KEY(n, t, d, h) { (n), (t), (d), (h), 0, 0, NULL, NULL }
#define CFG_KEY_CHECKED(n, t, d, h, c) { (n), (t), (d), (h), 0, 0, NULL, (c) }
#define CFG_KEY_RANGE(n, t, d, h, lo, hi) { (n), (t), (d), (h), (lo), (hi), NULL, NULL }
#define CFG_KEY_ENUM(n, d, c, h) { (n), CFG_ENUM, (d), (h), 0, 0, (c), NULL }
#define CFG_KEYS_END { NULL, 0, NULL, NULL, 0, 0, NULL, NULL }

/*
 * Value checks for CFG_KEY_CHECKED rows (config_checks.c): each returns why a value that parses
 * would still break the service, or NULL. They catch at load (popgated -t, start, reload) what
 * would otherwise fail in every session.
 */
const char *cfg_check_hostname(const char *value);  /* empty, or a host name */
const char *cfg_check_domain(const char *value);    /* a domain of two labels or more */
const char *cfg_check_mailbox(const char *value);   /* mbox:/path or maildir:/path, %u %h %% */
const char *cfg_check_expire(const char *value);    /* RFC 2449 EXPIRE argument, or empty */
const char *cfg_check_store_timeout(const char *value); /* 1ms to 60s (cfg_parse_millis) */

extern const struct cfg_key cfg_keys_server[];
extern const struct cfg_key cfg_keys_tls[];
extern const struct cfg_key cfg_keys_auth[];
extern const struct cfg_key cfg_keys_pop3[];
extern const struct cfg_key cfg_keys_smtp[];
extern const struct cfg_key cfg_keys_relay[];
extern const struct cfg_key cfg_keys_admin[];

#endif
