/* check_admin_json.c - unit tests of the admin page's JSON writer and flat-object parser. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_json.h"
#include "check_run.h"

/* text_of - finish W and return its text (freed by the caller). */
static char *text_of(struct jw *w)
{
	size_t len;
	char *t = jw_take(w, &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(t), len);
	jw_free(w);
	return t;
}

START_TEST(writer_nesting_and_commas)
{
	struct jw w;
	char *t;

	jw_init(&w, 4096);
	jw_obj_begin(&w);
	jw_kstr(&w, "a", "x");
	jw_kint(&w, "b", -5);
	jw_key(&w, "c");
	jw_arr_begin(&w);
	jw_uint(&w, 1);
	jw_obj_begin(&w);
	jw_kbool(&w, "t", true);
	jw_obj_end(&w);
	jw_null(&w);
	jw_str(&w, NULL);
	jw_arr_end(&w);
	jw_kbool(&w, "d", false);
	jw_key(&w, "e");
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_obj_end(&w);
	t = text_of(&w);
	ck_assert_str_eq(t, "{\"a\":\"x\",\"b\":-5,\"c\":[1,{\"t\":true},null,null],\"d\":false,\"e\":[]}");
	free(t);
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} escapes[] = {
	{ "plain", "\"plain\"" },
	{ "q\"b\\s", "\"q\\\"b\\\\s\"" },
	{ "nl\ntab\tcr\r", "\"nl\\ntab\\tcr\\u000d\"" },
	{ "<script>&", "\"\\u003cscript\\u003e\\u0026\"" },
	{ "\x01\x1f", "\"\\u0001\\u001f\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
	{ "bad\xff", "\"bad\\ufffd\"" },              /* not UTF-8 */
	{ "over\xc0\xaf", "\"over\\ufffd\\ufffd\"" }, /* overlong '/' */
	{ "sur\xed\xa0\x80", "\"sur\\ufffd\\ufffd\\ufffd\"" }, /* a UTF-16 surrogate */
	{ "cut\xe2\x82", "\"cut\\ufffd\\ufffd\"" },   /* truncated sequence */
	{ "del\x7f", "\"del\x7f\"" },
};

START_TEST(writer_escapes)
{
	struct jw w;
	char *t;

	jw_init(&w, 4096);
	jw_str(&w, escapes[_i].in);
	t = text_of(&w);
	ck_assert_str_eq(t, escapes[_i].out);
	free(t);
}
END_TEST

START_TEST(writer_overflow_is_sticky)
{
	struct jw w;
	size_t len;

	jw_init(&w, 64);
	jw_arr_begin(&w);
	for (int i = 0; i < 100; i++)
		jw_str(&w, "0123456789");
	jw_arr_end(&w);
	ck_assert(w.overflow);
	ck_assert(!jw_ok(&w));
	ck_assert_ptr_null(jw_take(&w, &len));
	ck_assert_uint_le(w.cap, 64);   /* never grew past its cap */
	jw_free(&w);
}
END_TEST

START_TEST(writer_unbalanced_is_not_ok)
{
	struct jw w;

	jw_init(&w, 64);
	jw_obj_begin(&w);
	jw_key(&w, "k");
	ck_assert(!jw_ok(&w));
	jw_obj_end(&w);              /* a key without a value */
	ck_assert(!jw_ok(&w));
	jw_free(&w);
	jw_init(&w, 64);
	jw_arr_end(&w);              /* closing what was never opened */
	ck_assert(!jw_ok(&w));
	jw_free(&w);
}
END_TEST

START_TEST(writer_deep_nesting_refused)
{
	struct jw w;

	jw_init(&w, 4096);
	for (int i = 0; i < JW_DEPTH + 1; i++)
		jw_arr_begin(&w);
	ck_assert(w.overflow);
	jw_free(&w);
}
END_TEST

START_TEST(parse_good)
{
	struct json_flat o;
	const char *why = NULL;
	const char *in = " {\"user\" : \"al\\u00e9 \\ud83d\\ude00\\n\", \"n\":-12.5e+3,\"t\":true,"
			 "\"f\":false,\"z\":null, \"e\":\"\"} \r\n";

	ck_assert_int_eq(json_parse_flat(in, strlen(in), &o, &why), 0);
	ck_assert_uint_eq(o.n, 6);
	ck_assert_str_eq(json_get(&o, "user")->val, "al\xc3\xa9 \xf0\x9f\x98\x80\n");
	ck_assert_uint_eq(json_get(&o, "user")->len, strlen("al\xc3\xa9 \xf0\x9f\x98\x80\n"));
	ck_assert_int_eq(json_get(&o, "n")->type, JSON_T_NUMBER);
	ck_assert_str_eq(json_get(&o, "n")->val, "-12.5e+3");
	ck_assert_int_eq(json_get(&o, "t")->type, JSON_T_BOOL);
	ck_assert_str_eq(json_get(&o, "f")->val, "false");
	ck_assert_int_eq(json_get(&o, "z")->type, JSON_T_NULL);
	ck_assert_str_eq(json_get(&o, "e")->val, "");
	ck_assert_ptr_null(json_get(&o, "missing"));
	json_wipe(&o);
	ck_assert_uint_eq(o.n, 0);
	ck_assert_int_eq(json_parse_flat("{}", 2, &o, &why), 0);
	ck_assert_uint_eq(o.n, 0);
}
END_TEST

static const char *const bad_inputs[] = {
	"",
	"[]",
	"\"s\"",
	"{",
	"{\"a\"}",
	"{\"a\":}",
	"{\"a\":1,}",
	"{\"a\":1 \"b\":2}",
	"{\"a\":1}x",
	"{\"a\":1}{}",
	"{\"a\":{\"b\":1}}",
	"{\"a\":[1]}",
	"{\"a\":1,\"a\":2}",
	"{a:1}",
	"{'a':1}",
	"{\"a\":01}",
	"{\"a\":1.}",
	"{\"a\":.5}",
	"{\"a\":1e}",
	"{\"a\":+1}",
	"{\"a\":tru}",
	"{\"a\":nul}",
	"{\"a\":\"x\ty\"}",
	"{\"a\":\"\\x\"}",
	"{\"a\":\"\\u12\"}",
	"{\"a\":\"\\u0000\"}",
	"{\"a\":\"\\ud800\"}",
	"{\"a\":\"\\udc00\"}",
	"{\"a\":\"\\ud800\\u0041\"}",
	"{\"a\":\"\xff\"}",
	"{\"a\":\"unterminated}",
	"{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,\"8\":8,\"9\":9}",
	"{\"a-key-that-is-far-too-long-for-the-table\":1}",
};

START_TEST(parse_bad)
{
	struct json_flat o;
	const char *why = NULL;

	ck_assert_msg(json_parse_flat(bad_inputs[_i], strlen(bad_inputs[_i]), &o, &why) == -1,
		      "accepted: %s", bad_inputs[_i]);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(parse_embedded_nul_and_length)
{
	struct json_flat o;
	const char *why;
	const char in[] = "{\"a\":\"x\"}\0garbage";
	char *big;
	size_t n = JSON_VAL_MAX + 10;

	/* The length given is what counts: text after it is not read, a NUL inside is refused. */
	ck_assert_int_eq(json_parse_flat(in, 9, &o, &why), 0);
	ck_assert_int_eq(json_parse_flat(in, sizeof(in) - 1, &o, &why), -1);
	ck_assert_int_eq(json_parse_flat("{\"a\":\"x\"}", 5, &o, &why), -1);
	big = malloc(n + 16);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "{\"a\":\"", 6);
	memset(big + 6, 'x', n);
	memcpy(big + 6 + n, "\"}", 2);
	ck_assert_int_eq(json_parse_flat(big, n + 8, &o, &why), -1);
	ck_assert_str_eq(why, "string too long");
	free(big);
}
END_TEST

START_TEST(roundtrip_through_writer)
{
	/* Whatever the writer escapes, the parser reads back the same bytes (valid UTF-8 input). */
	const char *s = "a\"b\\c\n\x01<>&\xc3\xa9\xf0\x9f\x98\x80/";
	struct jw w;
	struct json_flat o;
	const char *why;
	char *t;

	jw_init(&w, 1024);
	jw_obj_begin(&w);
	jw_kstr(&w, "k", s);
	jw_obj_end(&w);
	t = text_of(&w);
	ck_assert_int_eq(json_parse_flat(t, strlen(t), &o, &why), 0);
	ck_assert_str_eq(json_get(&o, "k")->val, s);
	free(t);
}
END_TEST

/* A tiny deterministic generator, so a failure can be replayed. */
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

START_TEST(parse_mutations_never_misbehave)
{
	/* Mutated valid bodies: the parser must return 0 or -1, stay in bounds (ASan), and what it
	 * accepts must be NUL-terminated values of the stated length. */
	static const char seed[] = "{\"user\":\"al\\u00e9\",\"password\":\"p\\\"w\",\"n\":-1.5e3,\"t\":true,\"z\":null}";
	static const char alphabet[] = "{}[]\",:\\u0 tfn-.e9";
	char buf[sizeof(seed) + 8];
	struct json_flat o;
	const char *why;

	for (int round = 0; round < 50000; round++) {
		size_t len = sizeof(seed) - 1;
		memcpy(buf, seed, len);
		for (int k = 1 + (int)(rng() % 4); k > 0 && len > 0; k--) {
			size_t at = rng() % len;
			switch (rng() % 3) {
			case 0: buf[at] = (char)(rng() & 0xff); break;
			case 1: buf[at] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
			default: len = at; break;   /* truncate */
			}
		}
		if (json_parse_flat(buf, len, &o, &why) == 0) {
			ck_assert_uint_le(o.n, JSON_FIELDS_MAX);
			for (size_t i = 0; i < o.n; i++)
				ck_assert_uint_eq(strlen(o.f[i].val), o.f[i].len);
		} else {
			ck_assert_ptr_nonnull(why);
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("admin_json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, writer_nesting_and_commas);
	tcase_add_loop_test(tc, writer_escapes, 0, sizeof(escapes) / sizeof(escapes[0]));
	tcase_add_test(tc, writer_overflow_is_sticky);
	tcase_add_test(tc, writer_unbalanced_is_not_ok);
	tcase_add_test(tc, writer_deep_nesting_refused);
	tcase_add_test(tc, parse_good);
	tcase_add_loop_test(tc, parse_bad, 0, sizeof(bad_inputs) / sizeof(bad_inputs[0]));
	tcase_add_test(tc, parse_embedded_nul_and_length);
	tcase_add_test(tc, roundtrip_through_writer);
	tcase_add_test(tc, parse_mutations_never_misbehave);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
