/* config_values.c - parse popgate.conf value text into typed values: sizes, durations, lists, listeners, networks. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/config_int.h"

int cfg_parse_bool(const char *t, bool *value)
{
	static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(t, yes[i]) == 0)
			return *value = true, 0;
		if (strcasecmp(t, no[i]) == 0)
			return *value = false, 0;
	}
	return -1;
}

/* parse_scaled - a non-negative integer with an optional one-letter unit from UNITS/MULTS. */
static int parse_scaled(const char *t, const char *units, const unsigned long long *mults,
			unsigned long long *out, const char **why)
{
	char *end;
	unsigned long long n, m = 1;

	if (*t < '0' || *t > '9') {
		*why = "not a number";
		return -1;
	}
	errno = 0;
	n = strtoull(t, &end, 10);
	if (errno != 0) {
		*why = "number too large";
		return -1;
	}
	if (*end != '\0') {
		const char *u = strchr(units, (char)tolower((unsigned char)*end));
		if (u == NULL || end[1] != '\0') {
			*why = "unknown unit";
			return -1;
		}
		m = mults[u - units];
	}
	if (m != 0 && n > ~0ULL / m) {
		*why = "number too large";
		return -1;
	}
	*out = n * m;
	return 0;
}

int cfg_parse_duration(const char *t, long long *seconds, const char **why)
{
	static const unsigned long long mults[] = { 1, 60, 3600, 86400 };
	unsigned long long v;

	if (parse_scaled(t, "smhd", mults, &v, why) < 0)
		return -1;
	if (v > (unsigned long long)INT32_MAX * 16) {
		*why = "duration too long";
		return -1;
	}
	*seconds = (long long)v;
	return 0;
}

int cfg_parse_size(const char *t, uint64_t *bytes, const char **why)
{
	static const unsigned long long mults[] = { 1ULL << 10, 1ULL << 20, 1ULL << 30 };
	unsigned long long v;

	if (parse_scaled(t, "kmg", mults, &v, why) < 0)
		return -1;
	*bytes = v;
	return 0;
}

/* next_word - split S at commas and white space; returns the next word or NULL. */
static char *next_word(char **s)
{
	char *p = *s, *start;

	while (*p == ',' || isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return NULL;
	start = p;
	while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return start;
}

static int parse_listen_one(char *w, struct listen_addr *la, const char **why)
{
	char *host = w, *port;

	if (*w == '[') {
		char *close = strchr(w, ']');
		if (close == NULL || close[1] != ':') {
			*why = "expected [IPv6]:port";
			return -1;
		}
		*close = '\0';
		host = w + 1;
		port = close + 2;
	} else {
		port = strrchr(w, ':');
		if (port == NULL) {
			*why = "expected host:port";
			return -1;
		}
		*port++ = '\0';
		if (strchr(host, ':') != NULL) {
			*why = "write IPv6 addresses in brackets: [::1]:port";
			return -1;
		}
	}
	char *end;
	long p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 1 || p > 65535) {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	if (strlen(host) >= sizeof(la->host)) {
		*why = "host name too long";
		return -1;
	}
	snprintf(la->host, sizeof(la->host), "%s", strcmp(host, "*") == 0 ? "" : host);
	snprintf(la->port, sizeof(la->port), "%ld", p);
	return 0;
}

int cfg_parse_listen(const char *text, struct listen_addr *la, const char **why)
{
	char w[sizeof(la->host) + sizeof(la->port) + 4];

	if (strlen(text) >= sizeof(w))
		return *why = "host name too long", -1;
	snprintf(w, sizeof(w), "%s", text);
	return parse_listen_one(w, la, why);
}

/* parse_words - split TEXT and hand each word to ADD; the list kinds share this walk. */
static int parse_words(const char *text, int (*add)(void *list, char *word, const char **why),
		       void *list, const char **why)
{
	char *copy = strdup(text), *cur = copy, *w;
	int rc = 0;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	while (rc == 0 && (w = next_word(&cur)) != NULL)
		rc = add(list, w, why);
	free(copy);
	return rc;
}

static int add_listen(void *list, char *w, const char **why)
{
	struct listen_list *l = list;
	struct listen_addr *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return *why = "out of memory", -1;
	l->v = nv;
	return parse_listen_one(w, &l->v[l->n++], why);
}

static int add_cidr(void *list, char *w, const char **why)
{
	struct cidr_list *l = list;
	struct cidr *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return *why = "out of memory", -1;
	l->v = nv;
	if (cidr_parse(w, &l->v[l->n], why) < 0)
		return -1;
	l->n++;
	return 0;
}

static int add_word(void *list, char *w, const char **why)
{
	struct str_list *l = list;
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return *why = "out of memory", -1;
	l->v = nv;
	if ((l->v[l->n] = strdup(w)) == NULL)
		return *why = "out of memory", -1;
	l->n++;
	return 0;
}

bool slot_is_text(const struct cfg_slot *s)
{
	return s->key->type == CFG_STRING || s->key->type == CFG_PATH || s->key->type == CFG_ENUM;
}

void slot_clear_value(struct cfg_slot *s)
{
	switch (s->key->type) {
	case CFG_LISTEN:
		free(((struct listen_list *)s->field)->v);
		break;
	case CFG_CIDRS:
		free(((struct cidr_list *)s->field)->v);
		break;
	case CFG_LIST: {
		struct str_list *l = s->field;
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i]);
		free(l->v);
		break;
	}
	default:
		break;
	}
	/* A text field points at the slot's text, which its owner frees. */
	if (!slot_is_text(s))
		memset(s->field, 0, s->key->size);
}

