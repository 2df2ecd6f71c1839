/* mbox_index.c - the per-mailbox index of message offsets, sizes and UIDLs, so big mboxes open fast. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The index is a cache: a missing, damaged or stale one costs a parse, never a wrong answer.
 * It lives in the session's index directory as <scheme>-<name>-<hash>.idx, is written whole
 * to a temp file and renamed over, and is checked before use:
 *  - a checksum over the whole file, the mailbox path, and field sanity (contiguous spans);
 *  - the mbox's device and inode, and that it is at least as long as the indexed part;
 *  - spot checks: the first bytes of the first, middle and last indexed messages, or of
 *    every indexed message when the file has grown.
 * If size and mtime are what the index recorded, nothing is parsed. If the file only grew
 * (new mail), every record but the last is kept and parsing resumes at the last message,
 * since appended mail can only have extended or followed it.
 *
 * The index is also the record that popgate has indexed the mailbox before, which decides
 * whether a message's X-UIDL header (qpopper's UIDL) is believed. Anyone can send a message
 * with an X-UIDL header, so it is believed only for mail that was in the mailbox when popgate
 * first indexed it, as Dovecot does: with no intact index, every X-UIDL is qpopper's; with
 * one, only an X-UIDL the index already served (the last message re-parsed on growth, the
 * survivors of a rewrite by an MUA), and only for one message: a copy of it is someone's forgery. An empty or missing mailbox gets an empty index, so that
 * its first mail is not taken for qpopper's. Losing server.state_dir makes the next open a
 * first indexing again: see docs/MIGRATING.md.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "mailbox/mbox.h"

#define IDX_MAGIC "PGMBIDX1"
#define IDX_VERSION 1u
/* An index larger than this is not ours (100k messages take 12 MB). */
#define IDX_MAX_BYTES (1024ull * 1024 * 1024)

/* Native byte order: the index never leaves the machine that wrote it. */
struct idx_header {
	char magic[8];
	uint32_t version;
	uint32_t pathlen;
	uint64_t count;
	uint64_t dev;
	uint64_t ino;
	uint64_t file_size;     /* st_size when written */
	int64_t mtime_sec;
	int64_t mtime_nsec;
	uint64_t indexed;       /* end of the last indexed message */
};

struct idx_record {
	uint64_t off;
	uint64_t start;
	uint64_t len;
	uint64_t span_end;
	uint64_t size;
	uint32_t from_hash;
	uint8_t uidl_len;
	char uidl[MAILBOX_UIDL_MAX];
	char pad[5];
};

_Static_assert(sizeof(struct idx_record) == 120, "index record layout");

uint32_t mbox_spot_hash(int fd, uint64_t off, uint64_t end, bool *ok)
{
	char buf[MBOX_SPOT_BYTES];
	size_t want = end - off < MBOX_SPOT_BYTES ? (size_t)(end - off) : MBOX_SPOT_BYTES;
	ssize_t r;

	do
		r = pread(fd, buf, want, (off_t)off);
	while (r < 0 && errno == EINTR);
	*ok = r == (ssize_t)want;
	return *ok ? checksum32(buf, want) : 0;
}

/*
 * An index up to this size is read, not mapped: for the usual small mailbox (a few hundred
 * bytes of index) mmap, MAP_POPULATE's fault and munmap's TLB flush cost more than a read's copy.
 */
#define IDX_READ_MAX (64 * 1024)

/*
 * map_index - the whole index file at PATH: read into memory when small, else mapped read-only
 * and populated at once (a repeat login on a 100,000-message mbox reads 12 MB of it: mapping the
 * page cache costs no copy and no fault a page, as reading it into fresh memory did); NULL if
 * absent or unreadable. *LEN gets its length, *MAPPED whether unmap_index must munmap it.
 * popgate replaces an index by rename, never in place, so the mapped file does not shrink under
 * us; only its owner truncating it by hand could, and that ends only the owner's own session.
 */
