/* pop3_prelogin.c - the AUTHORIZATION state, run in the unprivileged protocol child. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The AUTHORIZATION state (RFC 1939 section 4, RFC 2595 STLS), run in the
 * unprivileged protocol child. Credentials never get checked here: they go to the monitor as
 * one size-checked record (privsep_check), which also applies the failure delay and logs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/session_tls.h"
#include "pop3d/pop3_int.h"

#define PLAINTEXT_REFUSED "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections"

/* forget_user - drop a USER name that PASS has consumed or that STLS made stale (RFC 2595 section 4). */
static void forget_user(struct pop3 *p)
{
	p->have_user = false;
	explicit_bzero(p->user, sizeof(p->user));
}

int pop3_cmd_user(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	forget_user(p);
	if (!pop3_plaintext_allowed(p->ctx->cfg, &p->ctx->client, p->tls || p->ctx->proxied_tls))
		return pop3_reply(p, PLAINTEXT_REFUSED);
	snprintf(p->user, sizeof(p->user), "%s", a->argv[0]);
	p->have_user = true;
	/* The same answer for every name: USER must not tell which mailboxes exist. */
	return pop3_reply(p, "+OK Send your password");
}

int pop3_cmd_pass(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	char user[AUTH_NAME_MAX];
	enum pop3_outcome o;

	if (!pop3_plaintext_allowed(p->ctx->cfg, &p->ctx->client, p->tls || p->ctx->proxied_tls))
		return pop3_reply(p, PLAINTEXT_REFUSED);
	if (!p->have_user)
		return pop3_reply(p, "-ERR No user name given: send USER first");
	memcpy(user, p->user, sizeof(user));
	forget_user(p);
	o = pop3_try_login(p, PRIVSEP_PASSWORD, user, a->argv[0]);
	explicit_bzero(a->argv[0], strlen(a->argv[0]));
	return o;
}

int pop3_cmd_apop(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	forget_user(p);
	if (!p->apop)
		return pop3_reply(p, "-ERR APOP not available");
	return pop3_try_login(p, PRIVSEP_APOP, a->argv[0], a->argv[1]);
}

int pop3_cmd_quit_auth(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	log_session(LOG_INFO, p->proto, p->ctx->client_ip, NULL, "quit", "before login");
	return pop3_reply(p, "+OK popgate signing off") == POP3_CONTINUE ? POP3_QUIT : POP3_CLOSE;
}

/* handshake - the server TLS handshake (session_tls_handshake), logged in POP3's words. */
static int handshake(struct pop3 *p)
{
	char info[128];

	if (session_tls_handshake(p->ctx, p->lio, p->deadline, (int)conf(p->ctx->cfg)->pop3.idle_timeout) < 0) {
		log_session(LOG_NOTICE, p->proto, p->ctx->client_ip, NULL, "tls handshake failed", NULL);
		return -1;
	}
	p->tls = true;
	p->proto = "pop3s";
	log_session(LOG_INFO, p->proto, p->ctx->client_ip, NULL, "tls", "%s",
		    lio_tls_info(p->lio, info, sizeof(info)));
	return 0;
}

int pop3_cmd_stls(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	if (p->tls)
		return pop3_reply(p, "-ERR Already using TLS");
	if (p->ctx->tls == NULL)
		return pop3_reply(p, "-ERR STLS not available");
	if (pop3_reply(p, "+OK Begin TLS negotiation") != POP3_CONTINUE)
		return POP3_CLOSE;
	/* lio_start_tls_server flushes the reply and drops pipelined plaintext (RFC 2595 section 4). */
	forget_user(p);
	return handshake(p) == 0 ? POP3_CONTINUE : POP3_CLOSE;
}

enum pop3_outcome pop3_try_login(struct pop3 *p, enum privsep_mech mech, const char *user, const char *secret)
{
	struct privsep_request req;
	enum auth_result res;

	if (strlen(user) >= sizeof(req.user) || strlen(secret) >= sizeof(req.secret))
		return pop3_reply(p, "-ERR [AUTH] Authentication failed");
	memset(&req, 0, sizeof(req));
	req.mech = mech;
	memcpy(req.user, user, strlen(user));
	memcpy(req.secret, secret, strlen(secret));
	if (mech == PRIVSEP_APOP)
		snprintf(req.challenge, sizeof(req.challenge), "%s", p->challenge);
	snprintf(req.proto, sizeof(req.proto), "%s", p->proto);
	req.tls = p->tls;
	/* Queued replies go out first: the check may sleep for the failure delay. */
	(void)lio_flush(p->lio);
	/*
	 * Only the verdict: the monitor serves the login with the user it found. A struct auth_user
	 * (8 KB) kept in struct pop3 cost each process of a pair three pages wiped per connection.
	 */
	res = privsep_check(p->ps, &req, NULL);
	explicit_bzero(&req, sizeof(req));
	if (res == AUTH_OK)
		return POP3_LOGIN;
	if (res == AUTH_FAIL)
		return pop3_reply(p, "-ERR [AUTH] Authentication failed");
	if (res == AUTH_LOCKED)
		return pop3_reply(p, "-ERR [AUTH] Too many failed logins from your address: logins from it are refused "
				  "for a while; the helpdesk can lift this");
	if (res == AUTH_REFUSED)
		return pop3_reply(p, "-ERR [AUTH] This account is blocked by the administrator; call the helpdesk");
	return pop3_reply(p, "-ERR [SYS/TEMP] Authentication temporarily unavailable, try again later");
}

/* greet - the banner, with an APOP timestamp (RFC 1939 section 7) when APOP can be used. */
static int greet(struct pop3 *p)
{
	const char *host = p->ctx->hostname != NULL && p->ctx->hostname[0] != '\0' ? p->ctx->hostname : "localhost";

	p->challenge[0] = '\0';
	if (p->apop) {
		int n = snprintf(p->challenge, sizeof(p->challenge), "<%ld.%lld@%s>", (long)getpid(),
				 (long long)time(NULL), host);
		if (n < 0 || (size_t)n >= sizeof(p->challenge)) {
			p->challenge[0] = '\0';
			p->apop = false;
		}
	}
	if (pop3_reply(p, "+OK popgate ready%s%s", p->apop ? " " : "", p->challenge) != POP3_CONTINUE)
		return -1;
	return lio_flush(p->lio);
}

enum pop3_outcome pop3_prelogin(struct pop3 *p)
{
	struct session_ctx *ctx = p->ctx;

	p->state = POP3_AUTHORIZATION;
	lio_set_timeout(p->lio, (int)conf(ctx->cfg)->pop3.idle_timeout);
	lio_set_deadline(p->lio, p->deadline);
	log_session(LOG_INFO, p->proto, ctx->client_ip, NULL, "connect", "port=%d tls=%s", ctx->client_port,
		    ctx->implicit_tls ? "implicit" : "no");
	if (ctx->implicit_tls && (ctx->tls == NULL || handshake(p) < 0))
		return POP3_CLOSE;
	if (greet(p) < 0)
		return POP3_CLOSE;
	return pop3_command_loop(p);
}
