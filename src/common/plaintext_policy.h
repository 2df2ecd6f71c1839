/* plaintext_policy.h - whether a service may take a password in clear on a connection. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PLAINTEXT_POLICY_H
#define POPGATE_PLAINTEXT_POLICY_H

#include <stdbool.h>

#include "common/cidr.h"
#include "common/config.h"

/*
 * plaintext_allowed - whether SERVICE ("pop3" or "smtp") may take a password on this connection:
 * under TLS (ours, or ended at a load balancer that said so), with SERVICE.plaintext_auth = always,
 * or from SERVICE.trusted_networks. smtp.trusted_networks, when not set, is pop3.trusted_networks.
 */
bool plaintext_allowed(const struct config *cfg, const char *service, const struct ip_addr *client, bool tls);

#endif
