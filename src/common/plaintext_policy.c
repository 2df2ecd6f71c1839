/* plaintext_policy.c - one plaintext-password policy, asked by POP3 (USER/PASS, AUTH) and SMTP AUTH alike. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "common/plaintext_policy.h"

bool plaintext_allowed(const struct config *cfg, const char *service, const struct ip_addr *client, bool tls)
{
	char key[64];

	snprintf(key, sizeof(key), "%s.plaintext_auth", service);
	if (tls || strcmp(cfg_str_named(cfg, key), "always") == 0)
		return true;
	snprintf(key, sizeof(key), "%s.trusted_networks", service);
	/* Before smtp.trusted_networks existed, SMTP AUTH followed POP3's list; an unset key still does. */
	if (!cfg_is_set(cfg, key))
		snprintf(key, sizeof(key), "pop3.trusted_networks");
	return cidr_list_match(cfg_cidrs_named(cfg, key), client) != NULL;
}
