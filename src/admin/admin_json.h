/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_json.h - a bounded JSON writer and a strict parser for flat request objects.
 *
 * The writer grows its buffer up to a hard cap and then only records that it overflowed, so a
 * huge relay table costs a 500 reply, never unbounded memory. Strings are escaped so the output
 * is always valid UTF-8 JSON that cannot be sniffed as HTML ('<', '>', '&' become \u escapes).
 *
 * Request bodies are JSON objects whose values are strings, numbers, booleans or null; nesting,
 * duplicate keys, NUL characters and trailing text are refused. That is all the API needs, and a
 * parser this small can be checked line by line.
 */
#ifndef POPGATE_ADMIN_JSON_H
#define POPGATE_ADMIN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JW_DEPTH 16            /* deepest nesting the API emits is 3 */

struct jw {
	char *buf;
	size_t len, cap, max;      /* max: hard cap on len, including the final NUL */
	bool overflow;             /* the cap was hit or memory ran out: the text is unusable */
	bool after_key;            /* the next value follows a key: no comma */
	unsigned depth;
	bool need_comma[JW_DEPTH];
};

/* jw_init - an empty writer whose text may grow to MAX bytes. */
void jw_init(struct jw *w, size_t max);

/* jw_free - release the buffer (if not taken). */
void jw_free(struct jw *w);

/* Structure and values; errors are sticky in w->overflow, so callers check once at the end. */
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);      /* NULL writes null */
void jw_int(struct jw *w, long long v);
void jw_uint(struct jw *w, unsigned long long v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);

/* Key and value in one call. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, long long v);
void jw_kuint(struct jw *w, const char *key, unsigned long long v);
void jw_kbool(struct jw *w, const char *key, bool v);

/* jw_ok - whether the text is complete: no overflow and every object or array closed. */
bool jw_ok(const struct jw *w);

/* jw_take - hand the NUL-terminated text to the caller (free() it); NULL unless jw_ok. */
char *jw_take(struct jw *w, size_t *len);

/* jw_escape - append S as a quoted JSON string to W (used by jw_str; exposed for tests). */
void jw_escape(struct jw *w, const char *s, size_t n);

#define JSON_FIELDS_MAX 8
#define JSON_KEY_MAX 32
#define JSON_VAL_MAX 1100      /* holds a password of AUTH_PASS_MAX bytes */

enum json_vtype { JSON_T_STRING, JSON_T_NUMBER, JSON_T_BOOL, JSON_T_NULL };

/* One member of a flat object; numbers and booleans keep their text ("12", "true"). */
struct json_field {
	char key[JSON_KEY_MAX];
	enum json_vtype type;
	char val[JSON_VAL_MAX];
	size_t len;
};

struct json_flat {
	size_t n;
	struct json_field f[JSON_FIELDS_MAX];
};

/* json_parse_flat - parse TEXT[0..LEN) as a flat object. 0, or -1 with a short reason in WHY. */
int json_parse_flat(const char *text, size_t len, struct json_flat *out, const char **why);

/* json_get - the member named KEY, or NULL. */
const struct json_field *json_get(const struct json_flat *o, const char *key);

/* json_wipe - overwrite every value (passwords) before the object goes out of scope. */
void json_wipe(struct json_flat *o);

#endif
