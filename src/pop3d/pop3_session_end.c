/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pop3_session_end.c - the POP-before-SMTP authorization slides from the end of a session too.
 *
 * A login has the lookup worker record the client's address, on the monitor's word. A client
 * that downloads for twenty minutes would keep only ten of its thirty after it finished; so the
 * end of the session records it again. The mailbox process runs as the mailbox owner and holds
 * no login channel, so the monitor hands it the client (pop3_owner.c) and stays behind as
 * server.user: when the session ends, however it ends (QUIT, the connection closed or lost, a
 * crash of the mailbox process), the monitor records the authorization again, unless an admin has
 * blocked the account by then (issue 18.3: its logins authorize no relaying, also one blocked
 * during its session). The master still tracks the monitor's pid as the session.
 */
#include <time.h>

#include "auth/blocks.h"
#include "common/log.h"
#include "pop3d/pop3_int.h"
#include "relaydb/login_channel.h"
#include "relaydb/relaydb.h"

/*
 * A session shorter than this keeps the expiry its login gave it, at most this much short of
 * relay.timeout from its end. Recording (a round trip to the lookup worker, a transaction and
 * a map update) costs a short session (fetchmail's login, STAT, QUIT) about as much as its login's
 * record did; expiries are whole seconds, so a second is what a record could change anyway.
 */
#define POP3_RELAY_END_MIN_SECS 1

void pop3_record_end(const struct session_ctx *ctx, const char *client_ip, const char *user, const char *proto,
		     time_t logged_in)
{
	if (time(NULL) - logged_in < POP3_RELAY_END_MIN_SECS)
		return;
	/* Unless the account is blocked now (or the blocks cannot be read: the login's record stands,
	 * and a block must not be missed). */
	if (auth_block_find(ctx->cfg, user, time(NULL), NULL) != 0)
		return;
	(void)relaydb_session_login(ctx->cfg, ctx->login_fd, client_ip, user, proto, RELAY_LOGIN_WAIT_MS);
}

int pop3_serve_as_owner(struct pop3 *p, const struct auth_user *user, const char *index_dir, pop3_serve_fn serve)
{
	time_t logged_in = time(NULL);
	int status = pop3_owner_serve(p, user, index_dir, logged_in, serve);

	if (p->ctx->passed_pid <= 0)
		pop3_record_end(p->ctx, p->ctx->client_ip, user->name, p->proto, logged_in);
	return status;
}
