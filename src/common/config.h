/* config.h - the popgate.conf registry: typed keys, defaults, parsing and lookup. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CONFIG_H
#define POPGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cidr.h"

/* Value types a key can declare. */
enum cfg_type {
	CFG_STRING,   /* free text */
	CFG_PATH,     /* a file system path; "" means unset */
	CFG_BOOL,     /* yes/no, true/false, on/off, 1/0 */
	CFG_INT,      /* decimal integer within [min, max] */
	CFG_SIZE,     /* bytes, with optional K, M, G suffix (powers of 1024) */
	CFG_DURATION, /* seconds, with optional s, m, h, d suffix */
	CFG_ENUM,     /* one of the '|'-separated words in choices */
	CFG_LIST,     /* comma or space separated words */
	CFG_LISTEN,   /* comma separated host:port, [v6]:port or *:port */
	CFG_CIDRS,    /* comma separated networks: 10.0.0.0/8, ::1, 2001:db8::/32 */
};

/* One declared key. Tables of these live in config_keys_<section>.c. */
struct cfg_key {
	const char *name;    /* key within its section, e.g. "hostname" */
	enum cfg_type type;
	const char *def;     /* default, in the same text form as the file */
	const char *help;    /* one line for -t output, the sample config and the man page */
	long long min, max;  /* CFG_INT, CFG_SIZE, CFG_DURATION bounds; 0,0 means unbounded */
	const char *choices; /* CFG_ENUM: "a|b|c" */
	/* Why a value that parses is still refused, or NULL; called for each word of a CFG_LIST. */
	const char *(*check)(const char *value);
	/* Where the value lands in struct popgate_conf (config_struct.h), and the field's size. */
	size_t offset, size;
};

/* One section and its keys, terminated by a key with name == NULL. */
struct cfg_section {
	const char *name;
	const struct cfg_key *keys;
};

/* The registry: every section, terminated by {NULL, NULL}. */
extern const struct cfg_section cfg_sections[];

struct listen_addr {
	char host[256];  /* "" or "*" for any address; IPv6 without brackets */
	char port[8];
};

struct listen_list {
	size_t n;
	struct listen_addr *v;
};

struct str_list {
	size_t n;
	char **v;
};

struct config;
struct popgate_conf;

/* Exit status for configuration errors (sysexits.h EX_CONFIG). */
#define CFG_EXIT 78

/* Error text, always "FILE:LINE: what is wrong" (or "FILE: what is wrong"). */
struct cfg_error {
	char msg[512];
};

/* config_load - parse FILE into a new config with every default filled in; NULL and err on failure. */
struct config *config_load(const char *path, struct cfg_error *err);

/* config_load_string - the same from text in memory; NAME is used in error messages. */
struct config *config_load_string(const char *name, const char *text, struct cfg_error *err);

/* config_free - release a config and set *cfg to NULL. */
void config_free(struct config **cfg);

/* config_path - the file the config was read from. */
const char *config_path(const struct config *cfg);

/*
 * conf - every setting, typed, filled once when the file is loaded (a reload loads a new config):
 * conf(cfg)->smtp.max_recipients. Strings and lists belong to CFG and go with config_free.
 */
const struct popgate_conf *conf(const struct config *cfg);

/*
 * Look-ups by a "section.key" computed at run time (a service's listen key), for the few rooms
 * that must name a key; a literal key reads conf() instead, where a typo does not compile.
 * An undeclared key or the wrong type is a bug: it aborts.
 */
const char *cfg_str_named(const struct config *cfg, const char *key);
bool cfg_bool_named(const struct config *cfg, const char *key);
long long cfg_int_named(const struct config *cfg, const char *key);
uint64_t cfg_size_named(const struct config *cfg, const char *key);
long long cfg_duration_named(const struct config *cfg, const char *key);
const struct listen_list *cfg_listen_named(const struct config *cfg, const char *key);
const struct cidr_list *cfg_cidrs_named(const struct config *cfg, const char *key);
const struct str_list *cfg_list_named(const struct config *cfg, const char *key);

/* cfg_text - the effective value of KEY as text, whatever its type. */
const char *cfg_text(const struct config *cfg, const char *key);

/* cfg_line - the line KEY was set on, 0 when it holds its default. */
int cfg_line(const struct config *cfg, const char *key);

/* cfg_is_set - whether KEY was given in the file. */
bool cfg_is_set(const struct config *cfg, const char *key);

/* cfg_fail - format "FILE:LINE: KEY: what" into err for a semantic check made after loading. */
void cfg_fail(const struct config *cfg, const char *key, struct cfg_error *err,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* config_dump - print the effective settings in config-file form. */
void config_dump(const struct config *cfg, FILE *out);

/* config_dump_changed - only the settings the file sets to other than their defaults (popgated -n). */
void config_dump_changed(const struct config *cfg, FILE *out);

/* cfg_find_key - the declaration of "section.key", or NULL. */
const struct cfg_key *cfg_find_key(const char *key, const struct cfg_section **section);

/* Parsers shared with command-line tools; each returns 0 or -1 with a reason in why. */
int cfg_parse_duration(const char *text, long long *seconds, const char **why);

/* cfg_parse_millis - "250ms", "2s" or "250" (ms) between 1 ms and 60 s: milliseconds, or -1. */
long long cfg_parse_millis(const char *text);
int cfg_parse_size(const char *text, uint64_t *bytes, const char **why);
int cfg_parse_bool(const char *text, bool *value);
/* cfg_parse_listen - one listener, "host:port", "[v6]:port" or "*:port", as listen keys take it. */
int cfg_parse_listen(const char *text, struct listen_addr *la, const char **why);

/*
 * cfg_hostname_check - why NAME is not a host name of at least MIN_LABELS dot-separated labels
 * (letters, digits and inner hyphens, 1-63 each, 253 in all; the last not all digits), or NULL.
 */
const char *cfg_hostname_check(const char *name, int min_labels);

#include "common/config_struct.h"

#endif
