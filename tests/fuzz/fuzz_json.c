/* fuzz_json.c - a small recursive RFC 8259 validator, written apart from admin_json.c to check it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "fuzz_json.h"
#include "fuzz_util.h"

#define DEPTH_MAX 64

struct vj {
	const unsigned char *s;
	size_t n, i;
};

static void ws(struct vj *v)
{
	while (v->i < v->n && strchr(" \t\n\r", v->s[v->i]) != NULL && v->s[v->i] != '\0')
		v->i++;
}

/* utf8 - the length of the valid UTF-8 sequence at the cursor (RFC 3629), 0 if none. */
static size_t utf8(const struct vj *v)
{
	const unsigned char *p = v->s + v->i;
	size_t left = v->n - v->i, len;
	unsigned long cp;

	if (p[0] < 0x80)
		return 1;
	len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || len > left || p[0] > 0xf4)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool string(struct vj *v)
{
	v->i++; /* the opening quote */
	while (v->i < v->n) {
		unsigned char c = v->s[v->i];
		size_t l;

		if (c == '"') {
			v->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++v->i >= v->n)
				return false;
			c = v->s[v->i++];
			if (c == 'u') {
				if (v->n - v->i < 4)
					return false;
				for (int k = 0; k < 4; k++, v->i++)
					if (strchr("0123456789abcdefABCDEF", v->s[v->i]) == NULL || v->s[v->i] == '\0')
						return false;
			} else if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL) {
				return false;
			}
			continue;
		}
		if ((l = utf8(v)) == 0)
			return false;
		v->i += l;
	}
	return false;
}

/* digits - one or more decimal digits. */
static bool digits(struct vj *v)
{
	size_t st = v->i;

	while (v->i < v->n && v->s[v->i] >= '0' && v->s[v->i] <= '9')
		v->i++;
	return v->i > st;
}

static bool number(struct vj *v)
{
	if (v->i < v->n && v->s[v->i] == '-')
		v->i++;
	if (v->i < v->n && v->s[v->i] == '0')
		v->i++;
	else if (v->i >= v->n || v->s[v->i] < '1' || v->s[v->i] > '9' || !digits(v))
		return false;
	if (v->i < v->n && v->s[v->i] == '.' && (++v->i, !digits(v)))
		return false;
	if (v->i < v->n && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
		v->i++;
		if (v->i < v->n && (v->s[v->i] == '+' || v->s[v->i] == '-'))
			v->i++;
		if (!digits(v))
			return false;
	}
	return true;
}

static bool value(struct vj *v, int depth);

/* members - the inside of an object (OBJ) or array, after its opening bracket. */
static bool members(struct vj *v, bool obj, int depth)
{
	char close = obj ? '}' : ']';

	v->i++;
	ws(v);
	if (v->i < v->n && v->s[v->i] == close) {
		v->i++;
		return true;
	}
	for (;;) {
		if (obj) {
			if (v->i >= v->n || v->s[v->i] != '"' || !string(v))
				return false;
			ws(v);
			if (v->i >= v->n || v->s[v->i++] != ':')
				return false;
		}
		if (!value(v, depth + 1))
			return false;
		if (v->i >= v->n)
			return false;
		if (v->s[v->i] == close) {
			v->i++;
			return true;
		}
		if (v->s[v->i++] != ',')
			return false;
		ws(v);
	}
}

static bool word(struct vj *v, const char *w)
{
	size_t n = strlen(w);

	if (v->n - v->i < n || memcmp(v->s + v->i, w, n) != 0)
		return false;
	v->i += n;
	return true;
}

/* value - one value with the white space around it. */
static bool value(struct vj *v, int depth)
{
	bool ok;

	ws(v);
	if (v->i >= v->n || depth > DEPTH_MAX)
		return false;
	switch (v->s[v->i]) {
	case '{': ok = members(v, true, depth); break;
	case '[': ok = members(v, false, depth); break;
	case '"': ok = string(v); break;
	case 't': ok = word(v, "true"); break;
	case 'f': ok = word(v, "false"); break;
	case 'n': ok = word(v, "null"); break;
	default: ok = number(v); break;
	}
	ws(v);
	return ok;
}

void fuzz_check_json(const char *text, size_t len, bool html_safe)
{
	struct vj v = { (const unsigned char *)text, len, 0 };

	FUZZ_CHECK(text != NULL, "no JSON text");
	FUZZ_CHECK(value(&v, 0) && v.i == len, "not JSON (at offset %zu of %zu): %.200s", v.i, len, text);
	if (html_safe)
		FUZZ_CHECK(memchr(text, '<', len) == NULL && memchr(text, '>', len) == NULL &&
				   memchr(text, '&', len) == NULL, "raw <, > or & in JSON output: %.200s", text);
}
