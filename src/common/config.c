/* config.c - load popgate.conf with libinih into the typed key registry, with FILE:LINE errors. */

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"

/* One key's effective value. */
struct cfg_slot {
	const struct cfg_section *section;
	const struct cfg_key *key;
	char *text;   /* effective text (default or from the file) */
	int line;     /* line it was set on, 0 for a default */
	union {
		bool b;
		long long i;
		uint64_t size;
		struct listen_list listen;
		struct cidr_list cidrs;
		struct str_list list;
	} v;
};

struct config {
	char *path;
	size_t nslots;
	struct cfg_slot *slots;
};

/* Parse state handed through libinih. */
struct load_state {
	struct config *cfg;
	const char *name;
	int line;                  /* the line the reader handed out last */
	struct cfg_error *err;
	bool failed;
	struct cfg_slot *last;     /* key set on the previous line, for list continuation */
	int last_line;
	const char *mem;           /* config_load_string input cursor */
	FILE *fp;
};

static void set_error(struct load_state *st, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct load_state *st, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->failed)
		return; /* report the first error only: later ones are often its echoes */
	st->failed = true;
	n = snprintf(st->err->msg, sizeof(st->err->msg), "%s:%d: ", st->name, line);
	if (n < 0 || (size_t)n >= sizeof(st->err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(st->err->msg + n, sizeof(st->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

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

	while (*p == ',' || *p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	start = p;
	while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
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

static void slot_clear_value(struct cfg_slot *s)
{
	switch (s->key->type) {
	case CFG_LISTEN:
		free(s->v.listen.v);
		break;
	case CFG_CIDRS:
		free(s->v.cidrs.v);
		break;
	case CFG_LIST:
		for (size_t i = 0; i < s->v.list.n; i++)
			free(s->v.list.v[i]);
		free(s->v.list.v);
		break;
	default:
		break;
	}
	memset(&s->v, 0, sizeof(s->v));
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

/* slot_parse - turn TEXT into the typed value of slot S, replacing what it held. */
static int slot_parse(struct cfg_slot *s, const char *text, const char **why)
{
	const struct cfg_key *k = s->key;
	char *end;

	slot_clear_value(s);
	switch (k->type) {
	case CFG_STRING:
	case CFG_PATH:
		return 0;
	case CFG_BOOL:
		if (cfg_parse_bool(text, &s->v.b) < 0)
			return *why = "not a boolean", -1;
		return 0;
	case CFG_INT:
		errno = 0;
		s->v.i = strtoll(text, &end, 10);
		if (*text == '\0' || *end != '\0' || errno != 0)
			return *why = "not an integer", -1;
		return check_bounds(k, s->v.i, why);
	case CFG_SIZE:
		if (cfg_parse_size(text, &s->v.size, why) < 0)
			return -1;
		return check_bounds(k, (long long)s->v.size, why);
	case CFG_DURATION:
		if (cfg_parse_duration(text, &s->v.i, why) < 0)
			return -1;
		return check_bounds(k, s->v.i, why);
	case CFG_ENUM:
		if (!enum_has(k->choices, text))
			return *why = "not one of the allowed values", -1;
		return 0;
	case CFG_LIST:
		return parse_words(text, add_word, &s->v.list, why);
	case CFG_LISTEN:
		return parse_words(text, add_listen, &s->v.listen, why);
	case CFG_CIDRS:
		return parse_words(text, add_cidr, &s->v.cidrs, why);
	}
	return *why = "unknown type", -1;
}

static struct cfg_slot *find_slot(const struct config *cfg, const char *section, const char *name)
{
	for (size_t i = 0; i < cfg->nslots; i++) {
		struct cfg_slot *s = &cfg->slots[i];
		if (strcmp(s->section->name, section) == 0 && strcmp(s->key->name, name) == 0)
			return s;
	}
	return NULL;
}

static bool section_known(const char *name)
{
	for (const struct cfg_section *sec = cfg_sections; sec->name != NULL; sec++)
		if (strcmp(sec->name, name) == 0)
			return true;
	return false;
}

static const char *type_hint(const struct cfg_key *k)
{
	static const char *hints[] = {
		[CFG_STRING] = "text", [CFG_PATH] = "a path", [CFG_BOOL] = "yes or no",
		[CFG_INT] = "an integer", [CFG_SIZE] = "a size like 25M",
		[CFG_DURATION] = "a duration like 30m", [CFG_ENUM] = "one of",
		[CFG_LIST] = "a list", [CFG_LISTEN] = "host:port listeners",
		[CFG_CIDRS] = "networks like 10.0.0.0/8",
	};
	return hints[k->type];
}

/* set_value - store TEXT for S; a list key set on consecutive lines (inih continuation) appends. */
static int set_value(struct load_state *st, struct cfg_slot *s, const char *value)
{
	const char *why = NULL;
	char *text;
	bool append = s->line != 0 && st->last == s && st->last_line == st->line - 1 &&
		      (s->key->type == CFG_LIST || s->key->type == CFG_LISTEN || s->key->type == CFG_CIDRS);

	if (s->line != 0 && !append) {
		set_error(st, st->line, "%s.%s: set twice (first on line %d)",
			  s->section->name, s->key->name, s->line);
		return 0;
	}
	if (append) {
		size_t n = strlen(s->text) + strlen(value) + 3;
		text = malloc(n);
		if (text != NULL)
			snprintf(text, n, "%s, %s", s->text, value);
	} else {
		text = strdup(value);
	}
	if (text == NULL) {
		set_error(st, st->line, "out of memory");
		return 0;
	}
	if (slot_parse(s, text, &why) < 0) {
		if (s->key->type == CFG_ENUM)
			set_error(st, st->line, "%s.%s: '%s': expected one of %s", s->section->name,
				  s->key->name, value, s->key->choices);
		else
			set_error(st, st->line, "%s.%s: '%s': %s (expected %s)", s->section->name,
				  s->key->name, value, why, type_hint(s->key));
		free(text);
		return 0;
	}
	free(s->text);
	s->text = text;
	s->line = st->line;
	st->last = s;
	st->last_line = st->line;
	return 1;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	struct cfg_slot *s;

	if (st->failed)
		return 1;
	if (*section == '\0') {
		set_error(st, st->line, "'%s' is outside any section: put it under [server], [pop3], ...",
			  name);
		return 0;
	}
	if (!section_known(section)) {
		set_error(st, st->line, "unknown section [%s]", section);
		return 0;
	}
	s = find_slot(st->cfg, section, name);
	if (s == NULL) {
		set_error(st, st->line, "unknown key '%s' in section [%s]", name, section);
		return 0;
	}
	return set_value(st, s, value);
}

/* check_section_header - report an unknown [section] even when no key follows it. */
static void check_section_header(struct load_state *st, const char *line)
{
	const char *p = line, *close;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[' || (close = strchr(p, ']')) == NULL)
		return;
	char name[64];
	size_t n = (size_t)(close - p - 1);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, p + 1, n);
	name[n] = '\0';
	if (!section_known(name))
		set_error(st, st->line, "unknown section [%s]", name);
}

/* Readers that count lines, because Debian's libinih is built without INI_HANDLER_LINENO. */
static char *read_file_line(char *buf, int size, void *stream)
{
	struct load_state *st = stream;
	char *r = fgets(buf, size, st->fp);

	if (r != NULL) {
		st->line++;
		check_section_header(st, r);
	}
	return r;
}

static char *read_mem_line(char *buf, int size, void *stream)
{
	struct load_state *st = stream;
	const char *nl;
	size_t n;

	if (*st->mem == '\0')
		return NULL;
	nl = strchr(st->mem, '\n');
	n = nl != NULL ? (size_t)(nl - st->mem) + 1 : strlen(st->mem);
	if (n > (size_t)size - 1)
		n = (size_t)size - 1;
	memcpy(buf, st->mem, n);
	buf[n] = '\0';
	st->mem += n;
	st->line++;
	check_section_header(st, buf);
	return buf;
}

/* config_new - a config holding every declared key at its default. */
static struct config *config_new(const char *name, struct cfg_error *err)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	size_t n = 0;

	if (cfg == NULL)
		goto oom;
	for (const struct cfg_section *sec = cfg_sections; sec->name != NULL; sec++)
		for (const struct cfg_key *k = sec->keys; k->name != NULL; k++)
			n++;
	cfg->slots = calloc(n, sizeof(*cfg->slots));
	cfg->path = strdup(name);
	if (cfg->slots == NULL || cfg->path == NULL)
		goto oom;
	for (const struct cfg_section *sec = cfg_sections; sec->name != NULL; sec++) {
		for (const struct cfg_key *k = sec->keys; k->name != NULL; k++) {
			struct cfg_slot *s = &cfg->slots[cfg->nslots++];
			const char *why = NULL;
			s->section = sec;
			s->key = k;
			if ((s->text = strdup(k->def)) == NULL)
				goto oom;
			if (slot_parse(s, s->text, &why) < 0) {
				snprintf(err->msg, sizeof(err->msg), "built-in default of %s.%s is invalid: %s",
					 sec->name, k->name, why);
				config_free(&cfg);
				return NULL;
			}
		}
	}
	return cfg;
oom:
	snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
	config_free(&cfg);
	return NULL;
}

/* finish_load - turn libinih's result and our own first error into one outcome. */
static struct config *finish_load(struct load_state *st, int rc)
{
	if (rc > 0 && !st->failed)
		set_error(st, rc, "syntax error: expected [section] or key = value");
	if (rc < 0 && !st->failed) {
		snprintf(st->err->msg, sizeof(st->err->msg), "%s: cannot parse: %s", st->name,
			 rc == -2 ? "out of memory" : "read error");
		st->failed = true;
	}
	if (st->failed) {
		config_free(&st->cfg);
		return NULL;
	}
	return st->cfg;
}

struct config *config_load(const char *path, struct cfg_error *err)
{
	struct load_state st = { .name = path, .err = err };

	st.fp = fopen(path, "r");
	if (st.fp == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	st.cfg = config_new(path, err);
	if (st.cfg == NULL) {
		fclose(st.fp);
		return NULL;
	}
	int rc = ini_parse_stream(read_file_line, &st, on_ini_entry, &st);
	if (ferror(st.fp) && rc == 0)
		rc = -1;
	fclose(st.fp);
	return finish_load(&st, rc);
}

struct config *config_load_string(const char *name, const char *text, struct cfg_error *err)
{
	struct load_state st = { .name = name, .err = err, .mem = text };

	st.cfg = config_new(name, err);
	if (st.cfg == NULL)
		return NULL;
	return finish_load(&st, ini_parse_stream(read_mem_line, &st, on_ini_entry, &st));
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nslots; i++) {
		if (cfg->slots[i].key == NULL)
			continue;
		slot_clear_value(&cfg->slots[i]);
		free(cfg->slots[i].text);
	}
	free(cfg->slots);
	free(cfg->path);
	free(cfg);
	*cfgp = NULL;
}

const char *config_path(const struct config *cfg)
{
	return cfg->path;
}

const struct cfg_key *cfg_find_key(const char *key, const struct cfg_section **section)
{
	const char *dot = strchr(key, '.');

	if (dot == NULL)
		return NULL;
	for (const struct cfg_section *sec = cfg_sections; sec->name != NULL; sec++) {
		if (strlen(sec->name) != (size_t)(dot - key) || strncmp(sec->name, key, (size_t)(dot - key)) != 0)
			continue;
		for (const struct cfg_key *k = sec->keys; k->name != NULL; k++) {
			if (strcmp(k->name, dot + 1) == 0) {
				if (section != NULL)
					*section = sec;
				return k;
			}
		}
	}
	return NULL;
}

/* lookup - the slot for "section.key" of the expected type; a mismatch is a programming error. */
#define TYPE_BIT(t) (1u << (t))

static const struct cfg_slot *lookup(const struct config *cfg, const char *key, unsigned types)
{
	const char *dot = strchr(key, '.');

	if (dot != NULL) {
		for (size_t i = 0; i < cfg->nslots; i++) {
			const struct cfg_slot *s = &cfg->slots[i];
			size_t sl = strlen(s->section->name);
			if (sl == (size_t)(dot - key) && strncmp(s->section->name, key, sl) == 0 &&
			    strcmp(s->key->name, dot + 1) == 0) {
				if ((TYPE_BIT(s->key->type) & types) == 0)
					break;
				return s;
			}
		}
	}
	fprintf(stderr, "popgate: internal error: config key %s undeclared or used with the wrong type\n", key);
	abort();
}

const char *cfg_str(const struct config *cfg, const char *key)
{
	const struct cfg_slot *s = lookup(cfg, key, TYPE_BIT(CFG_STRING) | TYPE_BIT(CFG_PATH) | TYPE_BIT(CFG_ENUM));
	return s->text;
}

bool cfg_bool(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_BOOL))->v.b;
}

long long cfg_int(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_INT))->v.i;
}

