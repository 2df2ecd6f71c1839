/* pop3test.c - scratch users and maildrops, and a scripted client driving the real pop3_session_main. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_client.h"
#include "auth/auth_worker.h"
#include "common/cidr.h"
#include "common/lifeline.h"
#include "pop3d/pop3.h"
#include "pop3test.h"

char pop3test_dir[TL_PATH_MAX];

const char *const pop3test_msgs[3] = {
	"From: <a@example.org>\r\nSubject: one\r\n\r\nline one\r\n.starts with a dot\r\n.\r\nlast\r\n",
	"From: <b@example.org>\r\nSubject: two\r\n\r\nbody two\r\n",
	"From: <c@example.org>\r\nSubject: three\r\nX-Long: yes\r\n\r\n1\r\n2\r\n3\r\n4\r\n",
};

/* run_ids - who sessions run as: nobody under root (the file backend's default server.user), else us. */
static void run_ids(const char **name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = geteuid() == 0 ? getpwnam("nobody") : getpwuid(geteuid());

	ck_assert_ptr_nonnull(pw);
	*name = pw->pw_name;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

/* scratch - NAME inside the scratch directory, into BUF; returns BUF. */
static const char *scratch(const char *name, char *buf, size_t cap)
{
	return tl_pathbuf(buf, cap, pop3test_dir, name);
}

/* put - create PATH with TEXT (LF line ends as given), owned by the session user. */
static void put(const char *path, const char *text, mode_t mode)
{
	const char *name;
	uid_t uid;
	gid_t gid;

	tl_write_text(path, text);
	run_ids(&name, &uid, &gid);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, uid, gid), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* dir - mkdir PATH owned by the session user. */
static void dir(const char *path)
{
	const char *name;
	uid_t uid;
	gid_t gid;

	ck_assert_msg(mkdir(path, 0700) == 0, "%s: %s", path, strerror(errno));
	run_ids(&name, &uid, &gid);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, uid, gid), 0);
}

/* lf - MSG with CRLF turned back into LF, as a delivery agent stores it. */
static void lf(const char *msg, char *out, size_t cap)
{
	size_t n = 0;

	for (; *msg != '\0' && n + 1 < cap; msg++)
		if (*msg != '\r')
			out[n++] = *msg;
	out[n] = '\0';
}

/* mailboxes - alice's mbox and bob's Maildir, each holding pop3test_msgs. */
static void mailboxes(void)
{
	char path[256], mbox[4096] = "", msg[1024];
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		lf(pop3test_msgs[i], msg, sizeof(msg));
		n += (size_t)snprintf(mbox + n, sizeof(mbox) - n, "From sender@example.org Mon Jan  1 00:00:0%d 2024\n%s\n",
				      i, msg);
	}
	dir(scratch("mail", path, sizeof(path)));
	put(scratch("mail/alice", path, sizeof(path)), mbox, 0600);
	put(scratch("mail/carol", path, sizeof(path)), "not an mbox: no From_ line\n", 0600);
	dir(scratch("mail/bob", path, sizeof(path)));
	dir(scratch("mail/bob/new", path, sizeof(path)));
	dir(scratch("mail/bob/cur", path, sizeof(path)));
	dir(scratch("mail/bob/tmp", path, sizeof(path)));
	for (int i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "mail/bob/new/%d.M%dP1.test", 1700000000 + i, i);
		lf(pop3test_msgs[i], msg, sizeof(msg));
		put(scratch(name, path, sizeof(path)), msg, 0600);
	}
}

void pop3test_setup(void)
{
	char path[256], text[2048], h1[256], h2[256];

	tl_scratch(pop3test_dir, sizeof(pop3test_dir), "check_pop3");
	ck_assert_int_eq(chmod(pop3test_dir, 0755), 0);
	ck_assert_int_eq(auth_hash_password(PT_ALICE_PASS, h1, sizeof(h1)), 0);
	ck_assert_int_eq(auth_hash_password(PT_BOB_PASS, h2, sizeof(h2)), 0);
	ck_assert_int_lt(snprintf(text, sizeof(text),
				  "alice:%s:mbox:%s/mail/alice\nbob:%s:maildir:%s/mail/bob\ncarol:%s:mbox:%s/mail/carol\n",
				  h1, pop3test_dir, h2, pop3test_dir, h1, pop3test_dir),
			 (int)sizeof(text));
	put(scratch("users.passwd", path, sizeof(path)), text, 0644);
	put(scratch("apop.secrets", path, sizeof(path)), "alice:" PT_ALICE_APOP "\n", 0600);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, 0, 0), 0);
	dir(scratch("state", path, sizeof(path)));
	mailboxes();
}

void pop3test_teardown(void)
{
	tl_rm_rf(pop3test_dir);
	pop3test_dir[0] = '\0';
}

struct config *pop3test_config(const char *pop3_keys)
{
	const char *name;
	uid_t uid;
	gid_t gid;

	run_ids(&name, &uid, &gid);
	/* The protocol child's user: under root a base-passwd user with a group of its own, as the harness's. */
	return tl_configf("[server]\nuser = %s\nlogin_user = %s\nstate_dir = %s/state\nhostname = pop.test\n"
			  "[auth]\nbackend = file\npasswd_file = %s/users.passwd\napop_secrets_file = %s/apop.secrets\n"
			  "fail_delay = 0\nworkers = 1\n"
			  "[relay]\ndb_dir = %s/state/relay\n"
			  "[pop3]\n%s",
			  name, geteuid() == 0 ? "irc" : name, pop3test_dir, pop3test_dir, pop3test_dir, pop3test_dir,
			  pop3_keys != NULL ? pop3_keys : "");
}

