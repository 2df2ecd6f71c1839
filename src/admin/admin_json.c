/* admin_json.c - a bounded JSON writer and a strict parser for flat request objects. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_json.h"

void jw_init(struct jw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* put - append N bytes, growing geometrically up to the cap; overflow is sticky. */
static void put(struct jw *w, const char *s, size_t n)
{
	if (w->overflow)
		return;
	if (n >= w->max || w->len + n + 1 > w->max) {
		w->overflow = true;
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		char *nb = realloc(w->buf, cap);
		if (!nb) {
			w->overflow = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* value_start - the comma between siblings, unless a key was just written. */
static void value_start(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->need_comma[w->depth - 1])
		put(w, ",", 1);
	if (w->depth > 0)
		w->need_comma[w->depth - 1] = true;
}

static void open_level(struct jw *w, char c)
{
	value_start(w);
	if (w->depth >= JW_DEPTH) {
		w->overflow = true;
		return;
	}
	put(w, &c, 1);
	w->need_comma[w->depth++] = false;
}

static void close_level(struct jw *w, char c)
{
	if (w->depth == 0 || w->after_key) {
		w->overflow = true;
		return;
	}
	w->depth--;
	put(w, &c, 1);
}

void jw_obj_begin(struct jw *w) { open_level(w, '{'); }
void jw_obj_end(struct jw *w) { close_level(w, '}'); }
void jw_arr_begin(struct jw *w) { open_level(w, '['); }
void jw_arr_end(struct jw *w) { close_level(w, ']'); }

void jw_key(struct jw *w, const char *key)
{
	value_start(w);
	jw_escape(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key = true;
}

/* utf8_len - length of the valid UTF-8 sequence at S (at most N bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void jw_escape(struct jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];

	put(w, "\"", 1);
	for (size_t i = 0; i < n && !w->overflow;) {
		unsigned char c = p[i];
		size_t run = 0;

		/* Copy the longest stretch that needs no escape in one go. */
		while (i + run < n && p[i + run] >= 0x20 && p[i + run] < 0x80 && p[i + run] != '"' &&
		       p[i + run] != '\\' && p[i + run] != '<' && p[i + run] != '>' && p[i + run] != '&')
			run++;
		if (run > 0) {
			put(w, s + i, run);
			i += run;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(w, esc, 2);
			i++;
		} else if (c == '\n') {
			put(w, "\\n", 2);
			i++;
		} else if (c == '\t') {
			put(w, "\\t", 2);
			i++;
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
			i++;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l == 0) {
				put(w, "\\ufffd", 6);   /* invalid byte: U+FFFD keeps the output valid */
				i++;
			} else {
				put(w, s + i, l);
				i += l;
			}
		}
	}
	put(w, "\"", 1);
}

void jw_str(struct jw *w, const char *s)
{
	value_start(w);
	if (!s)
		put(w, "null", 4);
	else
		jw_escape(w, s, strlen(s));
}

void jw_int(struct jw *w, long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", v);

	value_start(w);
	put(w, b, (size_t)n);
}

void jw_uint(struct jw *w, unsigned long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%llu", v);

	value_start(w);
	put(w, b, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
	value_start(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	value_start(w);
	put(w, "null", 4);
}

void jw_kstr(struct jw *w, const char *key, const char *s) { jw_key(w, key); jw_str(w, s); }
void jw_kint(struct jw *w, const char *key, long long v) { jw_key(w, key); jw_int(w, v); }
void jw_kuint(struct jw *w, const char *key, unsigned long long v) { jw_key(w, key); jw_uint(w, v); }
void jw_kbool(struct jw *w, const char *key, bool v) { jw_key(w, key); jw_bool(w, v); }

bool jw_ok(const struct jw *w)
{
	return !w->overflow && w->depth == 0 && !w->after_key && w->buf != NULL;
}

char *jw_take(struct jw *w, size_t *len)
{
	char *b;

	if (!jw_ok(w))
		return NULL;
	b = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return b;
}

/* ---- the parser ---- */

struct jp {
	const char *s;
	size_t n, i;
	const char *why;
};

static void skip_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

static int hex4(struct jp *p, uint32_t *v)
{
	*v = 0;
	if (p->n - p->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];
		int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = (*v << 4) | (uint32_t)d;
	}
	return 0;
}

/* put_utf8 - encode CP into OUT at *len; -1 when it does not fit. */
static int put_utf8(uint32_t cp, char *out, size_t cap, size_t *len)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + n >= cap)
		return -1;
	memcpy(out + *len, b, n);
	*len += n;
	return 0;
}