uint64_t cfg_size(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_SIZE))->v.size;
}

long long cfg_duration(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_DURATION))->v.i;
}

const struct listen_list *cfg_listen(const struct config *cfg, const char *key)
{
	return &lookup(cfg, key, TYPE_BIT(CFG_LISTEN))->v.listen;
}

const struct cidr_list *cfg_cidrs(const struct config *cfg, const char *key)
{
	return &lookup(cfg, key, TYPE_BIT(CFG_CIDRS))->v.cidrs;
}

const struct str_list *cfg_list(const struct config *cfg, const char *key)
{
	return &lookup(cfg, key, TYPE_BIT(CFG_LIST))->v.list;
}

/* slot_any - the slot for KEY whatever its type. */
static const struct cfg_slot *slot_any(const struct config *cfg, const char *key)
{
	const struct cfg_section *sec;
	const struct cfg_key *k = cfg_find_key(key, &sec);

	if (k == NULL)
		return lookup(cfg, key, 0); /* aborts with the message */
	return find_slot(cfg, sec->name, k->name);
}

const char *cfg_text(const struct config *cfg, const char *key)
{
	return slot_any(cfg, key)->text;
}

int cfg_line(const struct config *cfg, const char *key)
{
	return slot_any(cfg, key)->line;
}

bool cfg_is_set(const struct config *cfg, const char *key)
{
	return slot_any(cfg, key)->line != 0;
}

void cfg_fail(const struct config *cfg, const char *key, struct cfg_error *err, const char *fmt, ...)
{
	va_list ap;
	int line = cfg_line(cfg, key), n;

	if (line > 0)
		n = snprintf(err->msg, sizeof(err->msg), "%s:%d: %s: ", cfg->path, line, key);
	else
		n = snprintf(err->msg, sizeof(err->msg), "%s: %s (default): ", cfg->path, key);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

void config_dump(const struct config *cfg, FILE *out)
{
	const struct cfg_section *cur = NULL;

	fprintf(out, "# effective settings of %s\n", cfg->path);
	for (size_t i = 0; i < cfg->nslots; i++) {
		const struct cfg_slot *s = &cfg->slots[i];
		if (s->section != cur) {
			cur = s->section;
			fprintf(out, "\n[%s]\n", cur->name);
		}
		fprintf(out, "%s = %s%s\n", s->key->name, s->text, s->line == 0 ? "    ; default" : "");
	}
}
