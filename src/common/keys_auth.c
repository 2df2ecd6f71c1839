/* keys_auth.c - [auth]: where users come from and how failed logins are slowed down. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION auth

const struct cfg_key cfg_keys_auth[] = {
	CFG_KEY_ENUM(backend, "system", "system|file",
		     "system: /etc/passwd and /etc/shadow; file: virtual users in auth.passwd_file"),
	CFG_KEY(passwd_file, CFG_PATH, "",
		"virtual users, one per line name:HASH:MAILBOX[:uid:gid], MAILBOX mbox:/path or maildir:/path"),
	CFG_KEY(apop_secrets_file, CFG_PATH, "",
		"APOP shared secrets, one per line name:secret; only these users may use APOP"),
	CFG_KEY_CHECKED(system_mailbox, CFG_STRING, "mbox:/var/mail/%u",
			"mailbox of a system user; %u is the user name, %h the home directory",
			cfg_check_mailbox),
	CFG_KEY_RANGE(workers, CFG_INT, "0",
		      "processes of the auth worker that check passwords side by side (one hash each at a time); 0: one per CPU",
		      0, 64),
	CFG_KEY_RANGE(first_valid_uid, CFG_INT, "1000",
		      "system users below this uid (and root always) may not log in", 0, 4294967295LL),
	CFG_KEY_RANGE(fail_delay, CFG_DURATION, "1s",
		      "delay after a failed login, doubled for each further failure of the same user name from the same address (the penalty)",
		      0, 60),
	CFG_KEY_RANGE(fail_delay_max, CFG_DURATION, "15s", "longest delay after a failed login", 0, 600),
	CFG_KEY_RANGE(max_failures, CFG_INT, "50",
		      "failed logins from one address, all user names together, before every login from it is refused for auth.lockout (a NAT holds many users: keep it well above what one misconfigured client makes)", 1, 100000),
	CFG_KEY_RANGE(lockout, CFG_DURATION, "15m",
		      "how long failed logins are remembered after the latest: the penalty lasts that long, and a locked-out address is refused that long", 0, 86400),
	CFG_KEYS_END,
};
