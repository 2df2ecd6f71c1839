/* config.c - load popgate.conf with libinih into the registry and its typed struct, with FILE:LINE errors. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/config_int.h"

struct config {
	struct popgate_conf conf; /* the typed values; the slots own what they point to */
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
	/* The message quotes the file, which goes to a terminal or the log: no control characters. */
	for (char *p = st->err->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
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
		[CFG_STRING] = "text", [CFG_PATH] = "an absolute path", [CFG_BOOL] = "yes or no",
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
	const char *why = NULL, *word;
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
	if (slot_is_text(s))
		*(const char **)s->field = s->text;
	if ((why = slot_check(s, &word)) != NULL) {
		set_error(st, st->line, "%s.%s: '%s': %s", s->section->name, s->key->name, word, why);
		return 0;
	}
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

/*
 * check_section_header - report an unknown [section] even when no key follows it, and anything
 * after the closing bracket but a comment: libinih drops it, so "[server]]" read as [server].
 */
static void check_section_header(struct load_state *st, const char *line)
{
	const char *p = line, *close, *rest;

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
	rest = close + 1 + strspn(close + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		set_error(st, st->line, "'%.*s' after the section header [%s]", (int)strcspn(rest, "\r\n"),
			  rest, name);
	else if (!section_known(name))
		set_error(st, st->line, "unknown section [%s]", name);
}

/*
 * too_long - a line longer than libinih's line buffer (SIZE with the NUL): libinih would read
 * its rest as a line of its own (a key, or a syntax error with the wrong line number).
 */
static void too_long(struct load_state *st, int size)
{
	set_error(st, st->line, "line longer than %d characters (continue a long list on indented lines)",
		  size - 1);
}

/*
 * Readers that count lines, because Debian's libinih is built without INI_HANDLER_LINENO.
 * read_file_line reads as fgets would, but sees a NUL byte: fgets would hand libinih the line
 * cut short at it, and the value would silently lose its end.
 */
static char *read_file_line(char *buf, int size, void *stream)
{
	struct load_state *st = stream;
	size_t n = 0, cap = (size_t)size - 1;
	bool nul = false;
	int c = EOF;

	while (n < cap && (c = getc(st->fp)) != EOF && c != '\n') {
		if (c == '\0')
			nul = true;
		else
			buf[n++] = (char)c;
	}
	if (c == EOF && n == 0 && !nul)
		return NULL;
	st->line++;
	if (c == '\n') {
		buf[n++] = '\n';
	} else if (n == cap && (c = getc(st->fp)) != '\n' && c != EOF) {
		too_long(st, size);
		while ((c = getc(st->fp)) != '\n' && c != EOF)
			;
	}
	buf[n] = '\0';
	if (nul)
		set_error(st, st->line, "NUL byte in the line (a text file has none)");
	check_section_header(st, buf);
	return buf;
}

static char *read_mem_line(char *buf, int size, void *stream)
{
	struct load_state *st = stream;
	const char *nl;
	size_t n, len;

	if (*st->mem == '\0')
		return NULL;
	nl = strchr(st->mem, '\n');
	len = nl != NULL ? (size_t)(nl - st->mem) : strlen(st->mem);
	n = len < (size_t)size - 1 ? len : (size_t)size - 1;
	memcpy(buf, st->mem, n);
	buf[n] = '\0';
	st->mem += nl != NULL ? len + 1 : len;
	st->line++;
	if (n < len)
		too_long(st, size);
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
			const char *why = NULL, *word;
			s->section = sec;
			s->key = k;
			s->field = (char *)&cfg->conf + k->offset;
			if ((s->text = strdup(k->def)) == NULL)
				goto oom;
			if (slot_is_text(s))
				*(const char **)s->field = s->text;
			if (slot_parse(s, s->text, &why) < 0 || (why = slot_check(s, &word)) != NULL) {
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

const struct popgate_conf *conf(const struct config *cfg)
{
	return &cfg->conf;
}

const char *cfg_str_named(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_STRING) | TYPE_BIT(CFG_PATH) | TYPE_BIT(CFG_ENUM))->text;
}

bool cfg_bool_named(const struct config *cfg, const char *key)
{
	return *(const bool *)lookup(cfg, key, TYPE_BIT(CFG_BOOL))->field;
}

long long cfg_int_named(const struct config *cfg, const char *key)
{
	return *(const long long *)lookup(cfg, key, TYPE_BIT(CFG_INT))->field;
}

uint64_t cfg_size_named(const struct config *cfg, const char *key)
{
	return *(const uint64_t *)lookup(cfg, key, TYPE_BIT(CFG_SIZE))->field;
}

long long cfg_duration_named(const struct config *cfg, const char *key)
{
	return *(const long long *)lookup(cfg, key, TYPE_BIT(CFG_DURATION))->field;
}

const struct listen_list *cfg_listen_named(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_LISTEN))->field;
}

