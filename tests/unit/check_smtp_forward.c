/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_smtp_forward.c - the hand-off to the next hop. The sendmail path runs real stand-in
 * programs (shell scripts recording argv, environment and stdin, exiting as told); the smarthost
 * path talks to a scripted SMTP server on 127.0.0.1 forked by the test.
 */

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/lineio.h"
#include "smtpd/smtp_forward.h"
#include "check_run.h"
#include "testlib.h"

static char dir[TL_PATH_MAX];
static struct smtp_spool *msg;
static struct smtp_addr from, rcpts[2];
static struct smtp_envelope env;
static struct smtp_forward_cfg fc;
static struct smtp_forward_result res;

static struct smtp_addr parse(const char *path)
{
	struct smtp_addr a;
	const char *p = path;

	ck_assert_int_eq(smtp_addr_parse(&p, &a), SMTP_ADDR_OK);
	return a;
}

static void setup(void)
{
	static const char body[] = "Received: from x ([192.0.2.7])\r\n\tby y; date\r\n"
				   "Subject: test\r\n\r\n.leading dot\r\n.\r\nlast line\r\n";

	tl_scratch(dir, sizeof(dir), "check_smtp_forward");
	msg = smtp_spool_new(65536, dir);
	ck_assert_int_eq(smtp_spool_write(msg, body, sizeof(body) - 1), 0);
	from = parse("<alice@example.org>");
	rcpts[0] = parse("<bob@example.net>");
	rcpts[1] = parse("<-oQ/tmp/x@example.net>");
	env = (struct smtp_envelope){ &from, rcpts, 2, false, sizeof(body) - 1, "ID1", NULL };
	memset(&fc, 0, sizeof(fc));
	fc.helo = "mx.example.org";
	fc.step_timeout = 5;
	fc.total_timeout = 5;
	fc.usable = true;
	memset(&res, 0, sizeof(res));
}

static void teardown(void)
{
	smtp_spool_free(&msg);
	tl_rm_rf(dir);
}

/* slurp - a file of the scratch directory as a string ("" if missing), valid until the next call. */
static const char *slurp(const char *name)
{
	static char *last;

	free(last);
	last = tl_read(tl_path(dir, name), NULL);
	return last != NULL ? last : "";
}

/* stand_in - a sendmail stand-in script running BODY; fc.path points at it. */
static void stand_in(const char *body)
{
	char script[4096];

	tl_pathbuf(fc.path, sizeof(fc.path), dir, "sendmail");
	fc.kind = SMTP_HOP_SENDMAIL;
	ck_assert_uint_lt((size_t)snprintf(script, sizeof(script), "#!/bin/sh\nd=%s\n%s\n", dir, body), sizeof(script));
	tl_write_text(fc.path, script);
	ck_assert_int_eq(chmod(fc.path, 0700), 0);
}

#define RECORD "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > $d/argv; env > $d/env; cat > $d/msg"

START_TEST(test_sendmail_ok)
{
	stand_in(RECORD "; exit 0");
	setenv("POPGATE_TEST_SECRET", "leak", 1);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	ck_assert_str_eq(slurp("argv"), "-i\n-f\nalice@example.org\n--\nbob@example.net\n-oQ/tmp/x@example.net\n");
	/* Local form: LF line ends, no dot-stuffing (-i), the message unchanged otherwise. */
	ck_assert_str_eq(slurp("msg"), "Received: from x ([192.0.2.7])\n\tby y; date\n"
			 "Subject: test\n\n.leading dot\n.\nlast line\n");
	ck_assert_ptr_null(strstr(slurp("env"), "POPGATE_TEST_SECRET"));
	ck_assert_ptr_nonnull(strstr(res.detail, "exited 0"));
}
END_TEST