static const char *map_index(const struct mailbox *mb, const char *path, size_t *len, bool *mapped)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	void *map = MAP_FAILED;
	char *buf = NULL;

	*len = 0;
	*mapped = false;
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("mailbox %s: cannot open index %s: %s", mb->path, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= IDX_MAX_BYTES) {
		if (st.st_size > IDX_READ_MAX) {
			map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		} else if ((buf = malloc((size_t)st.st_size)) != NULL &&
			   fileio_read_full(fd, buf, (size_t)st.st_size) != 1) {
			free(buf); /* unreadable, or cut short under us */
			buf = NULL;
		}
	}
	close(fd);
	if (buf == NULL && map == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	*mapped = buf == NULL;
	return buf != NULL ? buf : map;
}

/* unmap_index - give back what map_index returned. */
static void unmap_index(const char *data, size_t len, bool mapped)
{
	if (data != NULL && mapped)
		munmap((void *)(uintptr_t)data, len);
	else
		free((void *)(uintptr_t)data);
}

/*
 * record_at - record I of the records at RECS. They follow the header and the path in the file,
 * so they are not aligned for struct idx_record where they lie: each is copied out.
 */
static struct idx_record record_at(const char *recs, uint64_t i)
{
	struct idx_record r;

	memcpy(&r, recs + i * sizeof(r), sizeof(r));
	return r;
}

/* records_sane - whether the records form contiguous spans from 0 to H->indexed with valid UIDLs. */
static bool records_sane(const struct idx_header *h, const char *recs)
{
	uint64_t expect = 0;

	for (uint64_t i = 0; i < h->count; i++) {
		struct idx_record r = record_at(recs, i);

		if (r.off != expect || r.start <= r.off || r.start > r.span_end || r.len > r.span_end - r.start ||
		    r.size < r.len || !uidl_valid(r.uidl, r.uidl_len))
			return false;
		expect = r.span_end;
	}
	return expect == h->indexed;
}

/*
 * spots_match - whether indexed messages still begin as recorded: the first, middle and last
 * when the file looks untouched (each once: in a mailbox of one or two they are the same), every
 * one when it changed (a rewrite followed by new mail must not pass for mere growth; 100k small
 * preads cost far less than a parse).
 */
static bool spots_match(int fd, const struct idx_header *h, const char *recs, bool all)
{
	uint64_t pick[3] = { 0, h->count / 2, h->count - 1 };
	uint64_t n = all ? h->count : 3;

	for (uint64_t k = 0; k < n; k++) {
		struct idx_record x = record_at(recs, all ? k : pick[k]);
		bool ok;

		if (!all && k > 0 && pick[k] == pick[k - 1])
			continue;
		if (mbox_spot_hash(fd, x.off, x.span_end, &ok) != x.from_hash || !ok)
			return false;
	}
	return true;
}

/* header_intact - whether BUF[0..LEN) is an undamaged index of this mailbox path (maybe of an older file). */
static bool header_intact(const struct mailbox *mb, const char *buf, size_t len)
{
	struct idx_header h;
	uint64_t sum;
	size_t plen = strlen(mb->path);

	if (len < sizeof(h) + sizeof(sum))
		return false;
	memcpy(&h, buf, sizeof(h));
	memcpy(&sum, buf + len - sizeof(sum), sizeof(sum));
	return memcmp(h.magic, IDX_MAGIC, 8) == 0 && h.version == IDX_VERSION && h.pathlen == plen &&
	       h.count <= (len / sizeof(struct idx_record)) &&
	       len == sizeof(h) + plen + h.count * sizeof(struct idx_record) + sizeof(sum) &&
	       checksum64(buf, len - sizeof(sum)) == sum && memcmp(buf + sizeof(h), mb->path, plen) == 0;
}

/* header_usable - whether the intact index H is about this very file and holds messages. */
static bool header_usable(const struct idx_header *h, const struct stat *st)
{
	return h->dev == (uint64_t)st->st_dev && h->ino == (uint64_t)st->st_ino &&
	       h->indexed <= (uint64_t)st->st_size && h->count > 0;
}

/* known_cmp - qsort/bsearch order of the known UIDL table. */
static int known_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * note_known - remember the UIDLs an intact index served, even one about an older file (an MUA
 * rewrote the mbox): only these may come back from an X-UIDL header. -1 when out of memory.
 */
