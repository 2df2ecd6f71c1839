/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pop3_session_end.c - the POP-before-SMTP authorization slides from the end of a session too.
 *
 * A login has the lookup worker record the client's address, on the monitor's word. A client
 * that downloads for twenty minutes would keep only ten of its thirty after it finished; so the
 * end of the session records it again. The mailbox process runs as the mailbox owner and holds
 * no login channel, so the monitor forks it and stays behind as server.user: when the mailbox
 * process ends, however it ends (QUIT, the connection closed or lost, a crash), the monitor records
 * the authorization again and exits, unless an admin has blocked the account by then (issue 18.3:
 * its logins authorize no relaying, also one blocked during its session). The master still tracks
 * the monitor's pid as the session.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "auth/blocks.h"
#include "common/log.h"
#include "common/session_conn.h"
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

/* record_end - the session's end slides the authorization, unless the account is blocked now (or
 * the blocks cannot be read: the login's record stands, and a block must not be missed). */
static void record_end(const struct pop3 *p, const struct auth_user *user)
{
	if (auth_block_find(p->ctx->cfg, user->name, time(NULL), NULL) != 0)
		return;
	(void)relaydb_session_login(p->ctx->cfg, p->ctx->login_fd, p->ctx->client_ip, user->name, p->proto,
				    RELAY_LOGIN_WAIT_MS);
}

/* mailbox_child - become the owner, tied to the monitor's life, and serve; the exit status. */
static int mailbox_child(struct pop3 *p, const struct auth_user *user, const char *index_dir, pid_t monitor,
			 pop3_serve_fn serve)
{
	if (pop3_become_user(user) < 0) {
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "setuid failed", NULL);
		if (pop3_reply(p, "%s", "-ERR [SYS/TEMP] Cannot switch to the mailbox owner") == POP3_CONTINUE)
			(void)lio_flush(p->lio);
		return 1;
	}
	/* After the uid change, which clears it: a monitor killed at shutdown takes the session along. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor)
		return 1;
	return serve(p, user, index_dir);
}

int pop3_serve_as_owner(struct pop3 *p, const struct auth_user *user, const char *index_dir, pop3_serve_fn serve)
{
	pid_t monitor = getpid(), pid;
	time_t logged_in = time(NULL);
	int status = 0;

	if ((pid = fork()) < 0) {
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "fork failed", "%s", strerror(errno));
		if (pop3_reply(p, "%s", "-ERR [SYS/TEMP] Cannot start the session, try again later") == POP3_CONTINUE)
			(void)lio_flush(p->lio);
		return 1;
	}
	if (pid == 0) {
		/*
		 * The mailbox owner reports nothing to the master: without the channel's write end it
		 * cannot fill it and crowd out other sessions' reports (failed logins, hand-offs).
		 */
		session_drop_channels(p->ctx); /* nor record logins: that is the monitor's to do */
		auth_client_forget(); /* nor ask the auth worker: it checks passwords for monitors only */
		_exit(mailbox_child(p, user, index_dir, monitor, serve));
	}
	/* The client is the mailbox process's alone: its end must close the connection. */
	lio_free(&p->lio);
	status = session_reap(pid, 0);
	if (time(NULL) - logged_in >= POP3_RELAY_END_MIN_SECS)
		record_end(p, user);
	return status;
}
