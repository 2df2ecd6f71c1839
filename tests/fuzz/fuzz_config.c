/* fuzz_config.c - libFuzzer harness: popgate.conf parsing, typed lookups and the dump round trip. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input (up to its first NUL) is a popgate.conf. When it loads, every declared key must read
 * back through its typed lookup within its declared bounds and choices, and config_dump (what
 * `popgated -t` prints for an administrator to keep) must load again to the same settings.
 * When it does not load, the error must name the file and fit its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#define CONF_NAME "fuzz.conf"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

/* enum_has - whether WORD is one of CHOICES ("a|b|c"). */
static bool enum_has(const char *choices, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = choices; p != NULL; p = strchr(p, '|'), p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return true;
	return false;
}

/* check_key - KEY ("section.key", declared as K) reads back through its typed lookup, in bounds. */
static void check_key(const struct config *cfg, const char *key, const struct cfg_key *k)
{
	const char *text = cfg_text(cfg, key);
	bool bounded = k->min != 0 || k->max != 0;
	long long v = 0;

	FUZZ_CHECK(text != NULL, "%s has no text", key);
	switch (k->type) {
	case CFG_STRING:
	case CFG_PATH:
		FUZZ_CHECK(strcmp(cfg_str_named(cfg, key), text) == 0, "%s: \"%s\" vs \"%s\"", key, cfg_str_named(cfg, key), text);
		break;
	case CFG_BOOL: {
		bool b;
		FUZZ_CHECK(cfg_parse_bool(text, &b) == 0 && b == cfg_bool_named(cfg, key), "%s = %s", key, text);
		break;
	}
	case CFG_INT:
		v = cfg_int_named(cfg, key);
		break;
	case CFG_SIZE:
		FUZZ_CHECK(cfg_size_named(cfg, key) <= (uint64_t)1 << 62, "%s = %s", key, text);
		v = (long long)cfg_size_named(cfg, key);
		break;
	case CFG_DURATION:
		v = cfg_duration_named(cfg, key);
		FUZZ_CHECK(v >= 0, "%s = %lld", key, v);
		break;
	case CFG_ENUM:
		FUZZ_CHECK(enum_has(k->choices, cfg_str_named(cfg, key)), "%s = \"%s\" is not one of %s", key, text, k->choices);
		break;
	case CFG_LIST:
		FUZZ_CHECK(cfg_list_named(cfg, key) != NULL, "%s: no list", key);
		for (size_t i = 0; i < cfg_list_named(cfg, key)->n; i++)
			FUZZ_CHECK(cfg_list_named(cfg, key)->v[i][0] != '\0', "%s: an empty word", key);
		break;
	case CFG_LISTEN:
		FUZZ_CHECK(cfg_listen_named(cfg, key) != NULL, "%s: no listen list", key);
		break;
	case CFG_CIDRS:
		FUZZ_CHECK(cfg_cidrs_named(cfg, key) != NULL, "%s: no network list", key);
		break;
	}
	if (bounded && (k->type == CFG_INT || k->type == CFG_SIZE || k->type == CFG_DURATION))
		FUZZ_CHECK(v >= k->min && v <= k->max, "%s = %lld outside [%lld, %lld]", key, v, k->min, k->max);
}

/* same_value - whether KEY means the same in A and B: list-like keys by their parsed words. */
static bool same_value(const struct config *a, const struct config *b, const char *key, const struct cfg_key *k)
{
	if (k->type == CFG_LIST) {
		const struct str_list *x = cfg_list_named(a, key), *y = cfg_list_named(b, key);
		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (strcmp(x->v[i], y->v[i]) != 0)
				return false;
		return true;
	}
	if (k->type == CFG_CIDRS) {
		const struct cidr_list *x = cfg_cidrs_named(a, key), *y = cfg_cidrs_named(b, key);
		char p[IP_TEXT_MAX + 4], q[IP_TEXT_MAX + 4];
		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++) {
			cidr_format(&x->v[i], p);
			cidr_format(&y->v[i], q);
			if (strcmp(p, q) != 0)
				return false;
		}
		return true;
	}
	if (k->type == CFG_LISTEN) {
		const struct listen_list *x = cfg_listen_named(a, key), *y = cfg_listen_named(b, key);
		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (strcmp(x->v[i].host, y->v[i].host) != 0 || strcmp(x->v[i].port, y->v[i].port) != 0)
				return false;
		return true;
	}
	return strcmp(cfg_text(a, key), cfg_text(b, key)) == 0;
}

/* dump - config_dump into a new string. */
static char *dump(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	FUZZ_CHECK(f != NULL, "open_memstream");
	config_dump(cfg, f);
	FUZZ_CHECK(fclose(f) == 0 && text != NULL, "config_dump");
	return text;
}

/* check_loaded - typed lookups of every key, and the dump loading back to the same values. */
static void check_loaded(const struct config *cfg)
{
	char key[160];
	char *text = dump(cfg);
	struct cfg_error err;
	struct config *again = config_load_string(CONF_NAME, text, &err);

	FUZZ_CHECK(again != NULL, "the dump does not load: %s\n--- dump ---\n%s", err.msg, text);
	for (const struct cfg_section *s = cfg_sections; s->name != NULL; s++) {
		for (const struct cfg_key *k = s->keys; k->name != NULL; k++) {
			snprintf(key, sizeof(key), "%s.%s", s->name, k->name);
			FUZZ_CHECK(cfg_find_key(key, NULL) == k, "cfg_find_key(%s)", key);
			check_key(cfg, key, k);
			FUZZ_CHECK(same_value(cfg, again, key, k),
				   "%s is \"%s\", after the dump round trip \"%s\"", key, cfg_text(cfg, key),
				   cfg_text(again, key));
		}
	}
	config_free(&again);
	FUZZ_CHECK(again == NULL, "config_free left the pointer");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct cfg_error err;
	struct config *cfg;

	memset(&err, 0, sizeof(err));
	cfg = config_load_string(CONF_NAME, text, &err);
	if (cfg == NULL) {
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL && strncmp(err.msg, CONF_NAME, 9) == 0,
			   "error message \"%.80s\"", err.msg);
	} else {
		FUZZ_CHECK(strcmp(config_path(cfg), CONF_NAME) == 0, "config_path");
		check_loaded(cfg);
		config_free(&cfg);
	}
	free(text);
	return 0;
}
