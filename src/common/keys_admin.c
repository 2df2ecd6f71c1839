/* keys_admin.c - [admin]: the helpdesk's HTTP admin page. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION admin

const struct cfg_key cfg_keys_admin[] = {
	CFG_KEY(listen, CFG_LISTEN, "127.0.0.1:8025", "HTTP admin listeners; empty disables"),
	CFG_KEY(tls, CFG_BOOL, "no", "serve the admin page over HTTPS with the [tls] certificate"),
	CFG_KEY(users_file, CFG_PATH, "",
		"helpdesk accounts, one per line name:HASH:ROLE, ROLE viewer or admin"),
	CFG_KEY(www_dir, CFG_PATH, POPGATE_WWWDIR, "static files of the admin page"),
	CFG_KEY_RANGE(session_timeout, CFG_DURATION, "30m", "idle time before an admin login expires",
		      60, 86400),
	CFG_KEYS_END,
};
