/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_server.h - the routing table, and the libmicrohttpd glue that feeds it.
 *
 * admin_route() decides everything about a request apart from HTTP framing: which handler, whether
 * a session is needed, whether the X-CSRF-Token header must match it, whether the role must be
 * admin, and whether a JSON body is required. The MHD callbacks only gather the request (with the
 * body bounded by ADMIN_BODY_MAX) and send the reply with the security headers.
 */
#ifndef POPGATE_ADMIN_SERVER_H
#define POPGATE_ADMIN_SERVER_H

#include <microhttpd.h>

#include "admin/admin_api.h"

/* admin_route - answer CALL into R: an API handler, a static file, or an error. */
void admin_route(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r);

/* admin_mhd_access - the MHD_AccessHandlerCallback; CLS is the struct admin_ctx. */
enum MHD_Result admin_mhd_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls);

/* admin_mhd_completed - the MHD_OPTION_NOTIFY_COMPLETED callback: frees the request state. */
void admin_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe);

#endif