/*
 * start_auth_worker - the auth worker the sessions' monitors ask, as the master starts it: once
 * per test process (each test runs in a process of its own), dying with it.
 */
static void start_auth_worker(const struct config *cfg)
{
	static volatile sig_atomic_t never;
	static pid_t owner;
	pid_t parent = getpid(), pid;

	if (owner == parent)
		return;
	ck_assert_int_eq(auth_channel_open(), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (lifeline_tie(parent) < 0)
			_exit(1);
		_exit(auth_worker_run(cfg, &never) == 0 ? 0 : 1);
	}
	owner = parent;
}

void pop3test_start(struct pop3test_session *s, struct config *cfg, const char *client_ip)
{
	int sv[2];

	start_auth_worker(cfg);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->len = 0;
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		struct session_ctx ctx = { .cfg = cfg, .fd = sv[1], .tls = NULL, .client_port = 40000,
					   .local_port = 110, .hostname = "pop.test", .report_fd = -1, .dispatch_fd = -1, .login_fd = -1,
					   .session_pid = getpid(), .proto = "pop3" };
		close(sv[0]);
		signal(SIGPIPE, SIG_IGN);
		if (ip_parse(client_ip, &ctx.client) < 0)
			_exit(99);
		ip_format(&ctx.client, ctx.client_ip);
		snprintf(ctx.local_ip, sizeof(ctx.local_ip), "127.0.0.1");
		_exit(pop3_session_main(&ctx));
	}
	close(sv[1]);
	s->fd = sv[0];
}

void pop3test_send(struct pop3test_session *s, const char *text)
{
	size_t len = strlen(text);

	while (len > 0) {
		ssize_t n = send(s->fd, text, len, MSG_NOSIGNAL);
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		text += n;
		len -= (size_t)n;
	}
}

char *pop3test_line(struct pop3test_session *s, char *buf, size_t cap)
{
	for (;;) {
		char *nl = memchr(s->in, '\n', s->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - s->in) + 1;
			ck_assert_msg(n >= 2 && nl[-1] == '\r', "reply line without CRLF");
			ck_assert_uint_lt(n - 2, cap);
			memcpy(buf, s->in, n - 2);
			buf[n - 2] = '\0';
			memmove(s->in, s->in + n, s->len - n);
			s->len -= n;
			return buf;
		}
		ck_assert_uint_lt(s->len, sizeof(s->in));
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, 10000) == 1, "no reply within 10 s");
		ssize_t n = recv(s->fd, s->in + s->len, sizeof(s->in) - s->len, 0);
		if (n <= 0) {
			ck_assert_uint_eq(s->len, 0); /* no partial line at the end */
			return NULL;
		}
		s->len += (size_t)n;
	}
}

const char *pop3test_expect(struct pop3test_session *s, const char *prefix)
{
	static char line[4096];

	ck_assert_msg(pop3test_line(s, line, sizeof(line)) != NULL, "EOF, expected \"%s\"", prefix);
	ck_assert_msg(strncmp(line, prefix, strlen(prefix)) == 0, "got \"%s\", expected \"%s\"", line, prefix);
	return line;
}

size_t pop3test_body(struct pop3test_session *s, char *out, size_t cap)
{
	char line[4096];
	size_t n = 0;

	for (;;) {
		ck_assert_ptr_nonnull(pop3test_line(s, line, sizeof(line)));
		if (strcmp(line, ".") == 0)
			break;
		const char *l = line[0] == '.' ? line + 1 : line;
		size_t len = strlen(l);
		ck_assert_uint_lt(n + len + 2, cap);
		memcpy(out + n, l, len);
		memcpy(out + n + len, "\r\n", 2);
		n += len + 2;
	}
	out[n] = '\0';
	return n;
}

void pop3test_eof(struct pop3test_session *s)
{
	char line[4096];
	char *l = pop3test_line(s, line, sizeof(line));

	ck_assert_msg(l == NULL, "expected the server to close, got \"%s\"", l);
}

int pop3test_finish(struct pop3test_session *s)
{
	int status = -1;

	close(s->fd);
	s->fd = -1;
	ck_assert_int_eq(waitpid(s->pid, &status, 0), s->pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void pop3test_script(struct pop3test_session *s, const struct pop3test_step *steps)
{
	static char body[1 << 16];

	for (; steps->send != NULL || steps->expect != NULL; steps++) {
		if (steps->send != NULL) {
			char line[8192];
			snprintf(line, sizeof(line), "%s\r\n", steps->send);
			pop3test_send(s, line);
		}
		if (steps->expect != NULL)
			pop3test_expect(s, steps->expect);
		if (steps->multi)
			pop3test_body(s, body, sizeof(body));
	}
}

void pop3test_login(struct pop3test_session *s, const char *user, const char *pass)
{
	char line[512];

	pop3test_expect(s, "+OK popgate ready");
	snprintf(line, sizeof(line), "USER %s\r\n", user);
	pop3test_send(s, line);
	pop3test_expect(s, "+OK");
	snprintf(line, sizeof(line), "PASS %s\r\n", pass);
	pop3test_send(s, line);
	pop3test_expect(s, "+OK ");
}

void pop3test_b64(const void *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t n = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned long q = (unsigned long)p[i] << 16 | (i + 1 < len ? (unsigned long)p[i + 1] << 8 : 0) |
				  (i + 2 < len ? p[i + 2] : 0);
		ck_assert_uint_lt(n + 4, cap);
		out[n++] = digits[q >> 18 & 63];
		out[n++] = digits[q >> 12 & 63];
		out[n++] = i + 1 < len ? digits[q >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? digits[q & 63] : '=';
	}
	out[n] = '\0';
}
