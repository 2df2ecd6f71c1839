/* smtpd.h - the SMTP service: the entry point the master calls for each accepted connection. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SMTPD_H
#define POPGATE_SMTPD_H

#include "common/session.h"

/*
 * smtp_session_main - serve one SMTP connection (plain or implicit TLS) in a freshly forked,
 * still privileged process: split into a monitor (credential checks) and an unprivileged child
 * that speaks the protocol. Returns the process exit status.
 */
int smtp_session_main(struct session_ctx *ctx);

/* The SMTP service as a reused pair runs it (server.process_reuse; privsep/member.h). */
struct member_service;
extern const struct member_service smtp_member_service;

#endif
