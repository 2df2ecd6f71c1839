/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_smtp_data.c - the DATA reader over a real socketpair and lineio: dot-unstuffing, the one
 * CRLF.CRLF terminator, SMTP smuggling variants refused, size and line limits read to the end,
 * timeouts; the spool (memory and spilled) and the Received: header.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/lineio.h"
#include "smtpd/smtp_data.h"
#include "smtpd/smtp_received.h"
#include "smtpd/smtp_spool.h"
#include "check_run.h"

static struct lio *lio;
static int peer = -1;
static struct smtp_spool *sp;

static void setup(void)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	lio = lio_new(sv[0]);
	ck_assert_ptr_nonnull(lio);
	lio_set_timeout(lio, 2);
	peer = sv[1];
	sp = smtp_spool_new(4096, NULL);
	ck_assert_ptr_nonnull(sp);
}

static void teardown(void)
{
	lio_free(&lio);
	if (peer >= 0)
		close(peer);
	peer = -1;
	smtp_spool_free(&sp);
}

static void send_text(const char *text)
{
	size_t len = strlen(text);

	ck_assert_int_eq(write(peer, text, len), (ssize_t)len);
}

/* spooled - everything in the spool as one string (tests keep messages small). */
static const char *spooled(void)
{
	static char buf[65536];
	const char *piece;
	size_t len, n = 0;
	bool eol;

	ck_assert_int_eq(smtp_spool_rewind(sp), 0);
	while (smtp_spool_next(sp, &piece, &len, &eol) > 0) {
		ck_assert_uint_lt(n + len, sizeof(buf));
		memcpy(buf + n, piece, len);
		n += len;
	}
	buf[n] = '\0';
	return buf;
}

/* next_line - what the session would read next as a command. */
static const char *next_line(void)
{
	static char line[1024];
	size_t len;

	ck_assert_int_eq(lio_read_line(lio, line, sizeof(line), &len, NULL), LIO_OK);
	return line;
}

static enum smtp_data_result read_msg(uint64_t max, uint64_t *size)
{
	uint64_t dummy;

	return smtp_data_read(lio, sp, max, size != NULL ? size : &dummy);
}

START_TEST(test_simple_and_unstuffing)
{
	uint64_t size = 0;

	send_text("Subject: hi\r\n\r\nline one\r\n..leading dot\r\n.\t\r\n\r\n.\r\nNOOP\r\n");
	ck_assert_int_eq(read_msg(10000, &size), SMTP_DATA_OK);
	ck_assert_str_eq(spooled(), "Subject: hi\r\n\r\nline one\r\n.leading dot\r\n\t\r\n\r\n");
	ck_assert_uint_eq(size, strlen(spooled()));
	ck_assert_str_eq(next_line(), "NOOP");
}
END_TEST

START_TEST(test_empty_message)
{
	send_text(".\r\nQUIT\r\n");
	ck_assert_int_eq(read_msg(10000, NULL), SMTP_DATA_OK);
	ck_assert_str_eq(spooled(), "");
	ck_assert_str_eq(next_line(), "QUIT");
}
END_TEST

START_TEST(test_appends_after_header)
{
	ck_assert_int_eq(smtp_spool_write(sp, "Received: x\r\n", 13), 0);
	send_text("body\r\n.\r\n");
	ck_assert_int_eq(read_msg(10000, NULL), SMTP_DATA_OK);
	ck_assert_str_eq(spooled(), "Received: x\r\nbody\r\n");
}
END_TEST

/*
 * The SMTP smuggling terminators (CVE-2023-51764 and friends) and what becomes of them: either the
 * reader goes on to the real CRLF.CRLF and refuses the whole, or it stops at the ambiguous dot and
 * the session ends. Never a good message, and never a return to commands after an ambiguous dot.
 */
static const struct { const char *text; enum smtp_data_result r; } smuggle[] = {
	{ "hello\n.\nMAIL FROM:<evil@example.org>\r\n", SMTP_DATA_BARE_DOT },
	{ "hello\r\n.\nMAIL FROM:<evil@example.org>\r\n", SMTP_DATA_BARE_DOT },
	{ "hello\n.\r\nMAIL FROM:<evil@example.org>\r\n", SMTP_DATA_BARE_DOT },
	{ "hello\r.\r\nMAIL FROM:<evil@example.org>\r\n", SMTP_DATA_BARE_EOL },
	{ "hello\r\n.\r\rMAIL FROM:<evil@example.org>\r\n", SMTP_DATA_BARE_EOL },
	{ "hello\rMAIL FROM:<evil@example.org>\r\n", SMTP_DATA_BARE_EOL },
};

