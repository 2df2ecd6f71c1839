/* socketmap.c - the socketmap protocol: netstring framing, request checks, replies and the answer. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "relaydb/socketmap.h"

/* Digits of the longest length prefix we accept: more than any limit we set needs. */
#define FRAME_DIGITS_MAX 9

enum socketmap_frame socketmap_frame(const char *buf, size_t len, size_t max, const char **data, size_t *dlen,
				     size_t *used)
{
	size_t i = 0, n = 0;

	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		if (i == FRAME_DIGITS_MAX)
			return SOCKETMAP_FRAME_TOO_LONG;
		n = n * 10 + (size_t)(buf[i] - '0');
		i++;
	}
	if (i == len)
		return n > max ? SOCKETMAP_FRAME_TOO_LONG : SOCKETMAP_FRAME_MORE;
	/* djb's netstrings: no sign, no white space, no leading zero (but "0:,"). */
	if (i == 0 || buf[i] != ':' || (buf[0] == '0' && i > 1))
		return SOCKETMAP_FRAME_BAD;
	if (n > max)
		return SOCKETMAP_FRAME_TOO_LONG;
	if (len - i - 1 < n + 1)
		return SOCKETMAP_FRAME_MORE;
	if (buf[i + 1 + n] != ',')
		return SOCKETMAP_FRAME_BAD;
	*data = buf + i + 1;
	*dlen = n;
	*used = i + 2 + n;
	return SOCKETMAP_FRAME_OK;
}

/* visible - whether each of the N bytes of P is printable and not a space (0x21-0x7e). */
static bool visible(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

/* key_address - KEY (NUL-terminated) as an address into CANON; sendmail's "IPv6:" form included. */
static int key_address(const char *key, char canon[IP_TEXT_MAX])
{
	struct ip_addr ip;

	if (strncasecmp(key, "IPv6:", 5) == 0) {
		if (ip_parse(key + 5, &ip) < 0 || strchr(key + 5, ':') == NULL)
			return 0;
	} else if (ip_parse(key, &ip) < 0) {
		return 0;
	}
	ip_format(&ip, canon);
	return 1;
}

int socketmap_request(const char *payload, size_t len, char canon[IP_TEXT_MAX])
{
	const char *space = memchr(payload, ' ', len);
	char key[SOCKETMAP_KEY_MAX + 1];
	size_t nlen, klen;

	if (space == NULL)
		return -1;
	nlen = (size_t)(space - payload);
	klen = len - nlen - 1;
	if (nlen == 0 || nlen > SOCKETMAP_NAME_MAX || klen == 0 || klen > SOCKETMAP_KEY_MAX)
		return -1;
	if (!visible(payload, nlen) || !visible(space + 1, klen))
		return -1;
	memcpy(key, space + 1, klen);
	key[klen] = '\0';
	return key_address(key, canon);
}

size_t socketmap_reply(enum socketmap_status status, const char *text, char *out, size_t cap)
{
	static const char *const words[] = { "OK", "NOTFOUND", "TEMP", "PERM" };
	char body[SOCKETMAP_REPLY_MAX];
	int blen, n;

	if ((unsigned)status > SOCKETMAP_PERM)
		return 0;
	/* Postfix's and sendmail's clients both split the status word from the rest at one space. */
	blen = snprintf(body, sizeof(body), "%s %s", words[status],
			status == SOCKETMAP_NOTFOUND || text == NULL ? "" : text);
	if (blen < 0 || (size_t)blen >= sizeof(body))
		return 0;
	n = snprintf(out, cap, "%d:%s,", blen, body);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

enum socketmap_status socketmap_answer(const struct config *cfg, struct relaydb *db, const char *canon,
				       time_t now, char *value, size_t cap)
{
	struct relay_entry e;
	struct ip_addr ip;
	int found;

	value[0] = '\0';
	/* The DRAC map leaves out denied addresses, and so does the socketmap. */
	if (ip_parse(canon, &ip) == 0 && cidr_list_match(&conf(cfg)->relay.deny, &ip) != NULL)
		return SOCKETMAP_NOTFOUND;
	found = db != NULL ? relaydb_get(db, canon, &e) : -1;
	if (found < 0)
		memset(&e, 0, sizeof(e));
	switch (relay_entry_reason(cfg, found, &e, now)) {
	case RELAY_AUTHORIZED:
		snprintf(value, cap, "%" PRId64, relay_entry_until(&e, conf(cfg)->relay.timeout));
		return SOCKETMAP_OK;
	case RELAY_DB_ERROR:
		snprintf(value, cap, "the relay database cannot be read");
		return SOCKETMAP_TEMP;
	default:
		return SOCKETMAP_NOTFOUND;
	}
}

int socketmap_where_parse(const char *text, struct socketmap_where *w, const char **why)
{
	memset(w, 0, sizeof(*w));
	if (text[0] == '\0')
		return 0;
	if (strncmp(text, "unix:", 5) == 0) {
		if (text[5] != '/')
			return *why = "unix: needs an absolute path, e.g. unix:/run/popgate/socketmap", -1;
		if (strlen(text + 5) >= sizeof(w->path))
			return *why = "the socket path is too long for a unix socket", -1;
		w->is_unix = true;
		snprintf(w->path, sizeof(w->path), "%s", text + 5);
		return 1;
	}
	if (cfg_parse_listen(text, &w->inet, why) < 0)
		return -1;
	return 1;
}
