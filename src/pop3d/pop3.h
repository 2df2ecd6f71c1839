/* pop3.h - the POP3 service (RFC 1939, 2449, 5034, 2595): the entry point the master forks into. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POP3_H
#define POPGATE_POP3_H

#include "common/session.h"

/*
 * pop3_session_main - serve one POP3 connection (ctx->implicit_tls: POP3S). Called in a freshly
 * forked, still privileged process; splits into an unprivileged protocol child for the
 * AUTHORIZATION state and a post-login process running as the mailbox owner. Returns the exit status.
 */
int pop3_session_main(struct session_ctx *ctx);

/*
 * pop3_preload - in the master, before it forks any session: set up once what every mailbox process
 * would otherwise build for itself (the UIDL digest), so that they all share its pages.
 */
void pop3_preload(void);

/* The POP3 service as a reused pair runs it (server.process_reuse; privsep/member.h). */
struct member_service;
extern const struct member_service pop3_member_service;

#endif