START_TEST(test_smuggling_refused)
{
	send_text(smuggle[_i].text);
	send_text("RCPT TO:<victim@example.net>\r\n.\r\nNOOP\r\n");
	ck_assert_int_eq(read_msg(10000, NULL), smuggle[_i].r);
	/* Whatever the reader stopped at, the condemned text is never a message. */
	ck_assert_ptr_null(strstr(spooled(), "victim"));
	if (smuggle[_i].r == SMTP_DATA_BARE_EOL)
		ck_assert_str_eq(next_line(), "NOOP");
}
END_TEST

START_TEST(test_bare_lf_client_answered)
{
	/* A client that only knows LF gets its answer at its own terminator, not a timeout. */
	send_text("Subject: x\n\nbody\n.\nQUIT\n");
	ck_assert_int_eq(read_msg(10000, NULL), SMTP_DATA_BARE_DOT);
}
END_TEST

START_TEST(test_long_line_then_dot)
{
	char line[1100];

	/* After an over-long line its line end is unknown: a dot right after it is ambiguous. */
	memset(line, 'y', 1050);
	snprintf(line + 1050, sizeof(line) - 1050, "\n.\r\nMAIL FROM:<evil@example.org>\r\n");
	send_text(line);
	ck_assert_int_eq(read_msg(100000, NULL), SMTP_DATA_BARE_DOT);
}
END_TEST

START_TEST(test_long_last_line_keeps_session)
{
	char text[1400];

	/* A too-long line that ends in CRLF leaves CRLF "." CRLF the message's end: the client is told
	 * the line was too long and the session reads its next command. */
	size_t head = strlen("Subject: a\r\n\r\n");

	memcpy(text, "Subject: a\r\n\r\n", head);
	memset(text + head, 'A', 1200);
	snprintf(text + head + 1200, sizeof(text) - head - 1200, "\r\n.\r\nNOOP\r\n");
	send_text(text);
	ck_assert_int_eq(read_msg(100000, NULL), SMTP_DATA_LONG_LINE);
	ck_assert_str_eq(next_line(), "NOOP");
}
END_TEST

START_TEST(test_long_line_crlf_split_across_reads)
{
	static char text[2 * LIO_INBUF + 64];
	size_t n = 2 * LIO_INBUF;

	/* The reader refills its buffer from the line's start: the CR is the last byte of one fill and
	 * the LF the first of the next. The line still ended in CRLF. */
	memset(text, 'z', n - 1);
	text[n - 1] = '\r';
	snprintf(text + n, sizeof(text) - n, "\n.\r\nNOOP\r\n");
	send_text(text);
	ck_assert_int_eq(read_msg(1000000, NULL), SMTP_DATA_LONG_LINE);
	ck_assert_str_eq(next_line(), "NOOP");
}
END_TEST

START_TEST(test_too_big_read_to_end)
{
	char line[120];
	uint64_t size = 0;

	memset(line, 'x', 98);
	memcpy(line + 98, "\r\n", 3);
	for (int i = 0; i < 20; i++)
		send_text(line);
	send_text(".\r\nNOOP\r\n");
	ck_assert_int_eq(read_msg(1000, &size), SMTP_DATA_TOO_BIG);
	ck_assert_uint_eq(size, 2000);
	ck_assert_uint_le(smtp_spool_size(sp), 1000);
	ck_assert_str_eq(next_line(), "NOOP");
}
END_TEST

START_TEST(test_line_limit)
{
	char line[1100];

	memset(line, 'y', 998);
	memcpy(line + 998, "\r\n.\r\n", 6);
	send_text(line);
	ck_assert_int_eq(read_msg(100000, NULL), SMTP_DATA_OK);
	ck_assert_uint_eq(smtp_spool_size(sp), 1000);
	smtp_spool_reset(sp);
	memset(line, 'y', 999);
	memcpy(line + 999, "\r\nshort\r\n.\r\nNOOP\r\n", 18);
	send_text(line);
	ck_assert_int_eq(read_msg(100000, NULL), SMTP_DATA_LONG_LINE);
	ck_assert_str_eq(next_line(), "NOOP");
}
END_TEST

