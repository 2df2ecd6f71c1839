/* login.c - what a successful POP login does to the relay data, and how a session asks the worker to do it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/stats_report.h"
#include "relaydb/login_channel.h"
#include "relaydb/relaydb_int.h"

int relaydb_login_apply(const struct config *cfg, struct relaydb *db, const char *ip, const char *user,
			const char *proto, time_t now)
{
	if (relaydb_authorize(db, ip, user, proto, conf(cfg)->relay.timeout, now) < 0) {
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
 * relaydb_record_login - for tools and tests, which have no worker: open the database, record,
 * close. No handle is kept: the environment is opened with DB_REGISTER, so a process that ends
 * holding it makes the next opener run recovery while other processes are inside it, and those
 * panic. That is why no session calls this (relaydb_session_login).
 */
int relaydb_record_login(const struct config *cfg, const char *ip, const char *user, const char *proto)
{
	struct relaydb *db = NULL;
	char err[PATH_MAX + 128];
	int rc;

	if (relaydb_open(cfg, &db, err, sizeof(err)) < 0) {
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "%s", err);
		relaydb_unrecorded_note(conf(cfg)->relay.db_dir, time(NULL));
		return -1;
	}
	rc = relaydb_login_apply(cfg, db, ip, user, proto, time(NULL));
	relaydb_close(&db);
	return rc;
}

int relaydb_session_login(const struct config *cfg, int chan, const char *ip, const char *user, const char *proto,
			  int wait_ms)
{
	int rc = relay_login_send(chan, ip, user, proto, wait_ms);
	int err = errno;

	if (rc != RELAY_LOGIN_NO_ANSWER)
		return rc; /* a failure was the worker's, and it logged and counted it */
	if (chan < 0)
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded", "no channel to the lookup worker");
	else if (err == ETIMEDOUT)
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded",
			    "the relay lookup worker did not answer within %d s", wait_ms / 1000);
	else if (err == ECONNREFUSED || err == ENOTCONN) /* the first send to a dead channel, the later ones */
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded",
			    "no lookup worker or master holds the login channel any more");
	else
		log_session(LOG_ERR, "relay", ip, user, "authorization not recorded",
			    "the login channel to the lookup worker failed: %s", strerror(err));
	stats_note_relaydb_error();
	/* Its RCPTs get a 4xx, not a 5xx, for relay.timeout: the client's mail waits instead of bouncing. */
	relaydb_unrecorded_note(conf(cfg)->relay.db_dir, time(NULL));
	return -1;
}
