/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_forward.h - hand a received message to the next hop named by smtp.forward, and tell the
 * client only what the next hop decided: 250 once it accepted, 451 on a temporary failure and
 * 554 on a permanent one, so that nothing that got a 250 is ever lost.
 */
#ifndef POPGATE_SMTP_FORWARD_H
#define POPGATE_SMTP_FORWARD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "common/config.h"
#include "smtpd/smtp_addr.h"
#include "smtpd/smtp_clientinfo.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_spool.h"

enum smtp_hop_kind {
	SMTP_HOP_SENDMAIL = 1, /* pipe to sendmail -i -f SENDER -- RCPT... */
	SMTP_HOP_SMTP,         /* relay to a smarthost over SMTP */
};

enum smtp_hop_tls { SMTP_HOP_TLS_NO, SMTP_HOP_TLS_MAY, SMTP_HOP_TLS_REQUIRE };

/* Where and how messages go, read from [smtp] once per session. */
struct smtp_forward_cfg {
	enum smtp_hop_kind kind;
	char path[PATH_MAX];          /* sendmail program */
	char host[256];               /* smarthost name or address (IPv6 without brackets) */
	char port[8];
	enum smtp_hop_tls tls;
	bool tls_verify;              /* verify the smarthost certificate and name */
	bool have_auth;               /* credentials from smtp.forward_auth_file */
	char auth_user[AUTH_NAME_MAX];
	char auth_pass[AUTH_PASS_MAX];
	const char *helo;             /* our name in EHLO */
	int step_timeout;             /* seconds any one exchange with the next hop may take */
	int total_timeout;            /* seconds the whole hand-off may take */
	bool client_info;             /* smtp.forward_client_info: -oM{client_addr}, -oMr, -oMs */
	bool usable;                  /* false when the settings were wrong: every message gets 451 */
};

/* One message's envelope. */
struct smtp_envelope {
	const struct smtp_addr *from;
	const struct smtp_addr *rcpts;
	size_t nrcpts;
	bool body_8bit;
	uint64_t size;
	const char *id;
	const struct smtp_client_info *client; /* who sent it, for XFORWARD and -oM; NULL when unknown */
};

enum smtp_forward_status {
	SMTP_FWD_OK,        /* the next hop accepted: answer 250 */
	SMTP_FWD_TEMPFAIL,  /* answer 451: the client keeps the message and retries */
	SMTP_FWD_PERMFAIL,  /* answer 554: the client bounces it */
};

/* What became of a hand-off, in words. */
struct smtp_forward_result {
	char detail[1024];   /* for the log: what happened, with the next hop's own words */
	char said[SMTP_REPLY_TEXT_MAX]; /* for the client on failure: safe, printable, "" when none */
};

/*
 * smtp_next_hop_parse - "sendmail:/path" or "smtp:HOST:PORT" ("smtp:[v6]:PORT") into FC.
 * 0, or -1 with a reason in ERR.
 */
int smtp_next_hop_parse(const char *text, struct smtp_forward_cfg *fc, char *err, size_t errlen);

/*
 * smtp_forward_cfg_load - everything from [smtp] (and the auth file, read now: call it while the
 * file is still readable, i.e. before dropping privileges). Problems are logged and leave
 * fc->usable false.
 */
void smtp_forward_cfg_load(const struct config *cfg, const char *helo, struct smtp_forward_cfg *fc);

/* smtp_forward_cfg_wipe - forget the credentials. */
void smtp_forward_cfg_wipe(struct smtp_forward_cfg *fc);

/* smtp_forward - hand MSG (CRLF lines, unstuffed, Received: first) to the next hop; RES says how it went. */
enum smtp_forward_status smtp_forward(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
				      struct smtp_spool *msg, struct smtp_forward_result *res);

/*
 * smtp_forward_sendmail - pipe MSG to sendmail -i [-oM{client_addr}.. -oMr.. -oMs..] -f SENDER -- RCPT... and
 * judge its exit status.
 */
enum smtp_forward_status smtp_forward_sendmail(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
					       struct smtp_spool *msg, struct smtp_forward_result *res);

/*
 * smtp_forward_smtp - relay MSG to the smarthost over SMTP (STARTTLS, AUTH PLAIN as configured; the
 * client's facts in XFORWARD when the smarthost offers it).
 */
enum smtp_forward_status smtp_forward_smtp(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
					   struct smtp_spool *msg, struct smtp_forward_result *res);

/* smtp_sendmail_status - the outcome for a sendmail wait status (sysexits: 65, 67, 68 are permanent). */
enum smtp_forward_status smtp_sendmail_status(int wstatus);

#endif
