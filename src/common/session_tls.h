/* session_tls.h - a session's server TLS handshake, bounded as a whole by tls.handshake_timeout. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SESSION_TLS_H
#define POPGATE_SESSION_TLS_H

#include <time.h>

#include "common/lineio.h"
#include "common/session.h"

/*
 * session_tls_handshake - the server handshake on LIO with ctx->tls, within tls.handshake_timeout
 * for the whole of it (a client trickling a ClientHello must not hold a slot) and never past
 * DEADLINE, the session's; then the lio is back to DEADLINE and IDLE_TIMEOUT per read. A failure
 * is reported to the master (SESSION_TLS_TIMEOUT or SESSION_TLS_FAILED); the caller logs it in
 * its protocol's words. 0 or -1.
 */
int session_tls_handshake(const struct session_ctx *ctx, struct lio *lio, time_t deadline, int idle_timeout);

#endif
