/* fuzz_spool.c - read an SMTP spool back piece by piece and check its line ends. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_spool.h"
#include "fuzz_util.h"

void fuzz_spool_read(struct smtp_spool *sp, char **text, size_t *len)
{
	const char *piece;
	size_t n, cap = 4096;
	bool eol;
	int rc;

	*len = 0;
	*text = malloc(cap);
	FUZZ_CHECK(*text != NULL, "out of memory");
	FUZZ_CHECK(smtp_spool_rewind(sp) == 0, "smtp_spool_rewind failed");
	while ((rc = smtp_spool_next(sp, &piece, &n, &eol)) == 1) {
		FUZZ_CHECK(n > 0, "an empty spool piece");
		FUZZ_CHECK(eol == (piece[n - 1] == '\n'), "piece of %zu octets: eol=%d but last octet 0x%02x", n, eol,
			   (unsigned char)piece[n - 1]);
		FUZZ_CHECK(memchr(piece, '\n', n - 1) == NULL, "a spool piece holds more than one line");
		while (*len + n + 1 > cap)
			cap *= 2;
		*text = realloc(*text, cap);
		FUZZ_CHECK(*text != NULL, "out of memory for %zu octets", cap);
		memcpy(*text + *len, piece, n);
		*len += n;
	}
	FUZZ_CHECK(rc == 0, "smtp_spool_next failed after %zu octets", *len);
	(*text)[*len] = '\0';
	FUZZ_CHECK(*len == smtp_spool_size(sp), "read %zu octets back, the spool says %llu", *len,
		   (unsigned long long)smtp_spool_size(sp));
}

void fuzz_check_no_bare_cr(const char *what, const char *text, size_t len)
{
	for (const char *p = text; (p = memchr(p, '\r', len - (size_t)(p - text))) != NULL; p++)
		FUZZ_CHECK((size_t)(p - text) + 1 < len && p[1] == '\n', "%s: bare CR at offset %zu", what,
			   (size_t)(p - text));
}