static int note_known(struct mailbox *mb, const char *recs, uint64_t n)
{
	mb->known = n > 0 ? calloc(n, sizeof(*mb->known)) : NULL;
	mb->known_used = n > 0 ? calloc(n, sizeof(*mb->known_used)) : NULL;
	if (n > 0 && (mb->known == NULL || mb->known_used == NULL))
		return -1;
	mb->known_count = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct idx_record r = record_at(recs, i);

		if (!uidl_valid(r.uidl, r.uidl_len))
			continue;
		memcpy(mb->known[mb->known_count], r.uidl, r.uidl_len);
		mb->known[mb->known_count++][r.uidl_len] = '\0';
	}
	if (mb->known_count > 0)
		qsort(mb->known, mb->known_count, sizeof(*mb->known), known_cmp);
	return 0;
}

bool mbox_xuidl_take(struct mailbox *mb, const char *uidl)
{
	char (*k)[MAILBOX_UIDL_MAX + 1];
	size_t i;

	if (mb->index_dir == NULL || mb->xuidl_any)
		return true;
	if (mb->known_count == 0)
		return false;
	k = bsearch(uidl, mb->known, mb->known_count, sizeof(*mb->known), known_cmp);
	if (k == NULL)
		return false;
	i = (size_t)(k - mb->known);
	if (mb->known_used[i])
		return false; /* served for another message already: this one is a copy */
	mb->known_used[i] = true;
	return true;
}

void mbox_untake_known(struct mailbox *mb)
{
	if (mb->known_used != NULL)
		memset(mb->known_used, 0, mb->known_count * sizeof(*mb->known_used));
}

void mbox_forget_known(struct mailbox *mb)
{
	free(mb->known);
	free(mb->known_used);
	mb->known = NULL;
	mb->known_used = NULL;
	mb->known_count = 0;
}

/* add_records - copy index records [0, N) into MB's message list. */
static bool add_records(struct mailbox *mb, const char *recs, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct mailbox_msg *m = mailbox_add_msg(mb);
		struct idx_record r = record_at(recs, i);

		if (m == NULL)
			return false;
		m->off = r.off;
		m->start = r.start;
		m->len = r.len;
		m->span_end = r.span_end;
		m->size = r.size;
		m->from_hash = r.from_hash;
		memcpy(m->uidl, r.uidl, r.uidl_len);
		m->uidl[r.uidl_len] = '\0';
	}
	return true;
}

/* use_records - add the index's records that still describe FD; see mbox_index_load. */
static void use_records(struct mailbox *mb, int fd, const struct idx_header *h, const char *recs,
			const struct stat *st, uint64_t *resume, bool *exact)
{
	bool same = h->indexed == (uint64_t)st->st_size && h->file_size == (uint64_t)st->st_size &&
		    h->mtime_sec == (int64_t)st->st_mtim.tv_sec && h->mtime_nsec == (int64_t)st->st_mtim.tv_nsec;
	bool grown = h->indexed < (uint64_t)st->st_size;
	uint64_t keep;

	if (!header_usable(h, st) || !records_sane(h, recs))
		return;
	*exact = same && spots_match(fd, h, recs, false);
	if (!*exact && !(grown && spots_match(fd, h, recs, true)))
		return;
	keep = *exact ? h->count : h->count - 1;
	if (add_records(mb, recs, keep)) {
		*resume = *exact ? h->indexed : record_at(recs, keep).off;
	} else {
		mb->count = 0;
		*exact = false;
	}
}

