/* config_sections.c - the list of popgate.conf sections; each section's keys live in keys_<section>.c. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config.h"
#include "common/config_keys.h"

const struct cfg_section cfg_sections[] = {
	{ "server", cfg_keys_server },
	{ "tls", cfg_keys_tls },
	{ "auth", cfg_keys_auth },
	{ "pop3", cfg_keys_pop3 },
	{ "smtp", cfg_keys_smtp },
	{ "relay", cfg_keys_relay },
	{ "admin", cfg_keys_admin },
	{ NULL, NULL },
};
