/* fuzz_pop3.c - libFuzzer harness: a whole POP3 session (AUTHORIZATION, TRANSACTION, UPDATE) on a real mbox. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input is everything a client sends. The real command loop, dispatcher, handlers, SASL and
 * mailbox code run in this process; only the privileged monitor is stood in for (privsep_check
 * below), since forking one per input would leave nothing to fuzz. A login as alice/secret (USER
 * and PASS, AUTH PLAIN or AUTH LOGIN) hands the same connection, unread input and all, to the
 * TRANSACTION state on a three-message mbox, as the real handover does.
 *
 * Invariants: replies are CRLF lines of bounded length; one status line per command at most; the
 * monitor only ever gets NUL-terminated, well-formed records; after the session the mbox holds
 * exactly what the QUIT reply says, each remaining message byte-identical to the original.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privsep/privsep.h"
#include "fuzz_mailbox.h"
#include "fuzz_util.h"
#include "pop3d/pop3_int.h"

#define NMSGS 3

static const char mbox_text[] =
	"From sender@example.org Mon Jan  1 00:00:00 2024\n"
	"From: <a@example.org>\nSubject: one\nX-UIDL: qpopper-uidl-1\n\n"
	"line one\n.starts with a dot\n.\n..two dots\nlast\n\n"
	"From sender@example.org Mon Jan  1 00:00:01 2024\n"
	"From: <b@example.org>\nSubject: two %n%n%s\r\n\r\n>From the past\r\nbody two\r\n\n"
	"From sender@example.org Mon Jan  1 00:00:02 2024\n"
	"From: <c@example.org>\nSubject: three\nX-Long: yes\n\n1\n2\n3\n4\n";

/* The monitor's side of the channel; nothing crosses a process boundary here. */
struct privsep {
	unsigned requests;
};

static struct config *cfg;
static struct session_ctx ctx;
static struct privsep monitor;
static struct pop3 sess;
static char mbox_path[512], mbox_spec[600], index_dir[512];
static struct fuzz_msg originals[NMSGS];

/* terminated - whether the fixed-size field F holds a NUL. */
#define terminated(f) (memchr((f), '\0', sizeof(f)) != NULL)

/*
 * privsep_check - the monitor, stood in: the record must be well formed (it crosses a privilege
 * boundary), alice/secret logs in, "tempfail" answers as an unreadable user database would.
 */
enum auth_result privsep_check(struct privsep *ps, const struct privsep_request *req, struct auth_user *user)
{
	FUZZ_CHECK(ps == &monitor, "privsep_check on an unknown channel");
	FUZZ_CHECK(terminated(req->user) && terminated(req->secret) && terminated(req->challenge) &&
		   terminated(req->proto), "a request field is not NUL-terminated");
	FUZZ_CHECK(req->mech == PRIVSEP_PASSWORD || req->mech == PRIVSEP_APOP, "unknown mechanism %d", req->mech);
	FUZZ_CHECK(strcmp(req->proto, "pop3") == 0, "proto \"%s\"", req->proto);
	if (req->mech == PRIVSEP_APOP)
		FUZZ_CHECK(sess.apop && strcmp(req->challenge, sess.challenge) == 0,
			   "APOP check without the greeting's challenge (\"%s\")", req->challenge);
	ps->requests++;
	if (strcmp(req->user, "tempfail") == 0)
		return AUTH_TEMPFAIL;
	if (req->mech != PRIVSEP_PASSWORD || strcmp(req->user, "alice") != 0 || strcmp(req->secret, "secret") != 0)
		return AUTH_FAIL;
	if (user != NULL) {
		memset(user, 0, sizeof(*user));
		snprintf(user->name, sizeof(user->name), "alice");
		user->uid = getuid();
		user->gid = getgid();
		snprintf(user->mailbox, sizeof(user->mailbox), "%s", mbox_spec);
	}
	return AUTH_OK;
}

/* open_mbox - the test mailbox, which must open. */
static struct mailbox *open_mbox(void)
{
	struct mailbox *mb = NULL;
	enum mailbox_status st = mailbox_open(mbox_spec, index_dir, &mb);

	FUZZ_CHECK(st == MAILBOX_OK, "mailbox_open: %s", mailbox_status_name(st));
	return mb;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[2048], state[512];
	struct mailbox *mb;

	fuzz_setup();
	fuzz_path("state", state, sizeof(state));
	fuzz_path("index", index_dir, sizeof(index_dir));
	fuzz_path("alice", mbox_path, sizeof(mbox_path));
	snprintf(mbox_spec, sizeof(mbox_spec), "mbox:%s", mbox_path);
	FUZZ_CHECK(mkdir(state, 0700) == 0 && mkdir(index_dir, 0700) == 0, "mkdir in %s", fuzz_dir());
	snprintf(text, sizeof(text),
		 "[server]\nstate_dir = %s\nhostname = pop.fuzz\n[auth]\nbackend = file\nfail_delay = 0\n"
		 "[relay]\ndb_dir = %s/relay\n[pop3]\nmax_bad_commands = 20\n", state, state);
	cfg = fuzz_config(text);
	mailbox_set_lock_timeout(1);
	fuzz_write_file(mbox_path, mbox_text, sizeof(mbox_text) - 1);
	mb = open_mbox();
	FUZZ_CHECK(mailbox_count(mb) == NMSGS, "the template mbox has %zu messages", mailbox_count(mb));
	for (size_t i = 0; i < NMSGS; i++)
		fuzz_mailbox_send(mb, i, -1, &originals[i]);
	mailbox_close(&mb);
	return 0;
}

