/* login.c - what a successful POP login does to the relay data: through the lookup worker, or directly. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/lookup.h"
#include "relaydb/relaydb_int.h"

int relaydb_login_apply(const struct config *cfg, struct relaydb *db, const char *ip, const char *user,
			const char *proto, time_t now)
{
	if (relaydb_authorize(db, ip, user, proto, cfg_duration(cfg, "relay.timeout"), now) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "database error");
		relaydb_unrecorded_note(db->home, now);
		return -1;
	}
	/* The map's own failure is logged and marked for the sweeper; the authorization stands. */
	if (relaydb_map_update(cfg, db, ip, now) < 0)
		log_session(LOG_WARNING, "relay", ip, user, "export map not updated", "the sweeper rebuilds it");
	return 0;
}

/*
 * record_directly - the way without the worker. No handle is kept: the environment is opened with
 * DB_REGISTER, so a process that ends holding it (a POP3 session ends with _exit, or is killed)
 * makes the next opener run recovery while other processes are inside it, and those panic. The
 * caller is a session monitor that records one login and then serves a mailbox for minutes.
 */
static int record_directly(const struct config *cfg, const char *ip, const char *user, const char *proto)
{
	struct relaydb *db = NULL;
	char err[PATH_MAX + 128];
	int rc;

	if (relaydb_open(cfg, &db, err, sizeof(err)) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "%s", err);
		relaydb_unrecorded_note(cfg_str(cfg, "relay.db_dir"), time(NULL));
		return -1;
	}
	rc = relaydb_login_apply(cfg, db, ip, user, proto, time(NULL));
	relaydb_close(&db);
	return rc;
}

int relaydb_record_login(const struct config *cfg, const char *ip, const char *user, const char *proto)
{
	int rc = relay_lookup_record_login(cfg, ip, user, proto);

	return rc == RELAY_LOGIN_NO_WORKER ? record_directly(cfg, ip, user, proto) : rc;
}
