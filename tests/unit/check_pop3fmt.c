/* check_pop3fmt.c - table-driven tests of the POP3 formatter and size counter, at every chunking. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/pop3fmt.h"
#include "check_run.h"

struct fmt_case {
	const char *in;
	long body_lines;   /* < 0: RETR */
	const char *out;
	unsigned long long size; /* POP3 size of IN (only checked for RETR cases) */
};


static const struct fmt_case cases[] = {
	{ "", -1, "", 0 },
	{ "a\n", -1, "a\r\n", 3 },
	{ "a\r\n", -1, "a\r\n", 3 },
	{ "a", -1, "a\r\n", 3 },                         /* last line gets its CRLF */
	{ "a\r", -1, "a\r\n", 3 },                       /* ...or just the LF it lacks */
	{ "a\nb", -1, "a\r\nb\r\n", 6 },
	{ "\n\n", -1, "\r\n\r\n", 4 },
	{ ".\n", -1, "..\r\n", 3 },                      /* size is before stuffing */
	{ "..x\n.\r\n", -1, "...x\r\n..\r\n", 8 },
	{ "a.\n.b", -1, "a.\r\n..b\r\n", 8 },
	{ "a\rb\n", -1, "a\rb\r\n", 5 },                 /* a lone CR is kept */
	{ "\r\n.\r\n", -1, "\r\n..\r\n", 5 },
	{ "x\n\r\n", -1, "x\r\n\r\n", 5 },
	{ "From x\n>From y\n", -1, "From x\r\n>From y\r\n", 17 },
	/* TOP: headers, the blank line, then N body lines. */
	{ "H: 1\n\nb1\nb2\nb3\n", 0, "H: 1\r\n\r\n", 0 },
	{ "H: 1\n\nb1\nb2\nb3\n", 2, "H: 1\r\n\r\nb1\r\nb2\r\n", 0 },
	{ "H: 1\n\nb1\nb2\nb3\n", 10, "H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", 0 },
	{ "H: 1\r\n\r\n.b1\r\nb2", 1, "H: 1\r\n\r\n..b1\r\n", 0 },
	{ "H: 1\nH: 2", 0, "H: 1\r\nH: 2\r\n", 0 },    /* no body at all */
	{ "H: 1\n\n", 3, "H: 1\r\n\r\n", 0 },
	{ "H: 1\n\nb1", 1, "H: 1\r\n\r\nb1\r\n", 0 },
	{ "H: 1\n\n\n\nb", 1, "H: 1\r\n\r\n\r\n", 0 },   /* an empty body line counts */
};

/* run_chunked - format IN in chunks of CHUNK bytes (0: split once at SPLIT) into a new string. */
static char *run_chunked(const char *in, size_t len, long lines, size_t chunk, size_t split, size_t *outlen)
{
	struct pop3fmt f;
	char *out = malloc(POP3FMT_OUT_MAX(len) + 3);
	size_t o = 0;
	size_t pos = 0;

	ck_assert_ptr_nonnull(out);
	pop3fmt_init(&f, lines);
	while (pos < len && !f.done) {
		size_t n = chunk > 0 ? chunk : (pos < split ? split : len - pos);
		size_t used;

		if (n > len - pos)
			n = len - pos;
		o += pop3fmt_run(&f, in + pos, n, out + o, &used);
		ck_assert(used == n || f.done);
		pos += n;
	}
	o += pop3fmt_finish(&f, out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

START_TEST(test_table)
{
	const struct fmt_case *c = &cases[_i];
	size_t len = strlen(c->in);

	/* Every split point and one-byte chunks: chunk boundaries must not matter. */
	for (size_t split = 0; split <= len + 1; split++) {
		size_t olen;
		char *out = split <= len ? run_chunked(c->in, len, c->body_lines, 0, split, &olen)
					 : run_chunked(c->in, len, c->body_lines, 1, 0, &olen);

		ck_assert_msg(olen == strlen(c->out) && memcmp(out, c->out, olen) == 0,
			      "case %d split %zu: got \"%.*s\"", _i, split, (int)olen, out);
		free(out);
	}
	if (c->body_lines < 0) {
		ck_assert_uint_eq(pop3fmt_size(c->in, len), c->size);
		for (size_t split = 0; split <= len; split++) {
			struct pop3size s;

			pop3size_init(&s);
			pop3size_add(&s, c->in, split);
			pop3size_add(&s, c->in + split, len - split);
			ck_assert_uint_eq(pop3size_result(&s), c->size);
		}
	}
}
END_TEST

START_TEST(test_worst_case_growth)
{
	/* Every byte doubles: the output bound must hold exactly. */
	const char *in = "\n.\n.\n\n";
	size_t olen;
	char *out = run_chunked(in, strlen(in), -1, 0, 0, &olen);

	ck_assert_uint_le(olen, POP3FMT_OUT_MAX(strlen(in)));
	ck_assert_str_eq(out, "\r\n..\r\n..\r\n\r\n");
	free(out);
}
END_TEST

START_TEST(test_random_against_size)
{
	/* For random bytes, RETR output minus stuffed dots must equal the announced size. */
	srand(12345);
	for (int round = 0; round < 2000; round++) {
		char in[64];
		size_t len = (size_t)(rand() % (int)sizeof(in));
		size_t olen;
		size_t dots = 0;
		char *out;

		for (size_t i = 0; i < len; i++)
			in[i] = "ab.\r\n\0F"[rand() % 7];
		out = run_chunked(in, len, -1, (size_t)(rand() % 5), 0, &olen);
		for (size_t i = 0; i < olen; i++)
			if (out[i] == '.' && (i == 0 || out[i - 1] == '\n'))
				dots++;
		ck_assert_uint_eq(olen - dots, pop3fmt_size(in, len));
		if (olen > 0)
			ck_assert_msg(olen >= 2 && out[olen - 1] == '\n' && out[olen - 2] == '\r', "round %d", round);
		free(out);
	}
}
END_TEST

static Suite *pop3fmt_suite(void)
{
	Suite *s = suite_create("pop3fmt");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_worst_case_growth);
	tcase_add_test(tc, test_random_against_size);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(pop3fmt_suite());
}
