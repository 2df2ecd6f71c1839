/* fuzz_mbox.c - libFuzzer harness: the mbox parser, its index, RETR/TOP formatting and the UPDATE commit. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input is an mbox file. A reference written from the rules in mbox_parse.c and pop3fmt.h
 * (From_ lines after an empty line split messages; LF becomes CRLF, leading dots are doubled,
 * TOP stops after the blank line and N body lines) says what every message must look like on the
 * wire. The real driver must agree through mailbox_open (parsing), a second open (the index), and
 * a commit that deletes some messages (the rest must come back byte for byte). The streaming
 * formatter is also fed the whole input in odd-sized chunks, since RETR reads 256 KiB at a time.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_mailbox.h"
#include "fuzz_util.h"
#include "mailbox/mailbox_impl.h"
#include "mailbox/pop3fmt.h"

#define MAX_MSGS 4096

/* One message found by the reference split: its content in the input. */
struct span {
	size_t start, len;
};

static char mbox_path[512], mbox_spec[600], index_dir[512];
static struct span spans[MAX_MSGS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	fuzz_path("mbox", mbox_path, sizeof(mbox_path));
	fuzz_path("index", index_dir, sizeof(index_dir));
	snprintf(mbox_spec, sizeof(mbox_spec), "mbox:%s", mbox_path);
	FUZZ_CHECK(mkdir(index_dir, 0700) == 0, "mkdir %s", index_dir);
	mailbox_set_lock_timeout(1);
	return 0;
}

/* line_end - the index just past the line starting at P (its LF included), or N. */
static size_t line_end(const uint8_t *in, size_t n, size_t p)
{
	const uint8_t *lf = memchr(in + p, '\n', n - p);

	return lf != NULL ? (size_t)(lf - in) + 1 : n;
}

/*
 * split - the reference: a message is a From_ line, then lines up to a "From " line that follows
 * an empty line ("\n" or "\r\n") or the end; that empty line (or a last one) belongs to no message.
 */
static size_t split(const uint8_t *in, size_t n)
{
	size_t count = 0, p = 0;

	while (p < n && count < MAX_MSGS) {
		size_t start = line_end(in, n, p), q = start, last = 0;
		bool empty = false;

		while (q < n && !(empty && n - q >= 5 && memcmp(in + q, "From ", 5) == 0)) {
			size_t e = line_end(in, n, q);
			bool lf = in[e - 1] == '\n';

			last = e - q;
			empty = lf && (last == 1 || (last == 2 && in[q] == '\r'));
			q = e;
		}
		spans[count].start = start;
		spans[count].len = q - start - (empty ? last : 0);
		count++;
		p = q;
	}
	return count;
}

/*
 * pseudo - the reference for UW-IMAP's folder-data message, which is not served: the header block
 * of the first message (its first 4096 bytes, up to an empty line) has the subject
 * "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA" and an X-IMAP header.
 */
