/* fuzz_smtp_data.c - libFuzzer harness: the DATA reader against a plain reference reading of RFC 5321. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Input: one byte choosing the size limit (64 * (1 + byte)) and the spool (odd: spill to a file
 * past 512 octets), then the bytes a client sends after DATA's 354. smtp_data_read reads them
 * through the real lineio layer and spools the message; model() reads the same bytes the way
 * smtp_data.h describes, from one flat buffer. Verdict, octet count, spooled text and the input
 * left after the terminator must all agree, and an accepted message has CRLF lines only.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_spool.h"
#include "fuzz_util.h"
#include "smtpd/smtp_data.h"
#include "smtpd/smtp_limits.h"

/* What a reading of the input came to. */
struct reading {
	enum smtp_data_result verdict;
	uint64_t size;        /* octets of message text, unstuffed, CRLF counted */
	char *text;           /* the message while it is acceptable */
	size_t len;
	size_t used;          /* input octets consumed through the terminator's LF */
};

/* keep - append one unstuffed line and its CRLF to R's text. */
static void keep(struct reading *r, const uint8_t *line, size_t n)
{
	memcpy(r->text + r->len, line, n);
	memcpy(r->text + r->len + n, "\r\n", 2);
	r->len += n + 2;
}

/*
 * model - the reference: lines end at LF; CR LF is the only proper end; a line over 998 octets,
 * a bare CR or LF, or too much text spoil the message (the first problem is the verdict) but
 * reading goes on to CRLF "." CRLF (also after a long line that ended in CRLF); a lone dot after
 * anything but CRLF ends the session.
 */
static void model(const uint8_t *in, size_t n, uint64_t max, struct reading *r)
{
	size_t pos = 0;
	bool prev_crlf = true;

	memset(r, 0, sizeof(*r));
	r->text = malloc(2 * n + 3);
	FUZZ_CHECK(r->text != NULL, "out of memory");
	for (;;) {
		const uint8_t *lf = pos < n ? memchr(in + pos, '\n', n - pos) : NULL;
		if (lf == NULL) {
			r->verdict = SMTP_DATA_EOF;
			return;
		}
		const uint8_t *line = in + pos;
		size_t raw = (size_t)(lf - line);
		bool crlf = raw > 0 && line[raw - 1] == '\r';
		size_t clen = crlf ? raw - 1 : raw;
		bool bare = !crlf || memchr(line, '\r', clen) != NULL;
		enum smtp_data_result *v = &r->verdict;

		pos += raw + 1;
		if (clen > SMTP_TEXT_LINE_MAX - 2) {
			if (*v == SMTP_DATA_OK)
				*v = SMTP_DATA_LONG_LINE;
			prev_crlf = crlf; /* how a long line ended still counts */
			continue;
		}
		if (bare && *v == SMTP_DATA_OK)
			*v = SMTP_DATA_BARE_EOL;
		if (clen == 1 && line[0] == '.') {
			r->used = pos;
			if (bare || !prev_crlf)
				r->verdict = SMTP_DATA_BARE_DOT;
			return;
		}
		prev_crlf = crlf;
		if (bare)
			continue;
		if (line[0] == '.') {
			line++;
			clen--;
		}
		r->size += clen + 2;
		if (r->size > max && *v == SMTP_DATA_OK)
			*v = SMTP_DATA_TOO_BIG;
		if (*v == SMTP_DATA_OK)
			keep(r, line, clen);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

/* peer_closed_lio - a lio whose peer has gone, preloaded with IN: it reads IN, then EOF. */
static struct lio *peer_closed_lio(const uint8_t *in, size_t n)
{
	int sv[2];
	struct lio *lio;

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	close(sv[1]);
	lio = lio_new(sv[0]);
	FUZZ_CHECK(lio != NULL, "lio_new");
	FUZZ_CHECK(lio_preload(lio, in, n) == 0, "lio_preload of %zu octets", n);
	lio_set_timeout(lio, 5);
	return lio;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading want;
	struct smtp_spool *sp;
	struct lio *lio;
	uint64_t max, received = 0;
	enum smtp_data_result got;
	char *text;
	size_t len;

	if (size < 1 || size - 1 > LIO_INBUF)
		return -1; /* the whole input must fit the preload buffer */
	max = 64 * (1 + (uint64_t)data[0]);
	model(data + 1, size - 1, max, &want);
	sp = smtp_spool_new((data[0] & 1) ? 512 : SMTP_SPOOL_MEM_MAX, fuzz_dir());
	FUZZ_CHECK(sp != NULL, "smtp_spool_new");
	lio = peer_closed_lio(data + 1, size - 1);
	got = smtp_data_read(lio, sp, max, &received);
	FUZZ_CHECK(got == want.verdict, "smtp_data_read says \"%s\", the reference \"%s\"", smtp_data_result_text(got),
		   smtp_data_result_text(want.verdict));
	if (got != SMTP_DATA_EOF)
		FUZZ_CHECK(received == want.size, "%llu octets received, the reference counts %llu",
			   (unsigned long long)received, (unsigned long long)want.size);
	if (got != SMTP_DATA_EOF && got != SMTP_DATA_BARE_DOT) {
		/* Pipelined commands after the terminator stay for the command reader. */
		FUZZ_CHECK(lio_buffered(lio) == size - 1 - want.used, "%zu octets left after the dot, expected %zu",
			   lio_buffered(lio), size - 1 - want.used);
	}
	if (got == SMTP_DATA_OK) {
		fuzz_spool_read(sp, &text, &len);
		FUZZ_CHECK(len == want.len && memcmp(text, want.text, len) == 0,
			   "spooled %zu octets, the reference %zu; spooled text: %.80s", len, want.len, text);
		fuzz_check_crlf("spooled message", text, len, SMTP_TEXT_LINE_MAX);
		fuzz_check_no_bare_cr("spooled message", text, len);
		FUZZ_CHECK(len <= max, "%zu octets spooled over a limit of %llu", len, (unsigned long long)max);
		free(text);
	}
	lio_free(&lio);
	smtp_spool_free(&sp);
	free(want.text);
	return 0;
}