/* The client named by -oM only with smtp.forward_client_info; a hostile HELO name is left out. */
START_TEST(test_sendmail_client_info)
{
	struct smtp_client_info ci = { .ip = "192.0.2.7", .port = 4025, .helo = "client.example", .esmtp = true,
				       .ident = "ID1" };

	env.client = &ci;
	stand_in(RECORD "; exit 0");
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	ck_assert_str_eq(slurp("argv"), "-i\n-f\nalice@example.org\n--\nbob@example.net\n-oQ/tmp/x@example.net\n");
	fc.client_info = true;
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	ck_assert_str_eq(slurp("argv"), "-i\n-oM{client_addr}192.0.2.7\n-oMrESMTP\n-oMsclient.example\n-f\nalice@example.org\n--\n"
			 "bob@example.net\n-oQ/tmp/x@example.net\n");
	ci.helo = "x -oQ/tmp/evil";
	ci.esmtp = false;
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	ck_assert_str_eq(slurp("argv"), "-i\n-oM{client_addr}192.0.2.7\n-oMrSMTP\n-f\nalice@example.org\n--\n"
			 "bob@example.net\n-oQ/tmp/x@example.net\n");
}
END_TEST

START_TEST(test_sendmail_null_sender)
{
	from = parse("<>");
	stand_in(RECORD "; exit 0");
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	ck_assert_str_eq(slurp("argv"), "-i\n-f\n<>\n--\nbob@example.net\n-oQ/tmp/x@example.net\n");
}
END_TEST

/* Exit statuses and what the client is told. */
static const struct { int code; enum smtp_forward_status st; } exits[] = {
	{ 0, SMTP_FWD_OK }, { 75, SMTP_FWD_TEMPFAIL }, { 1, SMTP_FWD_TEMPFAIL }, { 71, SMTP_FWD_TEMPFAIL },
	{ 64, SMTP_FWD_TEMPFAIL }, { 65, SMTP_FWD_PERMFAIL }, { 67, SMTP_FWD_PERMFAIL },
	{ 68, SMTP_FWD_PERMFAIL }, { 69, SMTP_FWD_TEMPFAIL },
};

START_TEST(test_sendmail_exit_codes)
{
	char body[256];

	snprintf(body, sizeof(body), "cat > /dev/null; echo 'said something' >&2; exit %d", exits[_i].code);
	stand_in(body);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), exits[_i].st);
	ck_assert_msg(strstr(res.detail, "said something") != NULL, "%s", res.detail);
	if (exits[_i].st == SMTP_FWD_PERMFAIL)
		ck_assert_ptr_nonnull(strstr(res.said, "exit status"));
}
END_TEST

START_TEST(test_sendmail_failures_are_temporary)
{
	/* Killed by a signal. */
	stand_in("cat > /dev/null; kill -9 $$");
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(res.detail, "signal 9"));
	/* Not there at all. */
	tl_pathbuf(fc.path, sizeof(fc.path), dir, "no-such-sendmail");
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(res.detail, "cannot execute"));
	/* Unusable settings. */
	fc.usable = false;
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
}
END_TEST

START_TEST(test_sendmail_stops_reading)
{
	char chunk[1000];

	/* Larger than a pipe buffer, and the stand-in exits 0 without reading: not delivered. */
	memset(chunk, 'z', 998);
	memcpy(chunk, "\r\n", 2);
	for (int i = 0; i < 300; i++)
		ck_assert_int_eq(smtp_spool_write(msg, chunk, 1000), 0);
	stand_in("exit 0");
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	ck_assert_msg(strstr(res.detail, "stopped reading") != NULL, "%s", res.detail);
}
END_TEST

START_TEST(test_sendmail_hangs)
{
	time_t t0 = time(NULL);

	fc.total_timeout = 1;
	stand_in("cat > /dev/null; exec sleep 30");
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(res.detail, "timed out"));
	ck_assert_int_le(time(NULL) - t0, 4);
}
END_TEST