/* run_session - what pop3_session_main does, without the fork: prelogin, then the maildrop. */
static bool run_session(int fd)
{
	enum pop3_outcome o;
	bool logged_in = false;

	memset(&sess, 0, sizeof(sess));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.fd = fd;
	ctx.report_fd = -1;
	ctx.dispatch_fd = -1;
	ctx.login_fd = -1;
	ctx.hostname = "pop.fuzz";
	ctx.proto = "pop3";
	ctx.client_port = 40000;
	ctx.local_port = 110;
	FUZZ_CHECK(ip_parse("127.0.0.1", &ctx.client) == 0, "ip_parse");
	ip_format(&ctx.client, ctx.client_ip);
	snprintf(ctx.local_ip, sizeof(ctx.local_ip), "127.0.0.1");
	sess.ctx = &ctx;
	sess.proto = "pop3";
	sess.deadline = lio_now() + 3600;
	sess.apop = true;
	sess.ps = &monitor;
	sess.lio = lio_new(fd);
	FUZZ_CHECK(sess.lio != NULL, "lio_new");
	o = pop3_prelogin(&sess);
	if (o == POP3_LOGIN) {
		struct mailbox *mb = open_mbox();

		logged_in = true;
		sess.username = "alice"; /* the only user privsep_check lets in */
		(void)pop3_transaction(&sess, mb);
		mailbox_close(&mb);
	}
	(void)lio_flush(sess.lio);
	lio_free(&sess.lio);
	return logged_in;
}

/* count_status - reply lines that start a POP3 status ("+OK", "-ERR") and SASL continuations ("+ "). */
static void count_status(const char *out, size_t len, size_t *status, size_t *cont)
{
	const char *p = out, *end = out + len;

	*status = *cont = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl + 1 : end) - p);
		if ((n >= 3 && memcmp(p, "+OK", 3) == 0) || (n >= 4 && memcmp(p, "-ERR", 4) == 0))
			(*status)++;
		else if (n >= 2 && memcmp(p, "+ ", 2) == 0)
			(*cont)++;
		p += n;
	}
}

/* check_mailbox - after the session: the messages the QUIT reply promised, each as it was. */
static void check_mailbox(const char *out)
{
	const char *quit = strstr(out, "+OK popgate signing off (");
	unsigned long left = NMSGS;
	struct mailbox *mb = open_mbox();
	size_t next = 0, count = mailbox_count(mb);

	if (quit != NULL)
		FUZZ_CHECK(sscanf(quit, "+OK popgate signing off (%lu messages left)", &left) == 1, "QUIT reply");
	FUZZ_CHECK(count == left, "mbox holds %zu messages after the session, expected %lu", count, left);
	for (size_t i = 0; i < count; i++) {
		struct fuzz_msg m;

		fuzz_mailbox_send(mb, i, -1, &m);
		while (next < NMSGS && (originals[next].len != m.len || memcmp(originals[next].text, m.text, m.len) != 0))
			next++;
		FUZZ_CHECK(next < NMSGS, "message %zu after the session is none of the originals: %.80s", i, m.text);
		next++;
		fuzz_msg_free(&m);
	}
	mailbox_close(&mb);
	if (count != NMSGS || quit != NULL)
		fuzz_write_file(mbox_path, mbox_text, sizeof(mbox_text) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conn c;
	size_t status, cont, commands = fuzz_count_lines(data, size);
	bool logged_in;

	fuzz_conn_open(&c, data, size);
	logged_in = run_session(c.server_fd);
	fuzz_conn_finish(&c);
	FUZZ_CHECK(c.out_total == c.out_len, "%llu octets of replies", (unsigned long long)c.out_total);
	FUZZ_CHECK(strncmp(c.out, "+OK popgate ready", 17) == 0, "greeting: %.80s", c.out);
	fuzz_check_crlf("POP3 replies", c.out, c.out_len, 1024);
	count_status(c.out, c.out_len, &status, &cont);
	/* The greeting, the maildrop greeting after a login, then at most one status per command line. */
	FUZZ_CHECK(status <= commands + 1 + logged_in, "%zu status lines for %zu command lines", status, commands);
	FUZZ_CHECK(cont <= commands, "%zu SASL continuations for %zu lines", cont, commands);
	if (logged_in)
		check_mailbox(c.out);
	fuzz_conn_free(&c);
	return 0;
}
