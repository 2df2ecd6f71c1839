/* drac_import.c - take over the dracd.db of an existing DRAC installation. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/* Protocol recorded for imported entries, so popgatectl list shows where they came from. */
#define DRAC_PROTO "drac"

/*
 * drac_key - the canonical address of a dracd.db key: text with or without a trailing NUL, and
 * possibly in sendmail's "IPv6:" spelling. 0 or -1.
 */
static int drac_key(const DBT *key, char out[IP_TEXT_MAX])
{
	char text[RELAY_MAP_KEY_MAX + 1];
	size_t n = key->size;
	const char *p = text;

	if (n > 0 && ((const char *)key->data)[n - 1] == '\0')
		n--;
	if (n == 0 || n > RELAY_MAP_KEY_MAX || memchr(key->data, '\0', n) != NULL)
		return -1;
	memcpy(text, key->data, n);
	text[n] = '\0';
	if (strncasecmp(text, "IPv6:", 5) == 0)
		p += 5;
	return ip_canonical(p, out);
}

/* drac_value - the expiry time stored as decimal text (with or without a NUL). 0 or -1. */
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

/* import_one - authorize one dracd.db record unless it is expired or we already hold a longer one. */
static int import_one(struct relaydb *db, const DBT *key, const DBT *val, time_t now)
{
	struct relay_entry cur;
	char ip[IP_TEXT_MAX];
	long long expires;
	int found;

	if (drac_key(key, ip) < 0 || drac_value(val, &expires) < 0 || expires <= (long long)now)
		return 0;
	found = relaydb_get(db, ip, &cur);
	if (found < 0)
		return -1;
	if (found == 1 && cur.expires >= expires)
		return 1;  /* the same address under both spellings, or a fresher login */
	return relaydb_authorize(db, ip, "", DRAC_PROTO, expires - (long long)now, now) < 0 ? -1 : 1;
}

long relaydb_import_drac(struct relaydb *db, const char *path, time_t now, long *skipped)
{
	DB *map = NULL;
	DBC *cur = NULL;
	DBT key, val;
	long imported = 0, bad = 0;
	int ret, r;

	if ((ret = db_create(&map, NULL, 0)) != 0 ||
	    (ret = map->open(map, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0)) != 0 ||
	    (ret = map->cursor(map, NULL, &cur, 0)) != 0) {
		log_err("relaydb: import %s: %s", path, db_strerror(ret));
		if (map != NULL)
			map->close(map, 0);
		return -1;
	}
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	while ((ret = cur->get(cur, &key, &val, DB_NEXT)) == 0) {
		if ((r = import_one(db, &key, &val, now)) < 0)
			break;
		if (r == 0)
			bad++;
		else
			imported++;
	}
	cur->close(cur);
	map->close(map, 0);
	if (skipped != NULL)
		*skipped = bad;
	if (ret != DB_NOTFOUND) {
		if (ret != 0)
			log_err("relaydb: import %s: %s", path, db_strerror(ret));
		return -1;
	}
	return imported;
}
