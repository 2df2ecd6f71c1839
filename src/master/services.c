/* services.c - the table binding each listener key to its protocol's entry point. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stddef.h>

#include "master/services.h"
#include "pop3d/pop3.h"
#include "smtpd/smtpd.h"

/* Temporary-failure greetings (RFC 3206 [SYS/TEMP], RFC 5321 421) for a refused connection. */
#define POP3_BUSY "-ERR [SYS/TEMP] Too many connections, try again later\r\n"
#define SMTP_BUSY "421 4.7.0 Too many connections, try again later\r\n"
/* For an address locked out after failed logins: the client learns why, not "busy" (RFC 3206 [AUTH]). */
#define POP3_LOCKED "-ERR [AUTH] Logins from your address are refused for a while after failed logins\r\n"
#define SMTP_LOCKED "421 4.7.0 Logins from your address are refused for a while after failed logins\r\n"

const struct service services[] = {
	{ "pop3", "pop3.listen", false, pop3_session_main, &pop3_member_service, POP3_BUSY, POP3_LOCKED, "pop3", false },
	{ "pop3s", "pop3.listen_tls", true, pop3_session_main, &pop3_member_service, NULL, NULL, "pop3", false },
	{ "smtp", "smtp.listen", false, smtp_session_main, &smtp_member_service, SMTP_BUSY, SMTP_LOCKED, "smtp", false },
	{ "smtps", "smtp.listen_tls", true, smtp_session_main, &smtp_member_service, NULL, NULL, "smtp", false },
	/* The same services behind a load balancer; the session reads the PROXY header first. */
	{ "pop3", "pop3.listen_proxy", false, pop3_session_main, &pop3_member_service, POP3_BUSY, POP3_LOCKED, "pop3", true },
	{ "pop3s", "pop3.listen_tls_proxy", true, pop3_session_main, &pop3_member_service, NULL, NULL, "pop3", true },
	{ "smtp", "smtp.listen_proxy", false, smtp_session_main, &smtp_member_service, SMTP_BUSY, SMTP_LOCKED, "smtp", true },
	{ "smtps", "smtp.listen_tls_proxy", true, smtp_session_main, &smtp_member_service, NULL, NULL, "smtp", true },
	{ NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, false },
};
