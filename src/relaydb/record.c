/* record.c - the on-disk form of one relay authorization, versioned and length-checked. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "relaydb/relaydb_int.h"

/*
 * Layout, all integers big-endian so a db_dump reads the same on any host:
 *   0      version (1)
 *   1..8   first     9..16 last     17..24 expires
 *   25..28 logins    29 user length 30 proto length
 *   31..   user bytes, then proto bytes (no NULs)
 */
#define REC_VERSION 1
#define REC_HEADER 31

static void put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(u & 0xff);
		u >>= 8;
	}
}

static int64_t get64(const uint8_t *p)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

size_t relay_record_encode(const struct relay_entry *e, uint8_t *buf, size_t len)
{
	size_t ulen = strnlen(e->user, RELAY_USER_MAX - 1);
	size_t plen = strnlen(e->proto, RELAY_PROTO_MAX - 1);
	size_t total = REC_HEADER + ulen + plen;

	if (total > len)
		return 0;
	buf[0] = REC_VERSION;
	put64(buf + 1, e->first);
	put64(buf + 9, e->last);
	put64(buf + 17, e->expires);
	buf[25] = (uint8_t)(e->logins >> 24);
	buf[26] = (uint8_t)(e->logins >> 16);
	buf[27] = (uint8_t)(e->logins >> 8);
	buf[28] = (uint8_t)e->logins;
	buf[29] = (uint8_t)ulen;
	buf[30] = (uint8_t)plen;
	memcpy(buf + REC_HEADER, e->user, ulen);
	memcpy(buf + REC_HEADER + ulen, e->proto, plen);
	return total;
}

/* text_ok - a stored name must be printable without NUL, or it did not come from us. */
static bool text_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

int relay_record_decode(const void *data, size_t len, const char *ip, size_t iplen, struct relay_entry *e)
{
	const uint8_t *p = data;
	size_t ulen, plen;

	memset(e, 0, sizeof(*e));
	if (len < REC_HEADER || p[0] != REC_VERSION || iplen == 0 || iplen >= IP_TEXT_MAX)
		return -1;
	ulen = p[29];
	plen = p[30];
	if (ulen >= RELAY_USER_MAX || plen >= RELAY_PROTO_MAX || len != REC_HEADER + ulen + plen)
		return -1;
	if (!text_ok(p + REC_HEADER, ulen + plen))
		return -1;
	e->first = get64(p + 1);
	e->last = get64(p + 9);
	e->expires = get64(p + 17);
	e->logins = (uint32_t)p[25] << 24 | (uint32_t)p[26] << 16 | (uint32_t)p[27] << 8 | p[28];
	memcpy(e->ip, ip, iplen);
	e->ip[iplen] = '\0';
	memcpy(e->user, p + REC_HEADER, ulen);
	memcpy(e->proto, p + REC_HEADER + ulen, plen);
	return 0;
}
