/* pop3test.h - a scratch maildrop, users and a scripted POP3 client for the POP3 unit tests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POP3TEST_H
#define POPGATE_POP3TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"
#include "testlib.h"

/* Users of the scratch passwd file: alice (mbox, also APOP), bob (Maildir), carol (an mbox file that is not one). */
#define PT_ALICE_PASS "secret"
#define PT_ALICE_APOP "apop-secret"
#define PT_BOB_PASS "hunter2 with spaces"

/* The three messages in alice's and bob's mailboxes, as the client must receive them (CRLF, unstuffed). */
extern const char *const pop3test_msgs[3];

/* The scratch directory of the current test. */
extern char pop3test_dir[TL_PATH_MAX];

/* pop3test_setup - scratch dir, users, mailboxes (a checked fixture: runs in each test's process). */
void pop3test_setup(void);

/* pop3test_teardown - remove the scratch directory. */
void pop3test_teardown(void);

/* pop3test_config - the scratch config with POP3_KEYS (lines for the [pop3] section) added. */
struct config *pop3test_config(const char *pop3_keys);

/* One scripted client connected to a pop3_session_main running in a child process. */
struct pop3test_session {
	int fd;
	pid_t pid;
	size_t len;
	char in[1 << 17];
};

/* pop3test_start - fork a session serving CLIENT_IP (the address it believes the client has). */
void pop3test_start(struct pop3test_session *s, struct config *cfg, const char *client_ip);

/* pop3test_send - write TEXT as is (include "\r\n"). */
void pop3test_send(struct pop3test_session *s, const char *text);

/* pop3test_line - the next reply line without CRLF into BUF (10 s limit); NULL at EOF. */
char *pop3test_line(struct pop3test_session *s, char *buf, size_t cap);

/* pop3test_expect - read a line and fail unless it starts with PREFIX; returns the line (static). */
const char *pop3test_expect(struct pop3test_session *s, const char *prefix);

/* pop3test_body - the lines of a multi-line reply up to "." joined with CRLF, dot-stuffing removed. */
size_t pop3test_body(struct pop3test_session *s, char *out, size_t cap);

/* pop3test_eof - fail unless the server closes the connection (within 10 s). */
void pop3test_eof(struct pop3test_session *s);

/* pop3test_finish - close the client and reap the session; its exit status. */
int pop3test_finish(struct pop3test_session *s);

/* One step of a dialogue: send SEND (CRLF added; NULL sends nothing), expect a reply starting with EXPECT. */
struct pop3test_step {
	const char *send;
	const char *expect;
	bool multi;            /* a multi-line reply follows: read it to its "." */
};

/* pop3test_script - run STEPS until one with send == NULL and expect == NULL. */
void pop3test_script(struct pop3test_session *s, const struct pop3test_step *steps);

/* pop3test_login - USER/PASS as alice and expect the maildrop greeting. */
void pop3test_login(struct pop3test_session *s, const char *user, const char *pass);

/* pop3test_b64 - base64 of LEN bytes of IN into OUT. */
void pop3test_b64(const void *in, size_t len, char *out, size_t cap);

#endif
