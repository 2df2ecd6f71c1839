/* keys_smtp.c - [smtp]: SMTP listeners, relay domains, hand-off and limits. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION smtp

const struct cfg_key cfg_keys_smtp[] = {
	CFG_KEY(listen, CFG_LISTEN, "*:25, *:587", "plain SMTP listeners (STARTTLS upgrades); empty disables"),
	CFG_KEY(listen_tls, CFG_LISTEN, "*:465", "implicit-TLS SMTP listeners (RFC 8314); empty disables"),
	CFG_KEY(listen_proxy, CFG_LISTEN, "",
		"plain SMTP listeners for a load balancer: each connection starts with a PROXY header (v1 or v2)"),
	CFG_KEY(listen_tls_proxy, CFG_LISTEN, "",
		"implicit-TLS SMTP listeners for a load balancer: the PROXY header comes before the TLS handshake"),
	CFG_KEY_CHECKED(relay_domains, CFG_LIST, "",
			"recipient domains accepted from anyone (our own and backup-MX domains, two labels or more), subdomains included",
			cfg_check_domain),
	CFG_KEY(forward, CFG_STRING, "sendmail:/usr/sbin/sendmail",
		"next hop: sendmail:/path/to/sendmail or smtp:HOST:PORT"),
	CFG_KEY_ENUM(forward_tls, "may", "no|may|require",
		     "STARTTLS towards an smtp: next hop: never, when offered, or always"),
	CFG_KEY(forward_auth_file, CFG_PATH, "",
		"file holding user:password for AUTH at the smtp: next hop; empty means no AUTH"),
	CFG_KEY(forward_tls_verify, CFG_BOOL, "no",
		"verify the smtp: next hop's certificate against the system CAs and its name"),
	CFG_KEY_RANGE(forward_timeout, CFG_DURATION, "5m",
		      "longest a hand-off to the next hop may take (the client waits 10m for its final reply, "
		      "RFC 5321 4.5.3.2.6)", 1, 3600),
	CFG_KEY_RANGE(max_message_size, CFG_SIZE, "25M", "largest message accepted (SIZE)", 1024,
		      (long long)1 << 40),
	CFG_KEY_RANGE(max_recipients, CFG_INT, "100", "recipients per message", 1, 100000),
	CFG_KEY_RANGE(command_timeout, CFG_DURATION, "5m",
		      "wait for the next command (RFC 5321 4.5.3.2.7)", 1, 86400),
	CFG_KEY_RANGE(data_timeout, CFG_DURATION, "10m",
		      "wait for the next block of message data (RFC 5321 4.5.3.2.6 asks 3m per block)", 1, 86400),
	CFG_KEY_RANGE(session_timeout, CFG_DURATION, "1h", "longest an SMTP session may last", 1, 604800),
	CFG_KEY_RANGE(stress_timeout, CFG_DURATION, "10s",
		      "under stress (server.max_connections reached), longest each command line, and each message "
		      "line of a DATA begun under stress, may take", 1, 3600),
	CFG_KEY_RANGE(max_errors, CFG_INT, "10", "failed commands before the session is closed", 1, 1000),
	CFG_KEY_ENUM(plaintext_auth, "trusted", "trusted|always",
		     "trusted: AUTH offered only under TLS or from smtp.trusted_networks; always: anywhere"),
	CFG_KEY(trusted_networks, CFG_CIDRS, "127.0.0.0/8, ::1",
		"clients offered AUTH without TLS; when not set, the value of pop3.trusted_networks"),
	CFG_KEY(forward_client_info, CFG_BOOL, "no",
		"sendmail: next hop: pass the client's address, protocol and HELO name as -oM{client_addr}, -oMr, -oMs "
		"(server.user must be a trusted user of sendmail)"),
	CFG_KEYS_END,
};
