/* sweeper.c - the sweeper process: expire entries, checkpoint, build the export map and expire its keys. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>
#include <time.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * How often the sweeper looks at the export map: an expired key leaves it within this (the MTAs
 * read the value as "OK" whatever it says), and a map left half-changed is rebuilt within this.
 */
#define SWEEPER_POLL_NS 200000000L

/* What the sweeper remembers between polls. */
struct sweeper {
	const struct config *cfg;
	struct relaydb *db;
	bool exporting;
	bool exported;            /* the map was built since this sweeper started */
	time_t next_sweep;
};

/* sweep_now - remove expired entries and checkpoint so log files can go. */
static void sweep_now(struct sweeper *sw, time_t now)
{
	long n = relaydb_sweep(sw->db, now, conf(sw->cfg)->relay.timeout);

	if (n > 0)
		log_info("relaydb: swept %ld expired authorization%s", n, n == 1 ? "" : "s");
	relaydb_checkpoint(sw->db);
	sw->next_sweep = now + (time_t)conf(sw->cfg)->relay.sweep_interval;
}

/*
 * keep_map - build the map whole once at start (the relay database is the truth; the map may be
 * missing, from an older run, or half-changed by a writer that was killed), then keep it: logins
 * and revocations change it in place themselves; here expired keys go in batches, and a map marked
 * stale or gone is rebuilt.
 */
static void keep_map(struct sweeper *sw, time_t now)
{
	if (!sw->exported) {
		sw->exported = relaydb_export(sw->cfg, sw->db, now, NULL) == 0;
		return;
	}
	relaydb_map_maintain(sw->cfg, sw->db, now);
}

int relaydb_sweeper_run(const struct config *cfg, volatile sig_atomic_t *stop)
{
	struct sweeper sw = { .cfg = cfg };
	char err[PATH_MAX + 128];
	bool reported = false;

	sw.exporting = conf(cfg)->relay.export_map[0] != '\0';
	/* Its failchk frees what dead processes held, unless it waits on that itself: see watchdog.c. */
	if (strcmp(conf(cfg)->relay.backend, "bdb") == 0)
		relaydb_watchdog_start("sweeper");
	while (!*stop) {
		struct timespec pause = { 0, SWEEPER_POLL_NS };
		time_t now = time(NULL);

		relaydb_watchdog_arm();
		if (sw.db == NULL && relaydb_open(cfg, &sw.db, err, sizeof(err)) < 0) {
			if (!reported)
				log_err("relaydb: sweeper cannot open the database: %s", err);
			reported = true;
			pause.tv_sec = 1;
			pause.tv_nsec = 0;
		} else if (sw.db != NULL) {
			reported = false;
			/* Release what killed processes held, before anyone has to wait for it. */
			relaydb_failchk(sw.db);
			relaydb_expire_locks(sw.db);
			if (now >= sw.next_sweep)
				sweep_now(&sw, now);
			if (sw.exporting)
				keep_map(&sw, now);
		}
		relaydb_watchdog_disarm();
		nanosleep(&pause, NULL);
	}
	relaydb_close(&sw.db);
	return 0;
}
