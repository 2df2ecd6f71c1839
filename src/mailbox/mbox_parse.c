/* mbox_parse.c - split an mbox into messages: boundaries, POP3 sizes and UIDLs, one step per line. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The format is the one Debian's delivery agents write (mboxo/mboxrd): a message starts
 * with a line beginning "From " at the start of the file or after an empty line ("\n" or
 * "\r\n"). That empty line separates messages and belongs to neither; the From_ line is not
 * part of the message either. ">From " lines are left as they are, Content-Length: is
 * ignored, NUL bytes are data. A file that does not begin with "From " is refused with
 * MAILBOX_PERM rather than taken as one message: a commit rewrites the file, and we will
 * not rewrite something that may not be a mailbox at all.
 *
 * The scan steps from LF to LF with memchr() over the mapped file, counting the LFs that
 * will gain a CR, so sizes cost no second pass.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "mailbox/mbox.h"

/* Header bytes examined per message for X-UIDL and the digest: headers beyond are rare and unneeded. */
#define HDR_SCAN_MAX (64 * 1024)
/* The digest covers the From_ line and the first header bytes: enough to tell deliveries apart. */
#define FROM_HASH_MAX 1024
#define HDR_HASH_MAX 2048

/* Headers that MUAs and other servers rewrite in place: they must not change a UIDL. */
static const char *const volatile_headers[] = {
	"status", "x-status", "x-keywords", "x-uid", "x-imap", "x-imapbase", "content-length", "lines",
};

/* header_is - whether LINE[0..LEN) is header NAME (case-insensitive, followed by ':'). */
static bool header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* header_volatile - whether LINE starts one of volatile_headers. */
static bool header_volatile(const char *line, size_t len)
{
	for (size_t i = 0; i < sizeof(volatile_headers) / sizeof(volatile_headers[0]); i++)
		if (header_is(line, len, volatile_headers[i]))
			return true;
	return false;
}

/* xuidl_value - qpopper's X-UIDL value from header LINE[0..LEN) into OUT, if it is a valid UIDL. */
static bool xuidl_value(const char *line, size_t len, char *out)
{
	size_t a = strlen("x-uidl:");
	size_t b = len;

	while (a < b && (line[a] == ' ' || line[a] == '\t'))
		a++;
	while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t' || line[b - 1] == '\r'))
		b--;
	if (!uidl_valid(line + a, b - a))
		return false;
	memcpy(out, line + a, b - a);
	out[b - a] = '\0';
	return true;
}

/*
 * message_uidl - M's X-UIDL if it has a valid one that MB may believe (mbox_xuidl_take), else
 * a digest of its From_ line and stable headers.
 */
static int message_uidl(struct mailbox *mb, struct mailbox_msg *m, const char *map)
{
	char buf[FROM_HASH_MAX + HDR_HASH_MAX];
	size_t n = m->start - m->off < FROM_HASH_MAX ? (size_t)(m->start - m->off) : FROM_HASH_MAX;
	size_t hn = 0;
	const char *p = map + m->start;
	const char *end = p + (m->len < HDR_SCAN_MAX ? m->len : HDR_SCAN_MAX);
	bool skipping = false;

	memcpy(buf, map + m->off, n);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl + 1 : end;
		size_t content = (size_t)((nl != NULL ? nl : end) - p);

		if (content == 0 || (content == 1 && p[0] == '\r'))
			break;
		if (p[0] != ' ' && p[0] != '\t') {
			bool xuidl = header_is(p, content, "x-uidl");

			if (xuidl && !mb->identity_only && xuidl_value(p, content, m->uidl) &&
			    mbox_xuidl_take(mb, m->uidl))
				return 0;
			skipping = header_volatile(p, content) || (xuidl && mb->identity_only);
		}
		if (!skipping && hn < HDR_HASH_MAX) {
			size_t c = (size_t)(le - p) < HDR_HASH_MAX - hn ? (size_t)(le - p) : HDR_HASH_MAX - hn;

			memcpy(buf + n + hn, p, c);
			hn += c;
		}
		p = le;
	}
	return uidl_hash(buf, n + hn, m->uidl);
}

