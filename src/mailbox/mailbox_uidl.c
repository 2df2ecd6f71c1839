/* mailbox_uidl.c - unique-id helpers shared by the drivers: digests, validity, de-duplication. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "mailbox/mailbox_impl.h"

/*
 * UIDLs must never change for a message that did not change, so the digest is fixed forever:
 * the first 128 bits of SHA-256, in lower-case hex. The algorithm object and context are
 * fetched once per process (a fetch per message would cost more than hashing the headers),
 * and once for all sessions when the master calls mailbox_preload before forking them.
 */

int uidl_hash(const void *buf, size_t len, char *out)
{
	static EVP_MD *md;
	static EVP_MD_CTX *ctx;
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (ctx == NULL)
		ctx = EVP_MD_CTX_new();
	if (md == NULL || ctx == NULL || !EVP_DigestInit_ex2(ctx, md, NULL) ||
	    !EVP_DigestUpdate(ctx, buf, len) || !EVP_DigestFinal_ex(ctx, d, &dlen) || dlen < 16) {
		log_err("mailbox: SHA-256 is not available from OpenSSL");
		return -1;
	}
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

void mailbox_preload(void)
{
	char digest[33];

	/* One digest, not just the fetch: the context's SHA-256 state is allocated by the first one. */
	(void)uidl_hash("", 0, digest);
}

bool uidl_valid(const char *s, size_t n)
{
	if (n == 0 || n > MAILBOX_UIDL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

uint32_t checksum32(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

uint64_t checksum64(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* cmp_by_uidl - order message numbers by UIDL, then by number, so the first copy keeps its id. */
static int cmp_by_uidl(const void *a, const void *b, void *arg)
{
	const struct mailbox *mb = arg;
	size_t x = *(const size_t *)a;
	size_t y = *(const size_t *)b;
	int c = strcmp(mb->msgs[x].uidl, mb->msgs[y].uidl);

	return c != 0 ? c : (x > y) - (x < y);
}

/* cmp_str - bsearch comparator over the sorted snapshot of UIDLs. */
static int cmp_str(const void *key, const void *elem)
{
	return strcmp(key, elem);
}

typedef char uidl_buf[MAILBOX_UIDL_MAX + 1];

/* renumber_pass - give the 2nd, 3rd... copy of each UIDL a ".N" suffix unused in the snapshot. */
static size_t renumber_pass(struct mailbox *mb, const size_t *ix, uidl_buf *snap)
{
	size_t n = mb->count;
	size_t changed = 0;

	for (size_t k = 0; k < n; k++)
		memcpy(snap[k], mb->msgs[ix[k]].uidl, sizeof(uidl_buf));
	for (size_t a = 0, b; a < n; a = b) {
		unsigned long suffix = 1;

		for (b = a + 1; b < n && strcmp(snap[b], snap[a]) == 0; b++) {
			char cand[MAILBOX_UIDL_MAX + 1];

			do {
				char tail[24];
				int tl = snprintf(tail, sizeof(tail), ".%lu", ++suffix);
				size_t keep = strlen(snap[a]);

				if (keep + (size_t)tl > MAILBOX_UIDL_MAX)
					keep = MAILBOX_UIDL_MAX - (size_t)tl;
				memcpy(cand, snap[a], keep);
				memcpy(cand + keep, tail, (size_t)tl + 1);
			} while (bsearch(cand, snap, n, sizeof(uidl_buf), cmp_str) != NULL);
			memcpy(mb->msgs[ix[b]].uidl, cand, sizeof(cand));
			changed++;
		}
	}
	return changed;
}

int uidl_make_unique(struct mailbox *mb)
{
	size_t n = mb->count;
	size_t *ix;
	uidl_buf *snap;
	int pass;

	if (n < 2)
		return 0;
	ix = calloc(n, sizeof(*ix));
	snap = calloc(n, sizeof(*snap));
	if (ix == NULL || snap == NULL) {
		free(ix);
		free(snap);
		log_err("mailbox %s: out of memory checking %zu UIDLs", mb->path, n);
		return -1;
	}
	/* Suffixes can only collide with each other when a long id had to be cut; a few passes settle it. */
	for (pass = 0; pass < 8; pass++) {
		for (size_t i = 0; i < n; i++)
			ix[i] = i;
		qsort_r(ix, n, sizeof(*ix), cmp_by_uidl, mb);
		if (renumber_pass(mb, ix, snap) == 0)
			break;
	}
	free(ix);
	free(snap);
	if (pass == 8) {
		log_err("mailbox %s: cannot make UIDLs unique", mb->path);
		return -1;
	}
	return 0;
}
