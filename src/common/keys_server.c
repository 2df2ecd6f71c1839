/* keys_server.c - [server]: identity, privileges, state and connection limits of popgated. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION server

const struct cfg_key cfg_keys_server[] = {
	CFG_KEY_CHECKED(hostname, CFG_STRING, "",
			"name used in greetings and Received: headers; empty means the system host name",
			cfg_check_hostname),
	CFG_KEY(user, CFG_STRING, "popgate",
		"unprivileged user the master and workers run as after binding"),
	CFG_KEY(group, CFG_STRING, "", "group for server.user; empty means its primary group"),
	CFG_KEY(login_user, CFG_STRING, "popgate-login",
		"user the protocol children (which read the network) run as, with its primary group alone; it must own nothing, and differ from server.user, which owns the relay database"),
	CFG_KEY(state_dir, CFG_PATH, POPGATE_STATEDIR,
		"directory for mailbox indexes and other state, owned by server.user"),
	CFG_KEY(pid_file, CFG_PATH, POPGATE_RUNDIR "/popgate/popgated.pid",
		"pid file (its directory is made if missing, the file removed at exit); a second popgated on the same file refuses to start"),
	CFG_KEY_RANGE(max_connections, CFG_INT, "500",
		      "connections served at once, all services together; when full, the oldest POP3 session not yet logged in makes room", 1, 100000),
	CFG_KEY_RANGE(process_reuse, CFG_INT, "100",
		      "connections one POP3 or SMTP session process serves before it ends (Postfix's max_use); 0 forks a process pair for each connection", 0, 1000000),
	CFG_KEY_RANGE(process_idle_timeout, CFG_DURATION, "60s",
		      "how long a reused session process waits for its next connection before it ends", 1, 86400),
	CFG_KEY_RANGE(max_connections_per_ip, CFG_INT, "20",
		      "connections at once from one client address, except from the networks below", 1, 100000),
	CFG_KEY(connection_limit_exceptions, CFG_CIDRS, "",
		"networks exempt from server.max_connections_per_ip besides relay.allow (a local webmail or MTA opens many)"),
	CFG_KEY(connection_limit_exempts_relay_allow, CFG_BOOL, "yes",
		"whether the relay.allow networks are exempt from server.max_connections_per_ip, as Postfix exempts $mynetworks"),
	CFG_KEY(proxy_networks, CFG_CIDRS, "",
		"load balancers that may connect to the *.listen_proxy listeners; others are logged and dropped"),
	CFG_KEY_RANGE(proxy_timeout, CFG_DURATION, "3s",
		      "how long a balancer has to send the whole PROXY header", 1, 300),
	CFG_KEY_RANGE(shutdown_timeout, CFG_DURATION, "10s",
		      "on SIGTERM, how long sessions may run on before they are killed", 0, 3600),
	CFG_KEY_ENUM(log_facility, "mail", "mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7",
		     "syslog facility"),
	CFG_KEY_ENUM(log_level, "info", "error|warning|info|debug", "least severe messages logged"),
	CFG_KEYS_END,
};