START_TEST(test_timeout_and_eof)
{
	lio_set_timeout(lio, 1);
	send_text("no end in sight\r\n");
	ck_assert_int_eq(read_msg(10000, NULL), SMTP_DATA_TIMEOUT);
	send_text("still no end\r\n");
	shutdown(peer, SHUT_WR);
	ck_assert_int_eq(read_msg(10000, NULL), SMTP_DATA_EOF);
}
END_TEST

START_TEST(test_spool_spills)
{
	char line[100];
	const char *piece;
	size_t len, total = 0;
	bool eol;
	int lines = 0;

	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "line %04d of the message that is larger than memory\r\n", i);

		ck_assert_int_eq(smtp_spool_write(sp, line, (size_t)n), 0);
		total += (size_t)n;
	}
	ck_assert_uint_eq(smtp_spool_size(sp), total);
	ck_assert_int_eq(smtp_spool_rewind(sp), 0);
	while (smtp_spool_next(sp, &piece, &len, &eol) > 0) {
		snprintf(line, sizeof(line), "line %04d of the message that is larger than memory\r\n", lines);
		ck_assert(eol);
		ck_assert_uint_eq(len, strlen(line));
		ck_assert_int_eq(memcmp(piece, line, len), 0);
		lines++;
	}
	ck_assert_int_eq(lines, 1000);
	/* Read twice (a retry in plain text after a failed TLS handshake does this). */
	ck_assert_int_eq(smtp_spool_rewind(sp), 0);
	ck_assert_int_eq(smtp_spool_next(sp, &piece, &len, &eol), 1);
	ck_assert_int_eq(memcmp(piece, "line 0000", 9), 0);
	smtp_spool_reset(sp);
	ck_assert_uint_eq(smtp_spool_size(sp), 0);
	ck_assert_int_eq(smtp_spool_write(sp, "a\r\n", 3), 0);
	ck_assert_str_eq(spooled(), "a\r\n");
}
END_TEST

START_TEST(test_received)
{
	char out[2048];
	struct smtp_received r = {
		.helo = "client.example", .client_ip = "192.0.2.7", .hostname = "mx.example.org",
		.esmtp = true, .tls = true, .tls_info = "TLSv1.3 TLS_AES_256_GCM_SHA384",
		.auth_user = "alice", .reasons = "smtp-auth", .id = "0123456789AB",
		.for_rcpt = "bob@example.net", .when = 1700000000,
	};
	long n = smtp_received_format(&r, out, sizeof(out));

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq((size_t)n, strlen(out));
	ck_assert_msg(strncmp(out, "Received: from client.example ([192.0.2.7])\r\n", 45) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "(using TLSv1.3 TLS_AES_256_GCM_SHA384)"));
	ck_assert_ptr_nonnull(strstr(out, "(relay=smtp-auth user=alice)"));
	ck_assert_ptr_nonnull(strstr(out, "by mx.example.org (popgate) with ESMTPSA id 0123456789AB"));
	ck_assert_ptr_nonnull(strstr(out, "for <bob@example.net>;"));
	ck_assert_ptr_nonnull(strstr(out, " 2023 "));
	ck_assert_str_eq(out + n - 2, "\r\n");
	/* Every line is a folded continuation: no bare LF, no empty line that would end the header. */
	for (char *p = out; (p = strchr(p, '\n')) != NULL; p++) {
		ck_assert(p[-1] == '\r');
		ck_assert(p[1] == '\0' || p[1] == '\t');
	}
	r.tls = false;
	r.auth_user = "ev(il)\r\nX: y";
	r.for_rcpt = NULL;
	r.reasons = "relay-domain,authorized";
	ck_assert_int_gt(smtp_received_format(&r, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "with ESMTPA id"));
	ck_assert_ptr_nonnull(strstr(out, "(relay=relay-domain,authorized user=ev?il???X: y)"));
	ck_assert_ptr_null(strstr(out, "for <"));
	ck_assert_ptr_null(strstr(out, "using"));
	ck_assert_int_eq(smtp_received_format(&r, out, 40), -1);
	ck_assert_str_eq(smtp_with_keyword(false, true, false), "SMTP");
	ck_assert_str_eq(smtp_with_keyword(true, false, false), "ESMTP");
	ck_assert_str_eq(smtp_with_keyword(true, true, false), "ESMTPS");
}
END_TEST

