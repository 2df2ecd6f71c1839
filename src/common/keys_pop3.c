/* keys_pop3.c - [pop3]: POP3 listeners, login policy and session limits. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION pop3

const struct cfg_key cfg_keys_pop3[] = {
	CFG_KEY(listen, CFG_LISTEN, "*:110", "plain POP3 listeners (STLS upgrades); empty disables"),
	CFG_KEY(listen_tls, CFG_LISTEN, "*:995", "implicit-TLS POP3S listeners; empty disables"),
	CFG_KEY(listen_proxy, CFG_LISTEN, "",
		"plain POP3 listeners for a load balancer: each connection starts with a PROXY header (v1 or v2)"),
	CFG_KEY(listen_tls_proxy, CFG_LISTEN, "",
		"implicit-TLS POP3S listeners for a load balancer: the PROXY header comes before the TLS handshake"),
	CFG_KEY_ENUM(plaintext_auth, "trusted", "trusted|always",
		     "trusted: passwords only under TLS or from pop3.trusted_networks; always: anywhere"),
	CFG_KEY(trusted_networks, CFG_CIDRS, "127.0.0.0/8, ::1",
		"clients that may send passwords without TLS"),
	CFG_KEY_RANGE(idle_timeout, CFG_DURATION, "10m",
		      "close a session idle this long (RFC 1939 asks for at least 10 minutes)", 1, 86400),
	CFG_KEY_RANGE(session_timeout, CFG_DURATION, "2h", "longest a session may last", 1, 604800),
	CFG_KEY_RANGE(mailbox_process_idle, CFG_DURATION, "2s",
		      "how long a reused session pair keeps its mailbox process for the next login of the same uid; "
		      "0 forks one per login", 0, 3600),
	CFG_KEY_RANGE(max_bad_commands, CFG_INT, "10",
		      "unknown or malformed commands before the session is closed", 1, 1000),
	CFG_KEY(apop, CFG_BOOL, "yes", "offer APOP (only users in auth.apop_secrets_file can use it)"),
	CFG_KEY_CHECKED(expire, CFG_STRING, "NEVER", "EXPIRE capability argument (RFC 2449); empty hides it",
			cfg_check_expire),
	CFG_KEY_RANGE(login_delay, CFG_DURATION, "0",
		      "LOGIN-DELAY capability (RFC 2449) advertised to clients, not enforced; 0 hides it", 0, 86400),
	CFG_KEYS_END,
};
