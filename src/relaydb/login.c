/* login.c - the hook a successful login calls: open, record, close, one log line on failure. */

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * No handle is kept between calls. The environment is opened with DB_REGISTER, so a process that
 * ends holding it (a POP3 session ends with _exit, or is killed) makes the next opener run
 * recovery while other processes are inside it, and those panic. The caller is a session monitor
 * that records one login and then serves a mailbox for minutes: it must not hold the database.
 */
int relaydb_record_login(const struct config *cfg, const char *ip, const char *user, const char *proto)
{
	struct relaydb *db = NULL;
	char err[PATH_MAX + 128];
	int rc = 0;

	if (relaydb_open(cfg, &db, err, sizeof(err)) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "%s", err);
		relaydb_unrecorded_note(cfg_str(cfg, "relay.db_dir"), time(NULL));
		return -1;
	}
	if (relaydb_authorize(db, ip, user, proto, cfg_duration(cfg, "relay.timeout"), time(NULL)) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "database error");
		relaydb_unrecorded_note(db->home, time(NULL));
		rc = -1;
	}
	relaydb_close(&db);
	return rc;
}