/* scan_message - fill M for the message whose From_ line is at OFF; returns where the next one starts. */
static uint64_t scan_message(struct mailbox_msg *m, const char *map, uint64_t off, uint64_t size)
{
	const char *end = map + size;
	const char *nl = memchr(map + off, '\n', (size_t)(size - off));
	const char *p;
	uint64_t bare = 0;
	uint64_t cend;
	bool prev_empty = false;
	size_t prev_len = 0;

	m->off = off;
	m->start = nl != NULL ? (uint64_t)(nl + 1 - map) : size;
	for (p = map + m->start; p < end;) {
		if (prev_empty && end - p >= 5 && memcmp(p, "From ", 5) == 0)
			break;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			prev_empty = false;
			p = end;
			break;
		}
		/* nl[-1] is inside the map: the From_ line ends in the LF before m->start. */
		bare += nl[-1] != '\r';
		prev_len = (size_t)(nl - p) + 1;
		prev_empty = prev_len == 1 || (prev_len == 2 && p[0] == '\r');
		p = nl + 1;
	}
	m->span_end = (uint64_t)(p - map);
	m->from_hash = checksum32(map + off, m->span_end - off < MBOX_SPOT_BYTES ? m->span_end - off : MBOX_SPOT_BYTES);
	cend = m->span_end;
	if (prev_empty) {
		/* The separating empty line (or the one an MDA left at the end of the file). */
		cend -= prev_len;
		bare -= prev_len == 1;
	}
	m->len = cend - m->start;
	m->size = m->len + bare;
	if (m->len > 0 && map[cend - 1] != '\n')
		m->size += map[cend - 1] == '\r' ? 1 : 2;
	return m->span_end;
}

enum mailbox_status mbox_parse(struct mailbox *mb, const char *map, uint64_t from, uint64_t size)
{
	uint64_t pos = from;

	if (pos < size && (size - pos < 5 || memcmp(map + pos, "From ", 5) != 0)) {
		if (from == 0)
			log_err("mailbox %s: does not begin with a \"From \" line: not an mbox file", mb->path);
		return MAILBOX_PERM;
	}
	while (pos < size) {
		struct mailbox_msg *m = mailbox_add_msg(mb);

		if (m == NULL)
			return MAILBOX_TEMP;
		pos = scan_message(m, map, pos, size);
		if (message_uidl(mb, m, map) < 0)
			return MAILBOX_TEMP;
	}
	return MAILBOX_OK;
}

/* UW-IMAP's (c-client's) folder-data message: "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA". */
#define PSEUDO_SUBJECT "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"
/* Its headers are short: From_, Date, From, Subject, Message-ID, X-IMAP, Status. */
#define PSEUDO_SCAN 4096

/* pseudo_headers - whether the header block H[0..N) has UW-IMAP's subject and its X-IMAP header. */
static bool pseudo_headers(const char *h, size_t n)
{
	bool subject = false, ximap = false;
	const char *p = h, *end = h + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		size_t sl = strlen("subject:");

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		if (header_is(p, len, "x-imap"))
			ximap = true;
		if (header_is(p, len, "subject")) {
			while (sl < len && (p[sl] == ' ' || p[sl] == '\t'))
				sl++;
			subject = len - sl == strlen(PSEUDO_SUBJECT) && memcmp(p + sl, PSEUDO_SUBJECT, len - sl) == 0;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return subject && ximap;
}

bool mbox_is_pseudo(int fd, const struct mailbox_msg *m)
{
	char buf[PSEUDO_SCAN];
	size_t want = m->len < sizeof(buf) ? (size_t)m->len : sizeof(buf);
	ssize_t r;

	do
		r = pread(fd, buf, want, (off_t)m->start);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)want && pseudo_headers(buf, want);
}
