/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_session.h - the protocol child's view of one SMTP session: its state, its transaction,
 * and the command table the dispatcher walks (common/session_cmd.h). Private to src/smtpd.
 */
#ifndef POPGATE_SMTP_SESSION_H
#define POPGATE_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "common/lineio.h"
#include "common/session_cmd.h"
#include "privsep/privsep.h"
#include "common/session.h"
#include "smtpd/smtp_forward.h"
#include "smtpd/smtp_parse.h"
#include "smtpd/smtp_policy.h"
#include "smtpd/smtp_spool.h"

/* Session states, as bits so a command can name every state it is allowed in. */
#define SMTP_S_GREET 0x1  /* before HELO/EHLO */
#define SMTP_S_READY 0x2  /* after HELO/EHLO, no transaction open */
#define SMTP_S_MAIL 0x4   /* after MAIL, no recipient accepted yet */
#define SMTP_S_RCPT 0x8   /* at least one recipient accepted */
#define SMTP_S_ANY 0xf

/* What a command handler did. */
enum smtp_outcome {
	SMTP_DONE,    /* replied, carry on */
	SMTP_FAILED,  /* replied with an error that counts towards smtp.max_errors */
	SMTP_CLOSE,   /* end the session (after QUIT, a timeout or a broken connection) */
};

struct smtp_session {
	struct session_ctx *ctx;
	const struct config *cfg;
	struct lio *lio;
	struct privsep *ps;
	const char *proto;                /* "smtp", or "smtps" on an implicit-TLS listener */
	unsigned state;
	char helo[SMTP_HELO_MAX + 1];
	bool esmtp;                       /* EHLO rather than HELO */
	char auth_user[AUTH_NAME_MAX];    /* "" until AUTH succeeded */
	bool known;                       /* a recipient was accepted for who the client is (told the master) */
	unsigned errors;
	struct smtp_policy policy;
	const struct smtp_forward_cfg *fwd;
	struct smtp_spool *spool;
	/* The transaction. */
	struct smtp_addr from;
	struct smtp_mail_params params;
	struct smtp_addr *rcpts;          /* grows with the transaction, up to max_rcpts */
	size_t nrcpts, rcpts_cap;
	size_t rcpts_bytes;               /* their text, for the sendmail command line bound */
	unsigned verdicts;                /* 1 << smtp_verdict for every accepted recipient */
	/* Limits, from [smtp]. */
	uint64_t max_size;
	size_t max_rcpts;
	int command_timeout, data_timeout;
	int stress_timeout;               /* for each whole line while the master is under stress */
	time_t deadline;                  /* smtp.session_timeout, monotonic */
	unsigned max_errors;
};

/* smtp_command_table - the SMTP commands and their 500/501/503 replies, for session_cmd_dispatch. */
extern const struct session_cmd_table smtp_command_table;

/* smtp_reply - queue one reply line (CRLF added); it is sent when the client's input runs dry. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* smtp_reset_transaction - forget MAIL and RCPT (RSET, HELO, after DATA). */
void smtp_reset_transaction(struct smtp_session *s);

/* smtp_start_tls - the server TLS handshake, all of it within tls.handshake_timeout. 0 or -1. */
int smtp_start_tls(struct smtp_session *s);

/* smtp_stressed - whether the master is under stress now (server.max_connections reached). */
bool smtp_stressed(const struct smtp_session *s);

/* smtp_tls_active - whether the connection is under TLS. */
bool smtp_tls_active(const struct smtp_session *s);

/* smtp_auth_offered - whether AUTH may be used now (TLS, a trusted network, or plaintext_auth = always). */
bool smtp_auth_offered(const struct smtp_session *s);

/* smtp_log_user - the authenticated user for log_session, or NULL. */
const char *smtp_log_user(const struct smtp_session *s);

/*
 * The handlers outside smtp_commands.c, in the one shape of common/session_cmd.h: SESSION is the
 * struct smtp_session, A the arguments the table let through, the value an enum smtp_outcome.
 */
/* smtp_cmd_auth - AUTH PLAIN / LOGIN (smtp_auth.c): decode here, let the monitor check. */
int smtp_cmd_auth(void *session, struct session_args *a);

/* smtp_cmd_data - DATA (smtp_message.c): read, stamp, hand off, answer with the next hop's verdict. */
int smtp_cmd_data(void *session, struct session_args *a);

#endif
