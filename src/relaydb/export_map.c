/* export_map.c - the DRAC-compatible btree map that sendmail and Postfix read directly. */

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
 * for IPv6 is "IPv6:" and the uncompressed form (lower-cased by sendmail unless the map has -f). The file is rebuilt under a temporary name in the
 * same directory and renamed over the old one, so a reader opens either the old or the new map.
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

/* What the walk over the relay database needs to fill the new map. */
struct export_walk {
	const struct config *cfg;
	DB *map;
	time_t now;
	long long timeout;
	int64_t next_change;
	long written;
	int err;
};

/* export_one - put E into the map unless it is expired or its address is on the deny list. */
static int export_one(const struct relay_entry *e, void *arg)
{
	struct export_walk *w = arg;
	char keys[RELAY_MAP_KEYS][RELAY_MAP_KEY_MAX], val[24];
	struct ip_addr ip;
	int64_t until = e->expires;
	int nkeys;

	if (relay_entry_expired(e, w->now, w->timeout) || ip_parse(e->ip, &ip) < 0)
		return 0;
	if (cidr_list_match(cfg_cidrs(w->cfg, "relay.deny"), &ip) != NULL)
		return 0;
	/* A login entry also ends at last + timeout; export the moment it really stops counting. */
	if (strcmp(e->proto, RELAY_PROTO_MANUAL) != 0 && e->last + w->timeout < until)
		until = e->last + w->timeout;
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
	w.timeout = cfg_duration(cfg, "relay.timeout");
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

/* map_lock - serialise writers (the sweeper and popgatectl) on PATH.lock; the fd, or -1. */
static int map_lock(const char *path)
{
	char lock[PATH_MAX];
	int fd;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return -1;
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_err("relaydb: %s: %s", lock, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int relaydb_export(const struct config *cfg, struct relaydb *db, time_t now, int64_t *next_change)
{
	/* Like makemap and postmap, the map named PATH lives in the file PATH.db. */
	const char *map = cfg_str(cfg, "relay.export_map");
	char path[PATH_MAX], tmp[PATH_MAX + 32], dir[PATH_MAX];
	const char *slash = strrchr(map, '/');
	int lockfd, rc = -1;

	if (next_change != NULL)
		*next_change = 0;
	if (map[0] == '\0')
		return 0;
	if (snprintf(path, sizeof(path), "%s.db", map) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 : (int)(slash - map + 1),
		     slash == NULL ? "." : map) >= (int)sizeof(dir)) {
		log_err("relaydb: export map %s: path too long", map);
		return -1;
	}
	if ((lockfd = map_lock(map)) < 0)
		return -1;
	unlink(tmp);  /* a leftover of a killed writer with our pid */
	if (write_map(cfg, db, tmp, now, next_change) == 0 && sync_path(tmp, false) == 0) {
		if (rename(tmp, path) == 0) {
			sync_path(dir, true);
			rc = 0;
		} else {
			log_err("relaydb: export map %s: rename: %s", path, strerror(errno));
		}
	}
	if (rc < 0)
		unlink(tmp);
	close(lockfd);  /* releases the flock */
	return rc;
}
