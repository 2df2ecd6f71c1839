/* drac_import.c - take over the dracd.db of an existing DRAC installation, saying what was left out and why. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The map was written by rpc.dracd (or by sendmail's makemap, or by popgate's own export map),
 * so keys come in several spellings: "192.0.2.9" with or without a trailing NUL, sendmail's
 * "IPv6:2001:db8::9", a bare IPv6 address (rpc.dracd's inet_ntop form), and "192.0.2.9/32" or
 * "2001:db8::9/128" from DRAC built with -DCIDR_KEY; values are the expiry time, rpc.dracd's
 * login time + -e limit.
 * A wider CIDR key authorizes a whole network, which a relay authorization (one address that
 * logged in) cannot express: it is skipped and the operator told to put it in relay.allow.
 * Older DRAC builds wrote Berkeley DB 1.85 files, which DB 5.3 cannot open; they are recognised
 * by their magic number and refused with the command that converts them.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/drac_import.h"
#include "relaydb/relaydb_int.h"

/* Protocol recorded for imported entries, so popgatectl list shows where they came from. */
#define DRAC_PROTO "drac"

/* DB 1.85 keeps its magic in the first word; DB 2 and later at byte 12, after the LSN and page number. */
#define DB185_BTREE_MAGIC 0x053162u
#define DB185_HASH_MAGIC 0x061561u

const char *drac_skip_name(enum drac_skip why)
{
	switch (why) {
	case DRAC_SKIP_NOT_ADDRESS: return "not an address";
	case DRAC_SKIP_NETWORK: return "network";
	case DRAC_SKIP_BAD_VALUE: return "bad value";
	case DRAC_SKIP_COUNT: break;
	}
	return "?";
}

