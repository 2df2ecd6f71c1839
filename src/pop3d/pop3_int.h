/* pop3_int.h - what the POP3 modules share: session state, command table, dispatcher, handlers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * What the POP3 modules share: the session state, the command table and its
 * dispatcher, replies, and the per-state handlers.
 *
 * The AUTHORIZATION state runs in the unprivileged protocol child (pop3_prelogin.c,
 * pop3_sasl.c); the TRANSACTION state runs in the post-login process as the mailbox owner
 * (pop3_postlogin.c). Both go through the table in pop3_cmd.c and the one dispatcher of
 * common/session_cmd.c, which SMTP uses too.
 */
#ifndef POPGATE_POP3_INT_H
#define POPGATE_POP3_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/auth.h"
#include "common/lineio.h"
#include "common/session_cmd.h"
#include "privsep/privsep.h"
#include "common/session.h"
#include "mailbox/mailbox.h"
#include "pop3d/pop3_limits.h"

/* Protocol states (RFC 1939 section 3), as bits so a command can name where it is valid. */
enum pop3_state {
	POP3_AUTHORIZATION = 1,
	POP3_TRANSACTION = 2,
};

/* What a command handler tells the dispatcher. */
enum pop3_outcome {
	POP3_CONTINUE,  /* replied; read the next command */
	POP3_LOGIN,     /* AUTHORIZATION succeeded (nothing replied yet): hand the client over */
	POP3_QUIT,      /* QUIT answered: close */
	POP3_CLOSE,     /* cannot go on (I/O failure, too many bad commands): close */
};

/* One POP3 session, on either side of the privilege split. */
struct pop3 {
	struct session_ctx *ctx;
	struct lio *lio;
	enum pop3_state state;
	const char *proto;        /* "pop3", or "pop3s" under TLS (implicit or STLS) */
	bool tls;                 /* the client's connection is encrypted */
	unsigned bad;             /* bad commands so far */
	time_t deadline;          /* pop3.session_timeout, monotonic */

	/* AUTHORIZATION (protocol child) */
	struct privsep *ps;
	bool apop;                /* the greeting carried a challenge */
	char challenge[POP3_CHALLENGE_MAX];
	bool have_user;           /* USER was accepted and PASS may follow */
	char user[AUTH_NAME_MAX];

	/* TRANSACTION (post-login process) */
	struct mailbox *mb;
	const char *username;
	unsigned long retrieved, deleted;

	char line[POP3_LINE_MAX + 1];
};

/* pop3_command_table - the POP3 commands and their -ERR replies, for session_cmd_dispatch. */
extern const struct session_cmd_table pop3_command_table;

/* pop3_dispatch_line - parse and run one command line already in p->line (the table in pop3_cmd.c). */
enum pop3_outcome pop3_dispatch_line(struct pop3 *p, size_t len);

/*
 * pop3_command_loop - read and run commands until one ends the state. Replies are flushed only
 * when no pipelined input is waiting. Returns POP3_LOGIN, POP3_QUIT or POP3_CLOSE.
 */
enum pop3_outcome pop3_command_loop(struct pop3 *p);

/* pop3_bad - count a bad command and reply "-ERR WHY", or close when pop3.max_bad_commands is reached. */
enum pop3_outcome pop3_bad(struct pop3 *p, const char *why);

