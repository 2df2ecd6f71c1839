/* export_map.c - the DRAC-compatible btree map that sendmail and Postfix read directly. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * The map has dracd.db's shape: key = the address as text without a NUL, value = the expiry in
 * decimal epoch seconds, in the file PATH.db for relay.export_map = PATH. Postfix (check_client_access btree:PATH) looks up the compressed IPv6 form
 * and treats an all-numeric value as OK; sendmail (Kdrac btree PATH) looks up ${client_addr}, which
 * for IPv6 is "IPv6:" and the uncompressed form (lower-cased by sendmail unless the map has -f).
 * Here the whole map is built under a temporary name in the same directory and renamed over the
 * old one, so a reader opens either the old or the new map: at the sweeper's start and to repair a
 * map that is missing, unreadable or was left half-written (map_update.c changes it in place).
 */

int relay_map_keys(const char *canon, char keys[RELAY_MAP_KEYS][RELAY_MAP_KEY_MAX])
{
	struct ip_addr ip;
	int n;

	if (ip_parse(canon, &ip) < 0)
		return 0;
	ip_format(&ip, keys[0]);
	if (ip.family != AF_INET6)
		return 1;
	n = snprintf(keys[1], RELAY_MAP_KEY_MAX, "IPv6:%x:%x:%x:%x:%x:%x:%x:%x",
		     ip.addr[0] << 8 | ip.addr[1], ip.addr[2] << 8 | ip.addr[3],
		     ip.addr[4] << 8 | ip.addr[5], ip.addr[6] << 8 | ip.addr[7],
		     ip.addr[8] << 8 | ip.addr[9], ip.addr[10] << 8 | ip.addr[11],
		     ip.addr[12] << 8 | ip.addr[13], ip.addr[14] << 8 | ip.addr[15]);
	if (n <= 0 || n >= RELAY_MAP_KEY_MAX)
		return 1;
	/* sendmail folds a key to lower case before the lookup unless the map has -f: write both. */
	memcpy(keys[2], keys[1], (size_t)n + 1);
	memcpy(keys[2], "ipv6", 4);
	return 3;
}

int64_t relay_map_until(const struct config *cfg, const struct relay_entry *e, time_t now)
{
	long long timeout = conf(cfg)->relay.timeout;
	struct ip_addr ip;

	if (relay_entry_expired(e, now, timeout) || ip_parse(e->ip, &ip) < 0)
		return 0;
	if (cidr_list_match(&conf(cfg)->relay.deny, &ip) != NULL)
		return 0;
	/* Export the moment it really stops counting (relay_entry_until's rule). */
	return relay_entry_until(e, timeout);
}

/* What the walk over the relay database needs to fill the new map. */
struct export_walk {
	const struct config *cfg;
	DB *map;
	time_t now;
	int64_t next_change;
	long written;
	int err;
};

/* export_one - put E into the map unless it is expired or its address is on the deny list. */
static int export_one(const struct relay_entry *e, void *arg)
{
	struct export_walk *w = arg;
	char keys[RELAY_MAP_KEYS][RELAY_MAP_KEY_MAX], val[24];
	int64_t until;
	int nkeys;

	if ((until = relay_map_until(w->cfg, e, w->now)) == 0)
		return 0;
	if (w->next_change == 0 || until < w->next_change)
		w->next_change = until;
	snprintf(val, sizeof(val), "%" PRId64, until);
	nkeys = relay_map_keys(e->ip, keys);
	for (int i = 0; i < nkeys; i++) {
		DBT k, v;

		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = keys[i];
		k.size = (u_int32_t)strlen(keys[i]);
		v.data = val;
		v.size = (u_int32_t)strlen(val);
		if ((w->err = w->map->put(w->map, NULL, &k, &v, 0)) != 0)
			return 1;
	}
	w->written++;
	return 0;
}

