/* keys_relay.c - [relay]: the POP-before-SMTP authorization database and permanent lists. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION relay

const struct cfg_key cfg_keys_relay[] = {
	CFG_KEY_ENUM(backend, "bdb", "bdb|postgresql",
		     "where authorizations are kept: bdb (relay.db_dir, one machine) or postgresql (shared by every node)"),
	CFG_KEY(postgresql, CFG_STRING, "",
		"libpq connection string for relay.backend = postgresql, e.g. \"host=db1,db2 dbname=popgate "
		"target_session_attrs=read-write\" (several hosts: failover to a standby)"),
	CFG_KEY_CHECKED(store_timeout, CFG_STRING, "200ms",
			"deadline of each PostgreSQL query and connection attempt (ms or s); past it the store "
			"counts as down and logins are queued locally", cfg_check_store_timeout),
	CFG_KEY_RANGE(store_cache_max, CFG_INT, "200000",
		      "relay.backend = postgresql: most authorizations the relay lookup worker keeps in memory "
		      "(about 150 bytes each) to answer RCPTs without asking the server; with more it asks "
		      "at every lookup; 0 disables", 0, 100000000),
	CFG_KEY(db_dir, CFG_PATH, POPGATE_STATEDIR "/relay",
		"Berkeley DB environment holding the relay authorizations"),
	CFG_KEY_RANGE(timeout, CFG_DURATION, "30m",
		      "how long a POP login authorizes relaying from its address; each login restarts it",
		      1, 31 * 86400),
	CFG_KEY(allow, CFG_CIDRS, "127.0.0.0/8, ::1", "networks always allowed to relay"),
	CFG_KEY(deny, CFG_CIDRS, "", "networks never allowed to relay; wins over everything"),
	CFG_KEY(export_map, CFG_PATH, "",
		"also keep a DRAC-style btree map in PATH.db for sendmail (Kdrac btree PATH) or Postfix (btree:PATH)"),
	CFG_KEY_RANGE(sweep_interval, CFG_DURATION, "1m", "how often expired entries are removed", 1, 86400),
	CFG_KEY(socketmap_listen, CFG_STRING, "",
		"socketmap server for Postfix (socketmap:inet:HOST:PORT:NAME) and sendmail (K... socket): host:port "
		"or unix:/path; empty disables"),
	CFG_KEY(socketmap_clients, CFG_CIDRS, "127.0.0.0/8, ::1",
		"networks whose MTAs may ask the socketmap over TCP (a unix: socket is open to local users)"),
	CFG_KEY_RANGE(socketmap_idle_timeout, CFG_DURATION, "5m",
		      "a socketmap connection with no request for this long is closed", 1, 86400),
	CFG_KEY(drac_listen, CFG_STRING, "",
		"DRAC RPC server (program 900101) for other mail servers: rpcbind, or host:port for UDP and TCP; empty disables"),
	CFG_KEY(drac_clients, CFG_CIDRS, "127.0.0.0/8, ::1", "networks whose DRAC RPCs are accepted"),
	CFG_KEYS_END,
};