static int check_bounds(const struct cfg_key *k, long long v, const char **why)
{
	if ((k->min != 0 || k->max != 0) && (v < k->min || v > k->max)) {
		*why = "value out of range";
		return -1;
	}
	return 0;
}

static bool enum_has(const char *choices, const char *t)
{
	size_t len = strlen(t);
	const char *p = choices;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == len && strncmp(p, t, n) == 0)
			return true;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return false;
}

/* text_check - free text still goes into logs, commands and replies: no control characters. */
static int text_check(const char *text, const char **why)
{
	for (const char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return *why = "contains a control character", -1;
	return 0;
}

/* slot_parse - turn TEXT into the typed value of slot S, replacing what it held. */
int slot_parse(struct cfg_slot *s, const char *text, const char **why)
{
	const struct cfg_key *k = s->key;
	long long *i = s->field; /* CFG_INT and CFG_DURATION */
	char *end;

	slot_clear_value(s);
	switch (k->type) {
	case CFG_STRING:
		return text_check(text, why);
	case CFG_PATH:
		/* Relative to what? popgated runs from /, popgatectl from anywhere: say it once. */
		if (text[0] != '\0' && text[0] != '/')
			return *why = "not an absolute path", -1;
		return text_check(text, why);
	case CFG_BOOL:
		if (cfg_parse_bool(text, (bool *)s->field) < 0)
			return *why = "not a boolean", -1;
		return 0;
	case CFG_INT:
		errno = 0;
		*i = strtoll(text, &end, 10);
		if (*text == '\0' || *end != '\0' || errno != 0)
			return *why = "not an integer", -1;
		return check_bounds(k, *i, why);
	case CFG_SIZE:
		if (cfg_parse_size(text, (uint64_t *)s->field, why) < 0)
			return -1;
		return check_bounds(k, (long long)*(uint64_t *)s->field, why);
	case CFG_DURATION:
		if (cfg_parse_duration(text, i, why) < 0)
			return -1;
		return check_bounds(k, *i, why);
	case CFG_ENUM:
		if (!enum_has(k->choices, text))
			return *why = "not one of the allowed values", -1;
		return 0;
	case CFG_LIST:
	case CFG_LISTEN:
	case CFG_CIDRS:
		return parse_words(text, k->type == CFG_LIST ? add_word : k->type == CFG_LISTEN ? add_listen : add_cidr,
				   s->field, why);
	}
	return *why = "unknown type", -1;
}