const struct cidr_list *cfg_cidrs_named(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_CIDRS))->field;
}

const struct str_list *cfg_list_named(const struct config *cfg, const char *key)
{
	return lookup(cfg, key, TYPE_BIT(CFG_LIST))->field;
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

/* The longest line config_dump writes, well inside libinih's line buffer (INI_MAX_LINE, 200). */
#define DUMP_WIDTH 120
/* What separates list words (config_values.c next_word: commas and white space). */
#define LIST_SEPARATORS ", \t\n\v\f\r"

/*
 * list_sep - what goes before a list word starting with C: a ';' after a space would start a
 * comment, and first on a continuation line so would '#', and '[' would read as a section
 * ("[::1]:110"), so those follow a comma.
 */
static const char *list_sep(bool first, bool wrap, char c)
{
	if (wrap)
		return c == ';' || c == '#' || c == '[' ? "\n  ," : "\n  ";
	if (first)
		return c == ';' ? "" : " ";
	return c == ';' ? "," : ", ";
}

/* dump_value - "key = value" as config_load reads it back: long lists go on indented lines. */
static void dump_value(const struct cfg_slot *s, FILE *out)
{
	const char *name = s->key->name, *t = s->text;
	size_t col = strlen(name) + 2;

	if (s->key->type != CFG_LIST && s->key->type != CFG_LISTEN && s->key->type != CFG_CIDRS) {
		bool tight = t[0] == ';' || col + 1 + strlen(t) > DUMP_WIDTH;
		fprintf(out, "%s%s%s", name, tight ? "=" : " = ", t);
		return;
	}
	fprintf(out, "%s =", name);
	for (bool first = true; *(t += strspn(t, LIST_SEPARATORS)) != '\0'; first = false) {
		size_t n = strcspn(t, LIST_SEPARATORS);
		bool wrap = col > 3 && col + n + 2 > DUMP_WIDTH; /* not again at a line's start */
		const char *sep = list_sep(first, wrap, *t);

		fprintf(out, "%s%.*s", sep, (int)n, t);
		col = (wrap ? 0 : col + 1) + strlen(sep) - 1 + n;
		t += n;
	}
}

/* dump - the settings in config-file form; with CHANGED_ONLY, those that differ from the defaults. */
static void dump(const struct config *cfg, FILE *out, bool changed_only)
{
	const struct cfg_section *cur = NULL;

	fprintf(out, "# %s settings of %s\n", changed_only ? "non-default" : "effective", cfg->path);
	for (size_t i = 0; i < cfg->nslots; i++) {
		const struct cfg_slot *s = &cfg->slots[i];
		if (changed_only && (s->line == 0 || strcmp(s->text, s->key->def) == 0))
			continue;
		if (s->section != cur) {
			cur = s->section;
			fprintf(out, "\n[%s]\n", cur->name);
		}
		dump_value(s, out);
		fprintf(out, "%s\n", s->line == 0 ? "    ; default" : "");
	}
}

void config_dump(const struct config *cfg, FILE *out)
{
	dump(cfg, out, false);
}

void config_dump_changed(const struct config *cfg, FILE *out)
{
	dump(cfg, out, true);
}
