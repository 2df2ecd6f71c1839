/* validate.h - checks on a loaded config that span keys or touch the system. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_VALIDATE_H
#define POPGATE_VALIDATE_H

#include <openssl/ssl.h>

#include "common/config.h"

/*
 * master_validate - everything popgated needs before it starts (or accepts a reload): users
 * exist, files named are there, TLS loads when a TLS listener or STLS needs it. On success *TLS
 * holds the server context (NULL when [tls] is not configured). 0, or -1 with "FILE:LINE: ..." in ERR.
 */
int master_validate(const struct config *cfg, SSL_CTX **tls, struct cfg_error *err);

/*
 * master_validate_reload - CFG changes none of the keys only a restart may change (the user,
 * group, login user, state and database directories and pid file the master set up as root)
 * from RUNNING. 0, or -1 with "FILE:LINE: key: ..." in ERR.
 */
int master_validate_reload(const struct config *running, const struct config *cfg, struct cfg_error *err);

#endif
