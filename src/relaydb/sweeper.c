/* sweeper.c - the sweeper process: expire entries, checkpoint, and keep the export map current. */

#include <time.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/* How often the sweeper looks for changes to export: well inside the one second the MTAs are promised. */
#define SWEEPER_POLL_NS 200000000L

/* What the sweeper remembers between polls. */
struct sweeper {
	const struct config *cfg;
	struct relaydb *db;
	bool exporting;
	time_t next_sweep;
	uint64_t exported_mark;   /* change mark the export map reflects */
	bool export_valid;        /* whether exported_mark means anything */
	int64_t next_expiry;      /* when an exported entry stops counting */
};

/* sweep_now - remove expired entries and checkpoint so log files can go. */
static void sweep_now(struct sweeper *sw, time_t now)
{
	long n = relaydb_sweep(sw->db, now);

	if (n > 0)
		log_info("relaydb: swept %ld expired authorization%s", n, n == 1 ? "" : "s");
	relaydb_checkpoint(sw->db);
	sw->next_sweep = now + (time_t)cfg_duration(sw->cfg, "relay.sweep_interval");
}

/* export_if_changed - rewrite the map when the database changed or an exported entry expired. */
static void export_if_changed(struct sweeper *sw, time_t now)
{
	uint64_t mark;

	if (relaydb_change_mark(sw->db, &mark) < 0)
		return;
	if (sw->export_valid && mark == sw->exported_mark &&
	    (sw->next_expiry == 0 || (int64_t)now < sw->next_expiry))
		return;
	if (relaydb_export(sw->cfg, sw->db, now, &sw->next_expiry) < 0) {
		sw->export_valid = false;
		return;
	}
	sw->exported_mark = mark;
	sw->export_valid = true;
}

int relaydb_sweeper_run(const struct config *cfg, volatile sig_atomic_t *stop)
{
	struct sweeper sw = { .cfg = cfg };
	char err[PATH_MAX + 128];
	bool reported = false;

	sw.exporting = cfg_str(cfg, "relay.export_map")[0] != '\0';
	while (!*stop) {
		struct timespec pause = { 0, SWEEPER_POLL_NS };
		time_t now = time(NULL);

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
				export_if_changed(&sw, now);
		}
		nanosleep(&pause, NULL);
	}
	relaydb_close(&sw.db);
	return 0;
}