static bool pseudo(const uint8_t *in, const struct span *m)
{
	static const char subject[] = "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA";
	size_t n = m->len < 4096 ? m->len : 4096, p = 0;
	const uint8_t *h = in + m->start;
	bool subj = false, ximap = false;

	while (p < n) {
		const uint8_t *lf = memchr(h + p, '\n', n - p);
		size_t e = lf != NULL ? (size_t)(lf - h) : n, len = e - p, v = 8;

		if (len > 0 && h[p + len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		if (len > 6 && strncasecmp((const char *)h + p, "x-imap:", 7) == 0)
			ximap = true;
		if (len >= 8 && strncasecmp((const char *)h + p, "subject:", 8) == 0) {
			while (v < len && (h[p + v] == ' ' || h[p + v] == '\t'))
				v++;
			subj = len - v == sizeof(subject) - 1 && memcmp(h + p + v, subject, len - v) == 0;
		}
		if (lf == NULL)
			break;
		p = e + 1;
	}
	return subj && ximap;
}

/* format - the reference wire form of IN[0..N) for RETR (BODY < 0) or TOP BODY, without ".\r\n". */
static void format(const uint8_t *in, size_t n, long body, struct fuzz_msg *out)
{
	bool in_body = false;
	size_t p = 0;

	out->text = malloc(2 * n + 3);
	out->len = 0;
	FUZZ_CHECK(out->text != NULL, "out of memory");
	while (p < n) {
		size_t e = line_end(in, n, p), k = e - p;
		bool lf = in[e - 1] == '\n';
		size_t content = lf ? k - 1 : k;
		bool cr = content > 0 && in[p + content - 1] == '\r';

		if (in[p] == '.')
			out->text[out->len++] = '.';
		memcpy(out->text + out->len, in + p, content);
		out->len += content;
		if (!cr)
			out->text[out->len++] = '\r';
		out->text[out->len++] = '\n';
		p = e;
		if (!lf)
			break;
		if (!in_body && (content == 0 || (content == 1 && cr))) {
			in_body = true;
			if (body == 0)
				break;
		} else if (in_body && body > 0 && --body == 0) {
			break;
		}
	}
	out->text[out->len] = '\0';
}

/* same - fail unless GOT is WANT; WHAT says which message and how it was read. */
static void same(const struct fuzz_msg *got, const struct fuzz_msg *want, const char *what, size_t i)
{
	size_t k = 0;

	while (k < got->len && k < want->len && got->text[k] == want->text[k])
		k++;
	FUZZ_CHECK(got->len == want->len && k == got->len,
		   "%s of message %zu: %zu octets, the reference %zu; they differ at %zu: \"%.40s\" vs \"%.40s\"", what,
		   i + 1, got->len, want->len, k, got->text + k, want->text + k);
}

/* check_streaming - the formatter and the size counter fed IN in chunks whose sizes come from IN. */
static void check_streaming(const uint8_t *in, size_t n)
{
	static const long limits[] = { -1, 0, 1, 3 };
	char *out = malloc(2 * n + 3);

	FUZZ_CHECK(out != NULL, "out of memory");
	for (size_t t = 0; t < sizeof(limits) / sizeof(limits[0]); t++) {
		struct pop3fmt f;
		struct pop3size s;
		struct fuzz_msg got = { out, 0 }, want;
		size_t p = 0, used;

		pop3fmt_init(&f, limits[t]);
		pop3size_init(&s);
		while (p < n) {
			size_t c = 1 + (in[p] + t) % 23;
			if (c > n - p)
				c = n - p;
			pop3size_add(&s, (const char *)in + p, c);
			got.len += pop3fmt_run(&f, (const char *)in + p, c, out + got.len, &used);
			FUZZ_CHECK(used == c || f.done, "pop3fmt_run used %zu of %zu octets before its end", used, c);
			p += c;
		}
		got.len += pop3fmt_finish(&f, out + got.len);
		format(in, n, limits[t], &want);
		same(&got, &want, limits[t] < 0 ? "streamed RETR" : "streamed TOP", 0);
		if (limits[t] < 0) {
			fuzz_check_pop3_body(&got, pop3size_result(&s));
			FUZZ_CHECK(pop3fmt_size((const char *)in, n) == pop3size_result(&s), "sizes disagree");
		}
		fuzz_msg_free(&want);
	}
	free(out);
}

/* clear_index - no index from an earlier input: the first open must parse. */
static void clear_index(void)
{
	DIR *d = opendir(index_dir);
	struct dirent *e;
	char path[1024];

	FUZZ_CHECK(d != NULL, "opendir %s", index_dir);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", index_dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

/* check_messages - MB holds exactly the reference messages KEEP[0..COUNT) of IN, as the wire shows them. */
static void check_messages(struct mailbox *mb, const uint8_t *in, const size_t *keep, size_t count, const char *when)
{
	FUZZ_CHECK(mailbox_count(mb) == count, "%s: %zu messages, the reference %zu", when, mailbox_count(mb), count);
	for (size_t i = 0; i < count; i++) {
		const struct span *sp = &spans[keep[i]];
		struct fuzz_msg got, want;
		const char *u = mailbox_uidl(mb, i);

		FUZZ_CHECK(uidl_valid(u, strlen(u)), "%s: message %zu has UIDL \"%s\"", when, i + 1, u);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(u, mailbox_uidl(mb, j)) != 0, "%s: messages %zu and %zu share UIDL %s", when,
				   j + 1, i + 1, u);
		for (long body = -1; body <= 1; body++) {
			fuzz_mailbox_send(mb, i, body, &got);
			format(in + sp->start, sp->len, body, &want);
			same(&got, &want, body < 0 ? "RETR" : "TOP", i);
			if (body < 0)
				fuzz_check_pop3_body(&got, mailbox_size(mb, i));
			fuzz_msg_free(&got);
			fuzz_msg_free(&want);
		}
	}
}

/* deduplicated - whether UIDL U carries the ".N" that uidl_make_unique gives a later duplicate. */
static bool deduplicated(const char *u)
{
	const char *dot = strrchr(u, '.');

	return dot != NULL && dot[1] != '\0' && strspn(dot + 1, "0123456789") == strlen(dot + 1);
}

/* open_box - mailbox_open, which must succeed. */
static struct mailbox *open_box(const char *when)
{
	struct mailbox *mb = NULL;
	enum mailbox_status st = mailbox_open(mbox_spec, index_dir, &mb);

	FUZZ_CHECK(st == MAILBOX_OK, "%s: mailbox_open: %s", when, mailbox_status_name(st));
	return mb;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t all[MAX_MSGS], kept[MAX_MSGS];
	static char uidls[MAX_MSGS][MAILBOX_UIDL_MAX + 1];
	struct mailbox *mb = NULL;
	enum mailbox_status st;
	size_t count, nkept = 0;

	check_streaming(data, size);
	clear_index();
	fuzz_write_file(mbox_path, data, size);
	st = mailbox_open(mbox_spec, index_dir, &mb);
	if (size > 0 && (size < 5 || memcmp(data, "From ", 5) != 0)) {
		FUZZ_CHECK(st == MAILBOX_PERM, "a file not starting with \"From \" opened: %s", mailbox_status_name(st));
		return 0;
	}
	FUZZ_CHECK(st == MAILBOX_OK, "mailbox_open: %s", mailbox_status_name(st));
	count = split(data, size);
	if (count == MAX_MSGS) {
		mailbox_close(&mb);
		return 0; /* beyond the reference's table */
	}
	bool had_pseudo = count > 0 && pseudo(data, &spans[0]);

	if (had_pseudo) {
		memmove(spans, spans + 1, --count * sizeof(spans[0]));
		if (count == 0) {
			FUZZ_CHECK(mailbox_count(mb) == 0, "the folder-data message alone was served");
			mailbox_close(&mb);
			return 0;
		}
	}
	for (size_t i = 0; i < count; i++)
		all[i] = i;
	check_messages(mb, data, all, count, "parsed");
	mailbox_close(&mb);
	mb = open_box("indexed");
	check_messages(mb, data, all, count, "indexed");
	/* Delete every other message (which ones depends on the input) and apply it as QUIT would. */
	for (size_t i = 0; i < count; i++) {
		if ((i + size) % 2 == 0) {
			mailbox_set_deleted(mb, i, true);
			continue;
		}
		snprintf(uidls[nkept], sizeof(uidls[nkept]), "%s", mailbox_uidl(mb, i));
		kept[nkept++] = i;
	}
	st = mailbox_commit(mb);
	FUZZ_CHECK(st == MAILBOX_OK, "mailbox_commit: %s", mailbox_status_name(st));
	mailbox_close(&mb);
	/*
	 * Without a folder-data message at the top, a kept message that looks like one becomes the
	 * first and is read as one from then on, as UW-IMAP reads it (docs/MIGRATING.md).
	 */
	if (!had_pseudo && nkept > 0 && pseudo(data, &spans[kept[0]])) {
		memmove(kept, kept + 1, --nkept * sizeof(kept[0]));
		memmove(uidls, uidls + 1, nkept * sizeof(uidls[0]));
	}
	mb = open_box("after commit");
	check_messages(mb, data, kept, nkept, "after commit");
	/* RFC 1939 7: a message keeps its unique-id across sessions (unless it was a duplicate's). */
	for (size_t i = 0; i < nkept; i++)
		FUZZ_CHECK(deduplicated(uidls[i]) || strcmp(uidls[i], mailbox_uidl(mb, i)) == 0,
			   "message %zu had UIDL %s, after the commit %s", kept[i] + 1, uidls[i], mailbox_uidl(mb, i));
	mailbox_close(&mb);
	return 0;
}
