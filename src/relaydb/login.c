/* login.c - the hook a successful login calls: a per-process cached handle, one log line on failure. */

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * One handle per process, opened on first use. A child forked after it was opened must not use
 * it: relaydb_ready() notices the pid change and opens its own. A reload that moves relay.db_dir
 * makes the next login open the new one.
 */
static struct relaydb *cached;

/* cached_handle - the handle for CFG's database, opening it when needed; NULL on failure. */
static struct relaydb *cached_handle(const struct config *cfg, const char *ip, const char *user)
{
	char err[PATH_MAX + 128];

	if (cached != NULL && strcmp(cached->home, cfg_str(cfg, "relay.db_dir")) != 0)
		relaydb_close(&cached);
	if (cached == NULL && relaydb_open(cfg, &cached, err, sizeof(err)) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "%s", err);
		return NULL;
	}
	return cached;
}

int relaydb_record_login(const struct config *cfg, const char *ip, const char *user, const char *proto)
{
	struct relaydb *db = cached_handle(cfg, ip, user);

	if (db == NULL)
		return -1;
	if (relaydb_authorize(db, ip, user, proto, cfg_duration(cfg, "relay.timeout"), time(NULL)) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "database error");
		return -1;
	}
	return 0;
}