/* write_map - build the map file TMP from DB; 0 or -1. */
static int write_map(const struct config *cfg, struct relaydb *db, const char *tmp, time_t now,
		     int64_t *next_change)
{
	struct export_walk w;
	int ret, rc = -1;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.now = now;
	if ((ret = db_create(&w.map, NULL, 0)) != 0) {
		log_err("relaydb: export map %s: %s", tmp, db_strerror(ret));
		return -1;
	}
	if ((ret = w.map->open(w.map, NULL, tmp, NULL, DB_BTREE, DB_CREATE | DB_EXCL, 0644)) != 0) {
		log_err("relaydb: export map %s: %s", tmp, db_strerror(ret));
		w.map->close(w.map, 0);
		return -1;
	}
	if (relaydb_foreach(db, export_one, &w) == 0 && w.err == 0)
		rc = 0;
	else if (w.err != 0)
		log_err("relaydb: export map %s: %s", tmp, db_strerror(w.err));
	if ((ret = w.map->close(w.map, 0)) != 0) {
		log_err("relaydb: export map %s: close: %s", tmp, db_strerror(ret));
		rc = -1;
	}
	if (next_change != NULL)
		*next_change = w.next_change;
	return rc;
}

/* sync_path - fsync a file or directory so the rename survives a crash with its contents. */
static int sync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (!dir && rc == 0)
		rc = fchmod(fd, 0644);  /* the MTA reads it as another user; our umask must not hide it */
	close(fd);
	return rc;
}

int relay_map_paths(const struct config *cfg, struct relay_map_paths *p)
{
	/* Like makemap and postmap, the map named PATH lives in the file PATH.db. */
	const char *map = conf(cfg)->relay.export_map;
	const char *slash = strrchr(map, '/');

	memset(p, 0, sizeof(*p));
	if (map[0] == '\0')
		return 0;
	if (snprintf(p->db, sizeof(p->db), "%s.db", map) >= (int)sizeof(p->db) ||
	    snprintf(p->lock, sizeof(p->lock), "%s.lock", map) >= (int)sizeof(p->lock) ||
	    snprintf(p->tmp, sizeof(p->tmp), "%s.tmp.%ld", p->db, (long)getpid()) >= (int)sizeof(p->tmp) ||
	    snprintf(p->dir, sizeof(p->dir), "%.*s", slash == NULL ? 1 : (int)(slash - map + 1),
		     slash == NULL ? "." : map) >= (int)sizeof(p->dir)) {
		log_err("relaydb: export map %s: path too long", map);
		return -1;
	}
	return 1;
}

int relay_map_lock(const struct relay_map_paths *p)
{
	bool armed;
	int fd, rc;

	if ((fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_err("relaydb: %s: %s", p->lock, strerror(errno));
		return -1;
	}
	/* Behind a rebuild that may take a while: a wait the watchdog does not count. */
	armed = relaydb_watchdog_suspend();
	rc = flock(fd, LOCK_EX);
	relaydb_watchdog_resume(armed);
	if (rc < 0) {
		log_err("relaydb: %s: lock: %s", p->lock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int relay_map_rebuild(const struct config *cfg, struct relaydb *db, const struct relay_map_paths *p,
		      int lockfd, time_t now, int64_t *next_change)
{
	struct relay_map_state st = { .stale = 1 };
	int64_t next = 0;
	int rc = -1;

	unlink(p->tmp);  /* a leftover of a killed writer with our pid */
	if (write_map(cfg, db, p->tmp, now, &next) == 0 && sync_path(p->tmp, false) == 0) {
		if (rename(p->tmp, p->db) == 0) {
			sync_path(p->dir, true);
			rc = 0;
		} else {
			log_err("relaydb: export map %s: rename: %s", p->db, strerror(errno));
		}
	}
	if (rc < 0)
		unlink(p->tmp);
	else
		st = (struct relay_map_state){ .stale = 0, .next_expiry = next };
	relay_map_state_write(lockfd, &st);
	if (next_change != NULL)
		*next_change = next;
	return rc;
}

int relaydb_export(const struct config *cfg, struct relaydb *db, time_t now, int64_t *next_change)
{
	struct relay_map_paths p;
	int lockfd, r, rc;

	if (next_change != NULL)
		*next_change = 0;
	if ((r = relay_map_paths(cfg, &p)) <= 0)
		return r;
	if ((lockfd = relay_map_lock(&p)) < 0)
		return -1;
	rc = relay_map_rebuild(cfg, db, &p, lockfd, now, next_change);
	close(lockfd);  /* releases the flock */
	return rc;
}