START_TEST(test_next_hop_parse)
{
	struct smtp_forward_cfg c;
	char err[128];

	ck_assert_int_eq(smtp_next_hop_parse("sendmail:/usr/sbin/sendmail", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.kind, SMTP_HOP_SENDMAIL);
	ck_assert_str_eq(c.path, "/usr/sbin/sendmail");
	ck_assert_int_eq(smtp_next_hop_parse("smtp:relay.example.org:587", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.kind, SMTP_HOP_SMTP);
	ck_assert_str_eq(c.host, "relay.example.org");
	ck_assert_str_eq(c.port, "587");
	ck_assert_int_eq(smtp_next_hop_parse("smtp:[2001:db8::1]:25", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.host, "2001:db8::1");
	ck_assert_int_eq(smtp_next_hop_parse("sendmail:relative/sendmail", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(smtp_next_hop_parse("smtp:host", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(smtp_next_hop_parse("smtp:host:0", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(smtp_next_hop_parse("smtp:host:99999", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(smtp_next_hop_parse("smtp:2001:db8::1:25", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(smtp_next_hop_parse("lmtp:/run/lmtp", &c, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_sendmail_status)
{
	ck_assert_int_eq(smtp_sendmail_status(0), SMTP_FWD_OK);
	ck_assert_int_eq(smtp_sendmail_status(75 << 8), SMTP_FWD_TEMPFAIL);
	ck_assert_int_eq(smtp_sendmail_status(67 << 8), SMTP_FWD_PERMFAIL);
	ck_assert_int_eq(smtp_sendmail_status(SIGKILL), SMTP_FWD_TEMPFAIL);
}
END_TEST

/*
 * The scripted smarthost: one connection; each step optionally reads one line (which is logged
 * to DIR/dialog) and sends a reply. "<DATA>" reads the message up to the dot into DIR/body.
 */
struct step {
	const char *expect;  /* NULL: send without reading (greeting); "<DATA>": read the message */
	const char *reply;   /* sent as is (CRLFs included); NULL: close the connection */
};

static void serve_script(int lfd, const struct step *script)
{
	int fd = accept(lfd, NULL, NULL);
	struct lio *l = lio_new(fd);
	char line[2048];
	FILE *dialog = fopen(tl_path(dir, "dialog"), "w");
	FILE *body = fopen(tl_path(dir, "body"), "w");

	lio_set_timeout(l, 5);
	for (const struct step *s = script; ; s++) {
		size_t len;

		if (s->expect != NULL && strcmp(s->expect, "<DATA>") == 0) {
			while (lio_read_line(l, line, sizeof(line), &len, NULL) == LIO_OK && strcmp(line, ".") != 0)
				fprintf(body, "%s\n", line);
		} else if (s->expect != NULL) {
			if (lio_read_line(l, line, sizeof(line), &len, NULL) != LIO_OK)
				break;
			fprintf(dialog, "%s\n", line);
			if (strncmp(line, s->expect, strlen(s->expect)) != 0)
				fprintf(dialog, "UNEXPECTED (wanted %s)\n", s->expect);
		}
		if (s->reply == NULL)
			break;
		lio_write(l, s->reply, strlen(s->reply));
		lio_flush(l);
	}
	fclose(dialog);
	fclose(body);
	lio_free(&l);
	_exit(0);
}

/* smarthost - fork the scripted server on a free loopback port and point fc at it. */
static pid_t smarthost(const struct step *script)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	fc.kind = SMTP_HOP_SMTP;
	snprintf(fc.host, sizeof(fc.host), "127.0.0.1");
	snprintf(fc.port, sizeof(fc.port), "%u", ntohs(sa.sin_port));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		serve_script(lfd, script);
	close(lfd);
	return pid;
}

static void reap(pid_t pid)
{
	int ws;

	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
}

#define GREET { NULL, "220 sink ESMTP\r\n" }
#define EHLO_REPLY "250-sink\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250 AUTH LOGIN PLAIN\r\n"

static const struct step happy[] = {
	GREET, { "EHLO mx.example.org", EHLO_REPLY }, { "MAIL FROM:<alice@example.org> SIZE=", "250 ok\r\n" },
	{ "RCPT TO:<bob@example.net>", "250 ok\r\n" }, { "RCPT TO:<-oQ/tmp/x@example.net>", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", "250 2.0.0 queued as X1\r\n" }, { "QUIT", "221 bye\r\n" },
	{ NULL, NULL },
};

START_TEST(test_smarthost_ok)
{
	pid_t pid = smarthost(happy);

	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	reap(pid);
	ck_assert_ptr_null(strstr(slurp("dialog"), "UNEXPECTED"));
	/* Dot-stuffed on the wire: the server-side reader sees the doubled dots. */
	ck_assert_str_eq(slurp("body"), "Received: from x ([192.0.2.7])\n\tby y; date\nSubject: test\n\n"
			 "..leading dot\n..\nlast line\n");
	ck_assert_ptr_nonnull(strstr(res.detail, "queued as X1"));
}
END_TEST

/* A smarthost offering XFORWARD gets the client's facts before MAIL; one that does not, nothing. */
#define EHLO_XF "250-sink\r\n250-XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n250 8BITMIME\r\n"
static const struct step xforward_ok[] = {
	GREET, { "EHLO mx.example.org", EHLO_XF },
	{ "XFORWARD NAME=[UNAVAILABLE] ADDR=192.0.2.7 PORT=4025 PROTO=ESMTP HELO=client.example IDENT=ID1",
	  "250 2.0.0 Ok\r\n" },
	{ "MAIL FROM:<alice@example.org>", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", "250 2.0.0 queued as X2\r\n" }, { "QUIT", "221 bye\r\n" },
	{ NULL, NULL },
};
static const struct step xforward_refused[] = {
	GREET, { "EHLO", EHLO_XF }, { "XFORWARD", "550 5.7.0 Error: insufficient authorization\r\n" },
	{ "QUIT", "221 bye\r\n" }, { NULL, NULL },
};

START_TEST(test_smarthost_xforward)
{
	struct smtp_client_info ci = { .ip = "192.0.2.7", .port = 4025, .helo = "client.example", .esmtp = true,
				       .ident = "ID1" };
	pid_t pid;

	env.client = &ci;
	pid = smarthost(xforward_ok);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	reap(pid);
	ck_assert_ptr_null(strstr(slurp("dialog"), "UNEXPECTED"));
	ck_assert_ptr_nonnull(strstr(slurp("dialog"), "XFORWARD NAME="));
	/* Refused: the message is deferred, never relayed as if it came from us. */
	pid = smarthost(xforward_refused);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	reap(pid);
	ck_assert_ptr_nonnull(strstr(res.detail, "XFORWARD"));
	/* Not offered (the happy script's EHLO): MAIL comes right after EHLO. */
	pid = smarthost(happy);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	reap(pid);
	ck_assert_ptr_null(strstr(slurp("dialog"), "UNEXPECTED"));
	ck_assert_ptr_null(strstr(slurp("dialog"), "XFORWARD"));
}
END_TEST

/* Refusals at each stage, and what they become. */
static const struct step rcpt_550[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "MAIL", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "RCPT", "550 5.1.1 no such user\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL },
};
static const struct step rcpt_450[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "MAIL", "250 ok\r\n" }, { "RCPT", "450 4.2.0 greylisted\r\n" },
	{ "QUIT", "221 bye\r\n" }, { NULL, NULL },
};
static const struct step mail_553[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "MAIL", "553 5.7.1 sender rejected\r\n" }, { "QUIT", "221 bye\r\n" },
	{ NULL, NULL },
};
static const struct step final_554[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "MAIL", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", "554 5.7.1 spam\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL },
};
static const struct step final_451[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "MAIL", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", "451 4.3.0 try later\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL },
};
static const struct step final_lost[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "MAIL", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", NULL },
};
static const struct step greet_554[] = { { NULL, "554 go away\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL } };
static const struct step garbage[] = { GREET, { "EHLO", "250-ok\r\n999 what\r\n" }, { NULL, NULL } };
static const struct step mixed_codes[] = { GREET, { "EHLO", "250-ok\r\n220 what\r\n" }, { NULL, NULL } };
static const struct step no_tls[] = { GREET, { "EHLO", EHLO_REPLY }, { "QUIT", "221 bye\r\n" }, { NULL, NULL } };
static const struct step helo_only[] = {
	GREET, { "EHLO", "502 no\r\n" }, { "HELO mx.example.org", "250 ok\r\n" },
	{ "MAIL FROM:<alice@example.org>", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", "250 ok\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL },
};

static const struct { const struct step *script; enum smtp_forward_status st; const char *said; } outcomes[] = {
	{ rcpt_550, SMTP_FWD_PERMFAIL, "550 5.1.1 no such user" },
	{ rcpt_450, SMTP_FWD_TEMPFAIL, "450 4.2.0 greylisted" },
	{ mail_553, SMTP_FWD_PERMFAIL, "553 5.7.1 sender rejected" },
	{ final_554, SMTP_FWD_PERMFAIL, "554 5.7.1 spam" },
	{ final_451, SMTP_FWD_TEMPFAIL, "451 4.3.0 try later" },
	{ final_lost, SMTP_FWD_TEMPFAIL, "" },
	{ greet_554, SMTP_FWD_TEMPFAIL, "554 go away" },
	{ garbage, SMTP_FWD_TEMPFAIL, "" },
	{ mixed_codes, SMTP_FWD_TEMPFAIL, "" },
	{ helo_only, SMTP_FWD_OK, "" },
};

START_TEST(test_smarthost_outcomes)
{
	pid_t pid = smarthost(outcomes[_i].script);

	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), outcomes[_i].st);
	reap(pid);
	ck_assert_msg(strcmp(res.said, outcomes[_i].said) == 0, "said \"%s\" (%s)", res.said, res.detail);
	ck_assert_ptr_null(strstr(slurp("dialog"), "UNEXPECTED"));
}
END_TEST

START_TEST(test_smarthost_tls_required)
{
	pid_t pid;

	fc.tls = SMTP_HOP_TLS_REQUIRE;
	pid = smarthost(no_tls);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	reap(pid);
	ck_assert_ptr_nonnull(strstr(res.detail, "does not offer STARTTLS"));
}
END_TEST

static const struct step auth_ok[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "235 ok\r\n" },
	{ "MAIL", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" }, { "RCPT", "250 ok\r\n" },
	{ "DATA", "354 go\r\n" }, { "<DATA>", "250 ok\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL },
};
static const struct step auth_bad[] = {
	GREET, { "EHLO", EHLO_REPLY }, { "AUTH PLAIN", "535 5.7.8 bad credentials\r\n" }, { "QUIT", "221 bye\r\n" },
	{ NULL, NULL },
};
static const struct step auth_missing[] = {
	GREET, { "EHLO", "250-sink\r\n250 SIZE 100\r\n" }, { "QUIT", "221 bye\r\n" }, { NULL, NULL },
};

START_TEST(test_smarthost_auth)
{
	pid_t pid;

	fc.have_auth = true;
	snprintf(fc.auth_user, sizeof(fc.auth_user), "alice");
	snprintf(fc.auth_pass, sizeof(fc.auth_pass), "secret");
	pid = smarthost(auth_ok);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_OK);
	reap(pid);
	ck_assert_ptr_null(strstr(slurp("dialog"), "UNEXPECTED"));
	/* Refused credentials are our configuration's problem: the client keeps the message. */
	pid = smarthost(auth_bad);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	reap(pid);
	pid = smarthost(auth_missing);
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	reap(pid);
	ck_assert_ptr_nonnull(strstr(res.detail, "does not offer AUTH PLAIN"));
}
END_TEST

START_TEST(test_smarthost_down)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was free a moment ago: nothing listens there. */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	fc.kind = SMTP_HOP_SMTP;
	snprintf(fc.host, sizeof(fc.host), "127.0.0.1");
	snprintf(fc.port, sizeof(fc.port), "%u", ntohs(sa.sin_port));
	ck_assert_int_eq(smtp_forward(&fc, &env, msg, &res), SMTP_FWD_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(res.detail, "cannot connect"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("smtp_forward");
	TCase *tc = tcase_create("sendmail");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sendmail_ok);
	tcase_add_test(tc, test_sendmail_null_sender);
	tcase_add_test(tc, test_sendmail_client_info);
	tcase_add_loop_test(tc, test_sendmail_exit_codes, 0, (int)(sizeof(exits) / sizeof(exits[0])));
	tcase_add_test(tc, test_sendmail_failures_are_temporary);
	tcase_add_test(tc, test_sendmail_stops_reading);
	tcase_add_test(tc, test_sendmail_hangs);
	tcase_add_test(tc, test_next_hop_parse);
	tcase_add_test(tc, test_sendmail_status);
	suite_add_tcase(s, tc);
	tc = tcase_create("smarthost");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_smarthost_ok);
	tcase_add_loop_test(tc, test_smarthost_outcomes, 0, (int)(sizeof(outcomes) / sizeof(outcomes[0])));
	tcase_add_test(tc, test_smarthost_tls_required);
	tcase_add_test(tc, test_smarthost_auth);
	tcase_add_test(tc, test_smarthost_down);
	tcase_add_test(tc, test_smarthost_xforward);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
