/* session_tls.c - a session's server TLS handshake, bounded as a whole by tls.handshake_timeout. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "common/session_tls.h"

int session_tls_handshake(const struct session_ctx *ctx, struct lio *lio, time_t deadline, int idle_timeout)
{
	long long limit = conf(ctx->cfg)->tls.handshake_timeout;
	time_t end = lio_now() + limit;
	int rc;

	lio_set_timeout(lio, (int)limit);
	lio_set_deadline(lio, end < deadline ? end : deadline);
	rc = lio_start_tls_server(lio, ctx->tls);
	if (rc < 0)
		session_report(ctx, errno == ETIMEDOUT ? SESSION_TLS_TIMEOUT : SESSION_TLS_FAILED, NULL);
	lio_set_deadline(lio, deadline);
	lio_set_timeout(lio, idle_timeout);
	return rc;
}
