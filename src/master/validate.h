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

#endif
