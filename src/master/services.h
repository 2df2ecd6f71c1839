/* services.h - the session services the master serves: which listeners, which entry point. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_SERVICES_H
#define POPGATE_SERVICES_H

#include <stdbool.h>

#include "common/session.h"

struct member_service;

struct service {
	const char *name;         /* "pop3", "pop3s", "smtp", "smtps" (also the session's proto) */
	const char *listen_key;   /* the config key of its listeners */
	bool implicit_tls;
	service_main_fn main;
	const struct member_service *reused; /* its reused pairs (server.process_reuse), privsep/member.h */
	const char *busy_reply;   /* sent when a limit refuses a connection; NULL under implicit TLS */
	const char *locked_reply; /* sent to an address locked out after failed logins; likewise */
	const char *family;       /* "pop3" or "smtp": which active counter a session bumps */
	bool proxy;               /* behind a load balancer: a PROXY header names the client */
};

/* The session services, terminated by {NULL}. */
extern const struct service services[];

#endif