/* escape_seq - decode the escape after a backslash into OUT. */
static int escape_seq(struct jp *p, char *out, size_t cap, size_t *len)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	uint32_t cp, lo;
	const char *k;

	if (p->i >= p->n)
		return -1;
	k = strchr(from, p->s[p->i]);
	if (k && *k) {
		p->i++;
		return put_utf8((unsigned char)to[k - from], out, cap, len);
	}
	if (p->s[p->i++] != 'u' || hex4(p, &cp) < 0)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {   /* a surrogate pair must follow */
		if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
			return -1;
		p->i += 2;
		if (hex4(p, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return -1;
	}
	if (cp == 0)
		return -1;   /* a NUL would silently cut the C string */
	return put_utf8(cp, out, cap, len);
}

/* string - a quoted string into OUT (NUL-terminated); the opening quote is at p->i. */
static int string(struct jp *p, char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (p->i >= p->n || p->s[p->i] != '"')
		return p->why = "string expected", -1;
	p->i++;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			out[*len] = '\0';
			return 0;
		}
		if (c < 0x20)
			return p->why = "control character in string", -1;
		if (c == '\\') {
			p->i++;
			if (escape_seq(p, out, cap, len) < 0)
				return p->why = "bad escape or string too long", -1;
			continue;
		}
		size_t l = utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
		if (l == 0)
			return p->why = "invalid UTF-8", -1;
		if (*len + l >= cap)
			return p->why = "string too long", -1;
		memcpy(out + *len, p->s + p->i, l);
		*len += l;
		p->i += l;
	}
	return p->why = "unterminated string", -1;
}

/* number - the JSON number grammar, kept as text. */
static int number(struct jp *p, struct json_field *f)
{
	size_t st = p->i;

	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0') {
		p->i++;
	} else if (p->i < p->n && p->s[p->i] >= '1' && p->s[p->i] <= '9') {
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	} else {
		return p->why = "bad value", -1;
	}
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return p->why = "bad number", -1;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return p->why = "bad number", -1;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i - st >= sizeof(f->val))
		return p->why = "number too long", -1;
	f->len = p->i - st;
	memcpy(f->val, p->s + st, f->len);
	f->val[f->len] = '\0';
	f->type = JSON_T_NUMBER;
	return 0;
}

static int word(struct jp *p, const char *w, enum json_vtype t, struct json_field *f)
{
	size_t n = strlen(w);

	if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0)
		return p->why = "bad value", -1;
	p->i += n;
	memcpy(f->val, w, n + 1);
	f->len = n;
	f->type = t;
	return 0;
}

static int value(struct jp *p, struct json_field *f)
{
	if (p->i >= p->n)
		return p->why = "value expected", -1;
	switch (p->s[p->i]) {
	case '"':
		f->type = JSON_T_STRING;
		return string(p, f->val, sizeof(f->val), &f->len);
	case 't':
		return word(p, "true", JSON_T_BOOL, f);
	case 'f':
		return word(p, "false", JSON_T_BOOL, f);
	case 'n':
		return word(p, "null", JSON_T_NULL, f);
	case '{':
	case '[':
		return p->why = "nested values are not accepted", -1;
	default:
		return number(p, f);
	}
}

/* member - one "key": value pair appended to OUT. */
static int member(struct jp *p, struct json_flat *out)
{
	struct json_field *f;
	size_t klen;

	if (out->n >= JSON_FIELDS_MAX)
		return p->why = "too many members", -1;
	f = &out->f[out->n];
	if (string(p, f->key, sizeof(f->key), &klen) < 0)
		return -1;
	if (json_get(out, f->key))
		return p->why = "duplicate key", -1;
	skip_ws(p);
	if (p->i >= p->n || p->s[p->i] != ':')
		return p->why = "':' expected", -1;
	p->i++;
	skip_ws(p);
	if (value(p, f) < 0)
		return -1;
	out->n++;
	return 0;
}

int json_parse_flat(const char *text, size_t len, struct json_flat *out, const char **why)
{
	struct jp p = { text, len, 0, NULL };

	out->n = 0;
	skip_ws(&p);
	if (p.i >= p.n || p.s[p.i] != '{')
		return *why = "a JSON object is expected", -1;
	p.i++;
	skip_ws(&p);
	if (p.i < p.n && p.s[p.i] == '}') {
		p.i++;
	} else {
		for (;;) {
			if (member(&p, out) < 0)
				return *why = p.why, -1;
			skip_ws(&p);
			if (p.i < p.n && p.s[p.i] == ',') {
				p.i++;
				skip_ws(&p);
				continue;
			}
			if (p.i < p.n && p.s[p.i] == '}') {
				p.i++;
				break;
			}
			return *why = "',' or '}' expected", -1;
		}
	}
	skip_ws(&p);
	if (p.i != p.n)
		return *why = "trailing characters after the object", -1;
	return 0;
}

const struct json_field *json_get(const struct json_flat *o, const char *key)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->f[i].key, key) == 0)
			return &o->f[i];
	return NULL;
}

void json_wipe(struct json_flat *o)
{
	explicit_bzero(o->f, sizeof(o->f));
	o->n = 0;
}
