/* config_keys.h - the per-section key tables that make up the config registry. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CONFIG_KEYS_H
#define POPGATE_CONFIG_KEYS_H

#include <stddef.h>

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

/*
 * A row names its key as a bare word, the name of its field in struct popgate_conf (config_struct.h)
 * under CFG_SECTION, which each keys_<section>.c defines: a key without a field, or whose field has
 * another type than the key's, does not compile.
 */
#define CFG_CONF_FIELD(n) (((struct popgate_conf *)0)->CFG_SECTION.n)

/* CFG_KIND - which C type holds a value of key type T; CFG_FIELD_KIND - the same for a field. */
enum cfg_kind { CFG_K_TEXT = 1, CFG_K_BOOL, CFG_K_LL, CFG_K_U64, CFG_K_LIST, CFG_K_LISTEN, CFG_K_CIDRS };
#define CFG_KIND(t) \
	((t) == CFG_BOOL ? CFG_K_BOOL : (t) == CFG_INT || (t) == CFG_DURATION ? CFG_K_LL : \
	 (t) == CFG_SIZE ? CFG_K_U64 : (t) == CFG_LIST ? CFG_K_LIST : (t) == CFG_LISTEN ? CFG_K_LISTEN : \
	 (t) == CFG_CIDRS ? CFG_K_CIDRS : CFG_K_TEXT)
#define CFG_FIELD_KIND(f) \
	_Generic((f), const char *: CFG_K_TEXT, bool: CFG_K_BOOL, long long: CFG_K_LL, uint64_t: CFG_K_U64, \
		 struct str_list: CFG_K_LIST, struct listen_list: CFG_K_LISTEN, struct cidr_list: CFG_K_CIDRS)

/* offset and size of field N, with a negative array size (a compile error) when its type is not T's. */
#define CFG_AT(n, t) \
	offsetof(struct popgate_conf, CFG_SECTION.n), \
	sizeof(CFG_CONF_FIELD(n)) + 0 * sizeof(char[CFG_FIELD_KIND(CFG_CONF_FIELD(n)) == CFG_KIND(t) ? 1 : -1])

/* Shorthand for table rows: name, type, default, help[, min, max[, choices]][, check]. */
#define CFG_KEY(n, t, d, h) { #n, (t), (d), (h), 0, 0, NULL, NULL, CFG_AT(n, t) }
#define CFG_KEY_CHECKED(n, t, d, h, c) { #n, (t), (d), (h), 0, 0, NULL, (c), CFG_AT(n, t) }
#define CFG_KEY_RANGE(n, t, d, h, lo, hi) { #n, (t), (d), (h), (lo), (hi), NULL, NULL, CFG_AT(n, t) }
#define CFG_KEY_ENUM(n, d, c, h) { #n, CFG_ENUM, (d), (h), 0, 0, (c), NULL, CFG_AT(n, CFG_ENUM) }
#define CFG_KEYS_END { NULL, 0, NULL, NULL, 0, 0, NULL, NULL, 0, 0 }

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