void mbox_index_load(struct mailbox *mb, int fd, const struct stat *st, uint64_t *resume, bool *exact)
{
	char path[4096];
	const char *data, *recs;
	size_t len = 0;
	bool mapped = false;
	struct idx_header h;

	*resume = 0;
	*exact = false;
	/* No intact index: popgate indexes this mailbox for the first time (or lost the index). */
	mb->xuidl_any = true;
	if (mb->index_dir == NULL || mailbox_state_path(mb, "idx", path, sizeof(path)) < 0)
		return;
	data = map_index(mb, path, &len, &mapped);
	if (data == NULL || !header_intact(mb, data, len))
		goto out;
	memcpy(&h, data, sizeof(h));
	recs = data + sizeof(h) + h.pathlen;
	mb->xuidl_any = false;
	if (fd >= 0)
		use_records(mb, fd, &h, recs, st, resume, exact);
	/*
	 * The known UIDLs decide only X-UIDL headers met while parsing: none are when the index
	 * describes the whole file, the usual repeat login (on a 100,000-message mbox the table
	 * was 7 MB and a sort of its strings at every login).
	 */
	if (!*exact && note_known(mb, recs, h.count) < 0) {
		mb->count = 0;
		*resume = 0;
		mb->xuidl_any = true;
		goto out;
	}
	for (size_t i = 0; !*exact && i < mb->count; i++)
		(void)mbox_xuidl_take(mb, mb->msgs[i].uidl); /* kept from the index: taken */
out:
	if (*resume == 0)
		log_debug("mailbox %s: index %s not usable, parsing the whole file", mb->path, path);
	unmap_index(data, len, mapped);
}

/* fill_index - lay out header, path, records and checksum for MSGS into BUF (LEN bytes). */
static void fill_index(const struct mailbox *mb, const struct mailbox_msg *msgs, size_t count,
		       const struct stat *st, char *buf, size_t len)
{
	struct idx_header h;
	size_t plen = strlen(mb->path);
	char *p = buf + sizeof(h) + plen;
	uint64_t sum;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IDX_MAGIC, 8);
	h.version = IDX_VERSION;
	h.pathlen = (uint32_t)plen;
	h.count = count;
	if (st != NULL) {
		h.dev = (uint64_t)st->st_dev;
		h.ino = (uint64_t)st->st_ino;
		h.file_size = (uint64_t)st->st_size;
		h.mtime_sec = (int64_t)st->st_mtim.tv_sec;
		h.mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	}
	h.indexed = count > 0 ? msgs[count - 1].span_end : 0;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), mb->path, plen);
	for (size_t i = 0; i < count; i++, p += sizeof(struct idx_record)) {
		struct idx_record r;

		memset(&r, 0, sizeof(r));
		r.off = msgs[i].off;
		r.start = msgs[i].start;
		r.len = msgs[i].len;
		r.span_end = msgs[i].span_end;
		r.size = msgs[i].size;
		r.from_hash = msgs[i].from_hash;
		r.uidl_len = (uint8_t)strlen(msgs[i].uidl);
		memcpy(r.uidl, msgs[i].uidl, r.uidl_len);
		memcpy(p, &r, sizeof(r));
	}
	sum = checksum64(buf, len - sizeof(sum));
	memcpy(buf + len - sizeof(sum), &sum, sizeof(sum));
}

int mbox_index_save(const struct mailbox *mb, const struct mailbox_msg *msgs, size_t count,
		    const struct stat *st)
{
	char path[4096];
	char tmp[4200];
	size_t len = sizeof(struct idx_header) + strlen(mb->path) + count * sizeof(struct idx_record) + 8;
	char *buf;
	int fd;
	int rc;

	if (mb->index_dir == NULL)
		return 0;
	if (mailbox_state_path(mb, "idx", path, sizeof(path)) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	buf = malloc(len);
	if (buf == NULL) {
		log_err("mailbox %s: out of memory writing index", mb->path);
		return -1;
	}
	fill_index(mb, msgs, count, st, buf, len);
	/* The session lock keeps other writers of this index out, so the temp name can be fixed. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("mailbox %s: cannot create index %s: %s", mb->path, tmp, strerror(errno));
		free(buf);
		return -1;
	}
	rc = fileio_write_all(fd, buf, len);
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0) {
		log_err("mailbox %s: cannot write index %s: %s", mb->path, path, strerror(errno));
		unlink(tmp);
	}
	free(buf);
	return rc;
}

void mbox_index_mark_empty(struct mailbox *mb)
{
	char path[4096];

	if (mb->index_dir == NULL || mailbox_state_path(mb, "idx", path, sizeof(path)) < 0 ||
	    access(path, F_OK) == 0 || errno != ENOENT)
		return;
	mbox_index_save(mb, NULL, 0, NULL); /* a cache write: failure is logged and costs nothing */
}