START_TEST(test_ids_differ)
{
	char a[16], b[16];

	smtp_new_id(a, sizeof(a));
	smtp_new_id(b, sizeof(b));
	ck_assert_uint_eq(strlen(a), 12);
	ck_assert_str_ne(a, b);
}
END_TEST

/* unstuff_ref - the reference reading of a message body: CRLF lines, a leading dot removed. */
static size_t unstuff_ref(const char *body, size_t len, char *out)
{
	size_t o = 0;
	bool start = true;

	for (size_t i = 0; i < len; i++) {
		if (start && body[i] == '.') {
			start = false;
			continue;
		}
		out[o++] = body[i];
		start = body[i] == '\n';
	}
	return o;
}

/* clean - no CR without LF after it and no LF without CR before it. */
static bool clean(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n'))
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
	}
	return true;
}

/*
 * Random streams built from the pieces smuggling is made of, checked against a reference: the
 * message ends at the first CRLF.CRLF; it is accepted exactly when everything before that is
 * clean, and then the spool holds it unstuffed; otherwise it is refused one way or the other.
 */
START_TEST(test_random_streams)
{
	static const char *const pieces[] = { "a", "b c", ".", "..", "\r", "\n", "\r\n", ".\r\n", "\r\n.\r\n",
					      "\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r", "\r\n\r\n", "\0" };
	unsigned seed = 20240101;

	for (int round = 0; round < 20000; round++) {
		char in[400], prefixed[402], expect[400];
		size_t n = 0, elen = 0;
		int npieces = (int)(rand_r(&seed) % 24);
		enum smtp_data_result r;
		const char *end;
		bool terminated;

		for (int k = 0; k < npieces; k++) {
			const char *pc = pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t pl = pc[0] == '\0' ? 1 : strlen(pc);

			memcpy(in + n, pc, pl);
			n += pl;
		}
		if (rand_r(&seed) % 4 != 0) {
			memcpy(in + n, "\r\n.\r\n", 5);
			n += 5;
		}
		memcpy(prefixed, "\r\n", 2);
		memcpy(prefixed + 2, in, n);
		end = memmem(prefixed, n + 2, "\r\n.\r\n", 5);
		terminated = end != NULL;
		teardown();
		setup();
		ck_assert_int_eq(write(peer, in, n), (ssize_t)n);
		shutdown(peer, SHUT_WR);
		r = read_msg(100000, NULL);
		if (terminated && clean(prefixed + 2, (size_t)(end - prefixed))) {
			ck_assert_msg(r == SMTP_DATA_OK, "round %d: result %d", round, r);
			elen = unstuff_ref(prefixed + 2, (size_t)(end - prefixed), expect);
			ck_assert_uint_eq(smtp_spool_size(sp), elen);
			ck_assert_int_eq(memcmp(spooled(), expect, elen), 0);
		} else {
			ck_assert_msg(r != SMTP_DATA_OK, "round %d: accepted a message it should not have", round);
			ck_assert_msg(r == SMTP_DATA_BARE_EOL || r == SMTP_DATA_BARE_DOT || (!terminated && r == SMTP_DATA_EOF),
				      "round %d: result %d", round, r);
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("smtp_data");
	TCase *tc = tcase_create("reader");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_simple_and_unstuffing);
	tcase_add_test(tc, test_empty_message);
	tcase_add_test(tc, test_appends_after_header);
	tcase_add_loop_test(tc, test_smuggling_refused, 0, (int)(sizeof(smuggle) / sizeof(smuggle[0])));
	tcase_add_test(tc, test_bare_lf_client_answered);
	tcase_add_test(tc, test_long_line_then_dot);
	tcase_add_test(tc, test_long_last_line_keeps_session);
	tcase_add_test(tc, test_long_line_crlf_split_across_reads);
	tcase_add_test(tc, test_too_big_read_to_end);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_timeout_and_eof);
	tcase_add_test(tc, test_spool_spills);
	tcase_add_test(tc, test_random_streams);
	suite_add_tcase(s, tc);
	tc = tcase_create("received");
	tcase_add_test(tc, test_received);
	tcase_add_test(tc, test_ids_differ);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