/* pop3_reply - queue one response line (CRLF added). POP3_CONTINUE, or POP3_CLOSE on a write failure. */
enum pop3_outcome pop3_reply(struct pop3 *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pop3_parse_number - a decimal message number or count: digits only, no sign, no overflow. 0 or -1. */
int pop3_parse_number(const char *s, unsigned long *out);

/* pop3_plaintext_allowed - whether passwords may be sent in clear on this connection. */
bool pop3_plaintext_allowed(const struct config *cfg, const struct ip_addr *client, bool tls);

/* What decides the capability list. */
struct pop3_capa_in {
	enum pop3_state state;
	bool tls_active;          /* the connection is already encrypted */
	bool tls_available;       /* a TLS context exists, so STLS can be offered */
	bool plaintext_ok;        /* pop3_plaintext_allowed */
};

/* pop3_capa_format - the CAPA response (RFC 2449) with its final ".\r\n" into OUT; its length, or -1. */
int pop3_capa_format(const struct config *cfg, const struct pop3_capa_in *in, char *out, size_t cap);

/*
 * The handlers, in the one shape of common/session_cmd.h: SESSION is the struct pop3, A the
 * arguments the table let through, and the value returned an enum pop3_outcome.
 */
/* pop3_cmd_capa - CAPA in either state. */
int pop3_cmd_capa(void *session, struct session_args *a);

/* AUTHORIZATION handlers (pop3_prelogin.c). */
/* pop3_cmd_user - USER name: remember it for PASS (refused where plaintext is not allowed). */
int pop3_cmd_user(void *session, struct session_args *a);
/* pop3_cmd_pass - PASS string (the rest of the line): check USER's password through the monitor. */
int pop3_cmd_pass(void *session, struct session_args *a);
/* pop3_cmd_apop - APOP name digest: check against the greeting's challenge through the monitor. */
int pop3_cmd_apop(void *session, struct session_args *a);
/* pop3_cmd_stls - STLS (RFC 2595): TLS handshake, dropping pipelined plaintext and USER. */
int pop3_cmd_stls(void *session, struct session_args *a);
/* pop3_cmd_quit_auth - QUIT before login: say goodbye. */
int pop3_cmd_quit_auth(void *session, struct session_args *a);

/* pop3_cmd_auth - AUTH [mechanism [initial-response]] (RFC 5034), in pop3_sasl.c. */
int pop3_cmd_auth(void *session, struct session_args *a);

/*
 * pop3_try_login - ask the monitor to check USER with SECRET (a password, or an APOP digest).
 * On success returns POP3_LOGIN (the monitor, not the child, keeps the user found); otherwise
 * replies -ERR [AUTH] or [SYS/TEMP]. SECRET is not kept; the caller wipes its own copies.
 */
enum pop3_outcome pop3_try_login(struct pop3 *p, enum privsep_mech mech, const char *user, const char *secret);

/* pop3_prelogin - greet and run the AUTHORIZATION state in the protocol child. POP3_LOGIN, _QUIT or _CLOSE. */
enum pop3_outcome pop3_prelogin(struct pop3 *p);

/* TRANSACTION handlers (pop3_postlogin.c); messages marked deleted are "no such message". */
/* pop3_cmd_stat - STAT: count and octets of the undeleted messages. */
int pop3_cmd_stat(void *session, struct session_args *a);
/* pop3_cmd_list - LIST [msg]: sizes. */
int pop3_cmd_list(void *session, struct session_args *a);
/* pop3_cmd_retr - RETR msg: the whole message, dot-stuffed; marks it seen. */
int pop3_cmd_retr(void *session, struct session_args *a);
/* pop3_cmd_top - TOP msg n: the headers and N body lines. */
int pop3_cmd_top(void *session, struct session_args *a);
/* pop3_cmd_dele - DELE msg: mark for deletion at QUIT. */
int pop3_cmd_dele(void *session, struct session_args *a);
/* pop3_cmd_noop - NOOP. */
int pop3_cmd_noop(void *session, struct session_args *a);
/* pop3_cmd_rset - RSET: unmark every deletion. */
int pop3_cmd_rset(void *session, struct session_args *a);
/* pop3_cmd_uidl - UIDL [msg]: unique ids (RFC 1939 section 7). */
int pop3_cmd_uidl(void *session, struct session_args *a);
/* pop3_cmd_quit_trans - QUIT after login: the UPDATE state (mailbox_commit), then goodbye. */
int pop3_cmd_quit_trans(void *session, struct session_args *a);

/*
 * pop3_transaction - greet with the maildrop's size and run the TRANSACTION state on MB (owned by
 * the caller). Returns POP3_QUIT after the UPDATE state, or POP3_CLOSE (deletions not applied).
 */
enum pop3_outcome pop3_transaction(struct pop3 *p, struct mailbox *mb);

/* pop3_mailbox_error - the RFC 2449/3206 reply for a mailbox that could not be opened. */
const char *pop3_mailbox_error(enum mailbox_status st);

/*
 * pop3_index_dir - create STATE_DIR/index/UID (mode 0700, owned by UID:GID) without following
 * links, into OUT; one stat when it is there and UID:GID's already. Run before pop3_become_user
 * (it needs root or CAP_CHOWN). 0, or -1 logged.
 */
int pop3_index_dir(const struct config *cfg, uid_t uid, gid_t gid, char *out, size_t cap);

/* The mailbox process's work once it is the owner: open the maildrop at USER, serve it; exit status. */
typedef int (*pop3_serve_fn)(struct pop3 *p, const struct auth_user *user, const char *index_dir);

/*
 * pop3_serve_as_owner - have the mailbox process, as USER, run SERVE on P's client; this process
 * (the monitor, server.user) gives up the connection, and when the session is over records the
 * relay authorization again, so that it slides from the session's end. In a reused pair the
 * mailbox process is kept for the next login with USER's credentials, and a plain session goes on
 * without the monitor (p->ctx->passed_pid set; its end is heard later, pop3_owner.c); otherwise
 * this waits for the session's end. Returns the session's exit status (0 when passed on).
 */
int pop3_serve_as_owner(struct pop3 *p, const struct auth_user *user, const char *index_dir, pop3_serve_fn serve);

/*
 * pop3_record_end - a session of USER from CLIENT_IP over PROTO, logged in at LOGGED_IN, is over:
 * the authorization slides from now, on the login channel of the monitor's CTX (pop3_session_end.c).
 */
void pop3_record_end(const struct session_ctx *ctx, const char *client_ip, const char *user, const char *proto,
		     time_t logged_in);

/*
 * pop3_owner_serve - a kept mailbox process serves P's login when one runs with USER's uid, gid
 * and groups; otherwise one is forked (it becomes USER). Gives up P's connection; then lets the
 * session go on (see pop3_serve_as_owner) or waits for its end. The session's exit status.
 */
int pop3_owner_serve(struct pop3 *p, const struct auth_user *user, const char *index_dir, time_t logged_in,
		     pop3_serve_fn serve);

/* pop3_owner_release - member_service.monitor_idle: end the kept mailbox processes that serve no session. */
void pop3_owner_release(void);

/*
 * pop3_owner_forget - member_service.child_forget: in a process forked by a monitor that keeps
 * mailbox processes (a protocol child, another mailbox process), close the copies of their
 * channels (it must not reach them); the processes live on.
 */
void pop3_owner_forget(void);

/* pop3_mail_gid - the "mail" group when USER's mbox lives in a directory only that group may write to; else -1. */
long pop3_mail_gid(const struct auth_user *user);

/* Supplementary groups held without an allocation: an owner in more gets them all from the heap. */
#define POP3_GROUPS_INLINE 64

/* The groups a mailbox process runs with, looked up before the fork (pop3_user_groups). */
struct pop3_groups {
	gid_t own[POP3_GROUPS_INLINE];
	gid_t *gid;                     /* own, or an allocation for an owner in more groups */
	int n;
};

/*
 * pop3_user_groups - USER's groups for its mailbox process into OUT: all those of the account
 * owning its uid, and MAIL_GID (pop3_mail_gid's answer for USER) when it is not -1 (dotlocks in
 * /var/mail). The monitor asks before it forks: the new process then runs no NSS code, whose
 * first run in a fresh process costs it page faults and a symbol look-up. 0, or -1 logged (out of
 * memory); either way pop3_groups_free(OUT) after.
 */
int pop3_user_groups(const struct auth_user *user, long mail_gid, struct pop3_groups *out);

/* pop3_groups_free - release what pop3_user_groups allocated into G, if anything. */
void pop3_groups_free(struct pop3_groups *g);

/*
 * pop3_become_user - drop to USER's uid and gid for good, with GROUPS (pop3_user_groups' answer)
 * and no capability left. Unprivileged (tests), succeeds only if we already are USER. 0 or -1.
 */
int pop3_become_user(const struct auth_user *user, const struct pop3_groups *groups);

#endif