/* printable - KEY's bytes with anything unprintable as \xNN, for the report. */
static void printable(const DBT *key, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < key->size && o + 5 < cap; i++) {
		unsigned char c = ((const unsigned char *)key->data)[i];

		if (c >= 0x21 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* key_text - the key as a C string without its trailing NUL; -1 if empty, too long or with inner NULs. */
static int key_text(const DBT *key, char text[RELAY_MAP_KEY_MAX + 1])
{
	size_t n = key->size;

	if (n > 0 && ((const char *)key->data)[n - 1] == '\0')
		n--;
	if (n == 0 || n > RELAY_MAP_KEY_MAX || memchr(key->data, '\0', n) != NULL)
		return -1;
	memcpy(text, key->data, n);
	text[n] = '\0';
	return 0;
}

/* drac_key - the canonical address of a key, or the reason it has none. 0, or -1 with *WHY set. */
static int drac_key(const DBT *key, char out[IP_TEXT_MAX], enum drac_skip *why, char *reason, size_t cap)
{
	char text[RELAY_MAP_KEY_MAX + 1];
	char *p = text, *slash;
	struct ip_addr ip;

	*why = DRAC_SKIP_NOT_ADDRESS;
	snprintf(reason, cap, "not an IPv4 or IPv6 address");
	if (key_text(key, text) < 0)
		return -1;
	if (strncasecmp(text, "IPv6:", 5) == 0)
		p += 5;
	slash = strchr(p, '/');
	if (slash != NULL)
		*slash = '\0';
	if (ip_parse(p, &ip) < 0)
		return -1;
	if (slash != NULL) {
		char *end;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		unsigned long host = ip.family == AF_INET ? 32 : 128;

		if (slash[1] == '\0' || *end != '\0' || bits > host) {
			snprintf(reason, cap, "bad prefix length /%s", slash + 1);
			return -1;
		}
		if (bits != host) {
			*why = DRAC_SKIP_NETWORK;
			snprintf(reason, cap, "a /%lu network is not one address; to let it relay, add %s/%lu to "
				 "relay.allow", bits, p, bits);
			return -1;
		}
	}
	ip_format(&ip, out);
	return 0;
}

/* drac_value - the expiry stored as decimal text (with or without a NUL: TERM_KD builds). 0 or -1. */
static int drac_value(const DBT *val, long long *out)
{
	char text[24], *end;
	size_t n = val->size;

	if (n > 0 && ((const char *)val->data)[n - 1] == '\0')
		n--;
	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, val->data, n);
	text[n] = '\0';
	errno = 0;
	*out = strtoll(text, &end, 10);
	return errno == 0 && *end == '\0' && *out > 0 ? 0 : -1;
}

/* One import in progress. */
struct import {
	struct relaydb *db;
	time_t now;
	struct drac_report *rep;
	drac_skip_fn skip_fn;
	void *arg;
};

/* skip - count and report a record left out. */
static void skip(struct import *im, const DBT *key, enum drac_skip why, const char *reason)
{
	char shown[RELAY_MAP_KEY_MAX * 4 + 8];

	im->rep->skipped[why]++;
	if (im->skip_fn != NULL) {
		printable(key, shown, sizeof(shown));
		im->skip_fn(im->arg, shown, why, reason);
	}
}

/* import_one - authorize one record unless skipped, expired or already held for longer. 0 or -1 (DB error). */
static int import_one(struct import *im, const DBT *key, const DBT *val)
{
	struct relay_entry cur;
	char ip[IP_TEXT_MAX], reason[160];
	enum drac_skip why;
	long long expires;
	int found;

	if (drac_key(key, ip, &why, reason, sizeof(reason)) < 0) {
		skip(im, key, why, reason);
		return 0;
	}
	if (drac_value(val, &expires) < 0) {
		skip(im, key, DRAC_SKIP_BAD_VALUE, "the value is not a time in epoch seconds");
		return 0;
	}
	if (expires <= (long long)im->now) {
		im->rep->expired++;
		return 0;
	}
	found = relaydb_get(im->db, ip, &cur);
	if (found < 0)
		return -1;
	if (found == 1 && cur.expires >= expires) {
		im->rep->kept++;  /* the same address under two spellings, or a fresher login */
		return 0;
	}
	if (relaydb_authorize(im->db, ip, "", DRAC_PROTO, expires - (long long)im->now, im->now) < 0)
		return -1;
	im->rep->imported++;
	return 0;
}

/* is_db185 - whether PATH starts with a Berkeley DB 1.85 btree or hash magic, in either byte order. */
static bool is_db185(const char *path)
{
	unsigned char b[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool yes = false;

	if (fd >= 0 && read(fd, b, 4) == 4) {
		uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		uint32_t be = (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;

		yes = le == DB185_BTREE_MAGIC || le == DB185_HASH_MAGIC || be == DB185_BTREE_MAGIC ||
		      be == DB185_HASH_MAGIC;
	}
	if (fd >= 0)
		close(fd);
	return yes;
}

/* open_map - open the DRAC map read-only; on failure log why and how to fix it. */
static enum drac_result open_map(const char *path, DB **map)
{
	int ret;

	if (is_db185(path)) {
		size_t n = strlen(path);
		/* dracd.db -> dracd.db5, as docs/MIGRATING.md spells it */
		const char *ext = n > 3 && strcmp(path + n - 3, ".db") == 0 ? "5" : ".db5";

		log_err("relaydb: import %s: a Berkeley DB 1.85 file (older DRAC builds), which DB 5.3 cannot "
			"read; convert it first: db5.3_dump185 %s | db5.3_load -t btree %s%s "
			"(where there is no db_dump185, as on Debian: tools/db185-dump %s | db5.3_load -t btree "
			"%s%s, with libdb1-compat), then import %s%s",
			path, path, path, ext, path, path, ext, path, ext);
		return DRAC_BAD_FILE;
	}
	if ((ret = db_create(map, NULL, 0)) != 0 ||
	    (ret = (*map)->open(*map, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0)) != 0) {
		log_err("relaydb: import %s: %s", path, ret == EINVAL ? "not a Berkeley DB file" : db_strerror(ret));
		if (*map != NULL)
			(*map)->close(*map, 0);
		*map = NULL;
		return DRAC_BAD_FILE;
	}
	return DRAC_OK;
}

enum drac_result relaydb_import_drac(struct relaydb *db, const char *path, time_t now,
				     struct drac_report *rep, drac_skip_fn skip_fn, void *arg)
{
	struct import im = { db, now, rep, skip_fn, arg };
	DB *map = NULL;
	DBC *cur = NULL;
	DBT key, val;
	enum drac_result r;
	int ret;

	memset(rep, 0, sizeof(*rep));
	if ((r = open_map(path, &map)) != DRAC_OK)
		return r;
	if ((ret = map->cursor(map, NULL, &cur, 0)) != 0) {
		log_err("relaydb: import %s: %s", path, db_strerror(ret));
		map->close(map, 0);
		return DRAC_BAD_FILE;
	}
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	while ((ret = cur->get(cur, &key, &val, DB_NEXT)) == 0)
		if (import_one(&im, &key, &val) < 0)
			break;
	cur->close(cur);
	map->close(map, 0);
	if (ret == 0)
		return DRAC_DB_ERROR; /* relaydb logged it */
	if (ret != DB_NOTFOUND) {
		log_err("relaydb: import %s: reading: %s", path, db_strerror(ret));
		return DRAC_BAD_FILE;
	}
	return DRAC_OK;
}
