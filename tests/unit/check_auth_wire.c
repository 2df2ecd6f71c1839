/* check_auth_wire.c - unit tests of the auth channel: record parsing, a real worker answering a monitor, the kept reply pair. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_client.h"
#include "auth/auth_wire.h"
#include "auth/auth_worker.h"
#include "check_run.h"
#include "testlib.h"
#include "common/config.h"
#include "common/ipc.h"

/* ---- parsing: one table of records, each with the verdict the parser must give ---- */

/* The magic is the frame's (common/ipc.h), checked before the record: check_ipc tests it. */
enum change { NONE, SHORT, LONG, MECH_ZERO, MECH_BIG, UNTERMINATED };

static const struct req_case {
	const char *name;
	enum change change;
	int want;
} req_cases[] = {
	{ "well formed", NONE, 0 },          { "one byte short", SHORT, -1 },
	{ "one byte long", LONG, -1 },
	{ "mechanism 0", MECH_ZERO, -1 },    { "unknown mechanism", MECH_BIG, -1 },
	{ "strings unterminated", UNTERMINATED, 0 },
};

START_TEST(test_request_parse)
{
	const struct req_case *t = &req_cases[_i];
	char buf[sizeof(struct auth_wire_req) + 1];
	struct auth_wire_req req, out;
	size_t len = sizeof(req);
	const char *why = NULL;

	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_APOP, "alice", "c4c9334bac560ecc979e58001b3e22fb",
					    "<1896.697170952@dbc.mtview.ca.us>", "pop3", "127.0.0.1"), 0);
	if (t->change == MECH_ZERO)
		req.mech = 0;
	if (t->change == MECH_BIG)
		req.mech = 3;
	if (t->change == UNTERMINATED) {
		memset(req.user, 'u', sizeof(req.user));
		memset(req.secret, 's', sizeof(req.secret));
		memset(req.challenge, 'c', sizeof(req.challenge));
		memset(req.service, 'v', sizeof(req.service));
		memset(req.client_ip, 'i', sizeof(req.client_ip));
	}
	memcpy(buf, &req, sizeof(req));
	buf[sizeof(req)] = 'x';
	len += t->change == LONG ? 1 : 0;
	len -= t->change == SHORT ? 1 : 0;
	ck_assert_msg(auth_wire_req_parse(buf, len, &out, &why) == t->want, "%s", t->name);
	if (t->want < 0) {
		ck_assert_ptr_nonnull(why);
		return;
	}
	ck_assert_uint_eq(strlen(out.user), t->change == UNTERMINATED ? sizeof(out.user) - 1 : 5);
	ck_assert_uint_eq(strlen(out.secret), t->change == UNTERMINATED ? sizeof(out.secret) - 1 : 32);
	ck_assert_uint_lt(strlen(out.challenge), sizeof(out.challenge));
	ck_assert_uint_lt(strlen(out.service), sizeof(out.service));
	ck_assert_uint_lt(strlen(out.client_ip), sizeof(out.client_ip));
}
END_TEST

START_TEST(test_request_fill_refuses_to_cut)
{
	struct auth_wire_req req;
	char long_user[AUTH_NAME_MAX + 1], long_ip[AUTH_WIRE_ADDR_MAX + 1];

	memset(long_user, 'a', sizeof(long_user) - 1);
	long_user[sizeof(long_user) - 1] = '\0';
	memset(long_ip, '1', sizeof(long_ip) - 1);
	long_ip[sizeof(long_ip) - 1] = '\0';
	/* A name cut to fit would be checked as another user: refused whole instead. */
	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_PASSWORD, long_user, "pw", "", "pop3", "::1"), -1);
	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_PASSWORD, "alice", "pw", "", "pop3", long_ip), -1);
	ck_assert_uint_eq(req.mech, 0); /* and nothing of the secret is left behind */
	ck_assert_str_eq(req.secret, "");
	long_user[sizeof(long_user) - 2] = '\0';
	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_PASSWORD, long_user, "pw", NULL, "pop3", "::1"), 0);
	ck_assert_str_eq(req.challenge, "");
}
END_TEST

START_TEST(test_reply_parse)
{
	struct auth_wire_reply rep, out;
	const char *why = NULL;

	memset(&rep, 0, sizeof(rep));
	rep.result = AUTH_OK;
	memset(rep.user.name, 'n', sizeof(rep.user.name));
	memset(rep.user.mailbox, 'm', sizeof(rep.user.mailbox));
	rep.user.uid = 1234;
	ck_assert_int_eq(auth_wire_reply_parse(&rep, sizeof(rep), &out, &why), 0);
	ck_assert_uint_eq(strlen(out.user.name), sizeof(out.user.name) - 1);
	ck_assert_uint_eq(strlen(out.user.mailbox), sizeof(out.user.mailbox) - 1);
	ck_assert_uint_eq(out.user.uid, 1234);
	/* A failure carries no user, whatever the bytes say. */
	rep.result = AUTH_FAIL;
	ck_assert_int_eq(auth_wire_reply_parse(&rep, sizeof(rep), &out, &why), 0);
	ck_assert_uint_eq(out.user.uid, 0);
	ck_assert_str_eq(out.user.name, "");
	/* The worker answers OK, FAIL or TEMPFAIL only: REFUSED and LOCKED are the monitor's. */
	for (int32_t bad = AUTH_REFUSED; bad <= AUTH_LOCKED + 1; bad++) {
		rep.result = bad;
		ck_assert_int_eq(auth_wire_reply_parse(&rep, sizeof(rep), &out, &why), -1);
	}
	rep.result = -1;
	ck_assert_int_eq(auth_wire_reply_parse(&rep, sizeof(rep), &out, &why), -1);
	rep.result = AUTH_OK;
	ck_assert_int_eq(auth_wire_reply_parse(&rep, sizeof(rep) - 1, &out, &why), -1);
	ck_assert_str_eq(why, "a reply of the wrong size");
}
END_TEST

/* ---- a real worker on a real channel ---- */

static char dir[64];
static char passwd[128];
static struct config *cfg;
static pid_t worker = -1;
static volatile sig_atomic_t worker_stop;

/* start_worker - fork the worker on the channel; this process keeps asking as a monitor would. */
static void start_worker(void)
{
	ck_assert_int_eq(auth_channel_open(), 0);
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		_exit(auth_worker_drop() == 0 && auth_worker_run(cfg, &worker_stop) == 0 ? 0 : 1);
	}
}

/* worker_cfg - the workers' config on the fixture's passwd file, with MORE lines of [auth] ("" for none). */
static struct config *worker_cfg(const char *more)
{
	char text[1024];
	struct cfg_error err;
	struct config *c;

	snprintf(text, sizeof(text), "[server]\nuser = nobody\n[auth]\nbackend = file\npasswd_file = %s\n%s", passwd,
		 more);
	c = config_load_string("test.conf", text, &err);
	ck_assert_msg(c != NULL, "config: %s", err.msg);
	return c;
}

static void setup(void)
{
	char hash[256];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/check_auth_wire.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	ck_assert_int_eq(auth_hash_password("alice pw", hash, sizeof(hash)), 0);
	ck_assert_ptr_nonnull(f = fopen(passwd, "w"));
	fprintf(f, "alice:%s:mbox:/var/mail/alice:2001:2002\n", hash);
	fclose(f);
	cfg = worker_cfg("");
	start_worker();
}

static void teardown(void)
{
	if (worker > 0) {
		kill(worker, SIGKILL);
		waitpid(worker, NULL, 0);
	}
	auth_client_forget();
	tl_capture_end();
	config_free(&cfg);
	unlink(passwd);
	rmdir(dir);
}

START_TEST(test_worker_answers)
{
	struct auth_user u;

	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "127.0.0.1", &u),
			 AUTH_OK);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_uint_eq(u.uid, 2001);
	ck_assert_uint_eq(u.gid, 2002);
	ck_assert_str_eq(u.mailbox, "mbox:/var/mail/alice");
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "wrong", "", "smtp", "::1", &u), AUTH_FAIL);
	ck_assert_str_eq(u.name, "");
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "nobody-here", "x", "", "smtp", "::1", &u), AUTH_FAIL);
	/* No APOP secrets configured: a digest never matches. */
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_APOP, "alice", "c4c9334bac560ecc979e58001b3e22fb",
					   "<1.2@x>", "pop3", "::1", &u), AUTH_FAIL);
}
END_TEST

/*
 * raw_request - send LEN bytes of BUF with a reply socket, in a frame of TYPE (0: bare, no frame);
 * what comes back: 1 an answer, 0 closed unanswered.
 */
static int raw_request(uint32_t type, const void *buf, size_t len)
{
	int sv[2], chan = auth_channel_client_fd();
	char cbuf[CMSG_SPACE(sizeof(int))], rep[sizeof(struct ipc_hdr) + sizeof(struct auth_wire_reply)];
	struct ipc_hdr h = { .magic = IPC_MAGIC, .type = type, .len = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	struct msghdr msg = { .msg_iov = type != 0 ? iov : iov + 1, .msg_iovlen = type != 0 ? 2 : 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	ck_assert_int_eq(sendmsg(chan, &msg, 0), (ssize_t)(len + (type != 0 ? sizeof(h) : 0)));
	close(sv[1]);
	n = recv(sv[0], rep, sizeof(rep), 0);
	close(sv[0]);
	return n > 0;
}

START_TEST(test_worker_refuses_malformed_and_goes_on)
{
	struct auth_wire_req req;
	struct auth_user u;

	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1"), 0);
	ck_assert_int_eq(raw_request(IPC_AUTH_REQ, &req, sizeof(req)), 1);
	ck_assert_int_eq(raw_request(IPC_AUTH_REQ, &req, sizeof(req) - 1), 0);
	ck_assert_int_eq(raw_request(0, "garbage", 7), 0);
	ck_assert_int_eq(raw_request(0, &req, sizeof(req)), 0);               /* the record without its frame */
	ck_assert_int_eq(raw_request(IPC_RELAY_LOGIN, &req, sizeof(req)), 0); /* another channel's type */
	req.mech = 9;
	ck_assert_int_eq(raw_request(IPC_AUTH_REQ, &req, sizeof(req)), 0);
	/* Still serving. */
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u), AUTH_OK);
}
END_TEST

/*
 * lone_logged_worker - the fixture's worker replaced by one without helpers (auth.workers = 1), whose
 * log tl_captured reads. Alone it takes requests in their order, so an answer to one means every
 * request sent before it was dealt with: its refusals logged and their descriptors closed.
 */
static void lone_logged_worker(void)
{
	kill(worker, SIGKILL);
	waitpid(worker, NULL, 0);
	worker = -1;
	config_free(&cfg);
	cfg = worker_cfg("workers = 1\n");
	tl_capture();
	start_worker();
}

/* send_request - REQ in a well-formed IPC_AUTH_REQ frame with N (0-2) fresh reply sockets; PEERS gets their peers. */
static void send_request(const struct auth_wire_req *req, int n, int *peers)
{
	tl_send_frame(auth_channel_client_fd(), IPC_MAGIC, IPC_AUTH_REQ, sizeof(*req), req, sizeof(*req), n,
		      SOCK_SEQPACKET, peers);
}

/* still_serving - the lone worker goes on answering well-formed requests, each with its own verdict. */
static void still_serving(void)
{
	struct auth_user u;

	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "wrong", "", "pop3", "::1", &u), AUTH_FAIL);
	ck_assert_str_eq(u.name, "");
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u), AUTH_OK);
	ck_assert_uint_eq(u.uid, 2001);
}

/* refused_once - the log holds one refusal, for WHY and naming this process as its sender, and no answer tried. */
static void refused_once(const char *why)
{
	char want[256];
	const char *log = tl_captured();

	snprintf(want, sizeof(want), "auth worker: refused %s (sender pid %ld uid %ld)", why, (long)getpid(),
		 (long)getuid());
	ck_assert_msg(tl_count(log, want) == 1, "wanted once: %s\nlog:\n%s", want, log);
	ck_assert_msg(tl_count(log, "refused") == 1, "log:\n%s", log);
	ck_assert_msg(tl_count(log, "answering") == 0, "log:\n%s", log);
}

/* closed_unanswered - nothing was sent to FD and its peer is closed in every process: end of input at once. */
static void closed_unanswered(int fd)
{
	char rep[sizeof(struct ipc_hdr) + sizeof(struct auth_wire_reply)];
	/* No wait: the lone worker answered a later request, so it is done with this one. */
	ssize_t n = recv(fd, rep, sizeof(rep), MSG_DONTWAIT);

	ck_assert_msg(n <= 0, "the refused request was answered");
	ck_assert_msg(n == 0, "its reply socket is still open somewhere (a leak): %s", strerror(errno));
	close(fd);
}

START_TEST(test_worker_refuses_a_request_without_a_reply_socket)
{
	struct auth_wire_req req;
	struct pollfd p = { .fd = auth_channel_client_fd(), .events = POLLIN };

	lone_logged_worker();
	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1"), 0);
	send_request(&req, 0, NULL);
	still_serving();
	/* Nowhere to answer but the channel itself, which carries requests only. */
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	refused_once("a frame without the descriptor it must carry");
}
END_TEST

START_TEST(test_worker_refuses_a_request_with_two_reply_sockets)
{
	struct auth_wire_req req;
	int peers[2];

	lone_logged_worker();
	ck_assert_int_eq(auth_wire_req_fill(&req, AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1"), 0);
	/* The worker then holds the only copies of the ends sent: their peers end when it has closed both. */
	send_request(&req, 2, peers);
	still_serving();
	closed_unanswered(peers[0]);
	closed_unanswered(peers[1]);
	refused_once("a frame with more than one descriptor");
}
END_TEST

START_TEST(test_dead_worker_is_a_prompt_tempfail_then_a_new_one_answers)
{
	struct auth_user u;
	time_t start;

	ck_assert_int_eq(kill(worker, SIGKILL), 0);
	ck_assert_int_eq(waitpid(worker, NULL, 0), worker);
	worker = -1;
	/* The channel outlives the worker (the master keeps both ends): a new one takes it over. */
	start_worker();
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u), AUTH_OK);
	/* With no worker end left anywhere, a check fails at once, not after the client's timeout. */
	kill(worker, SIGKILL);
	waitpid(worker, NULL, 0);
	worker = -1;
	auth_client_forget();
	ck_assert_int_eq(auth_channel_open(), 0);
	/* No worker forked: this process holds the only worker's end, which the check closes first. */
	start = time(NULL);
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u),
			 AUTH_TEMPFAIL);
	ck_assert_int_lt(time(NULL) - start, AUTH_CLIENT_TIMEOUT_MS / 1000);
	ck_assert_str_eq(u.name, "");
}
END_TEST

START_TEST(test_the_reply_pair_is_kept_between_checks)
{
	unsigned long before[64], first[64], second[64];
	int nb = tl_socket_inodes(before, 64), n1, n2;
	struct auth_user u;

	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u), AUTH_OK);
	n1 = tl_socket_inodes(first, 64);
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "wrong", "", "pop3", "::1", &u), AUTH_FAIL);
	n2 = tl_socket_inodes(second, 64);
	/* The first check closed the worker's end of the channel and kept a pair: one socket more. */
	ck_assert_int_eq(n1, nb + 1);
	/* The second asked on the same pair, handed back with the first answer: no socket made. */
	ck_assert_int_eq(n2, n1);
	ck_assert_mem_eq(second, first, (size_t)n1 * sizeof(first[0]));
}
END_TEST

/* fake_answer - what the fake worker sends on FD: RESULT (AUTH_OK: for alice), with BACK (-1: none) handed back. */
static int fake_answer(int fd, uint32_t type, enum auth_result result, int back)
{
	struct auth_wire_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = (int32_t)result;
	if (result == AUTH_OK) {
		snprintf(rep.user.name, sizeof(rep.user.name), "alice");
		snprintf(rep.user.mailbox, sizeof(rep.user.mailbox), "mbox:/var/mail/alice");
		rep.user.uid = 2001;
		rep.user.gid = 2002;
	}
	return ipc_send(fd, type, &rep, sizeof(rep), back, IPC_NOW);
}

/*
 * fake_worker - in a child holding the worker's end: answer the first request with a record of
 * another channel and then, at once, with OK (the late answer a stopped worker could send); answer
 * the second with FAIL. Exit 0 when each send went as it should, and the second request came with
 * a new reply socket.
 */
static int fake_worker(int chan)
{
	struct auth_wire_req req;
	struct ipc_frame f1, f2;
	struct stat s1, s2;
	int bad = 0;

	if (ipc_recv(chan, &req, sizeof(req), IPC_FD_MUST | IPC_SEQPACKET, IPC_FOREVER, &f1) != 1 || fstat(f1.fd, &s1) < 0)
		return 1;
	bad |= fake_answer(f1.fd, IPC_RELAY_LOGIN_REP, AUTH_TEMPFAIL, f1.fd) < 0;
	(void)fake_answer(f1.fd, IPC_AUTH_REPLY, AUTH_OK, f1.fd); /* queued, or refused once the monitor let go */
	if (ipc_recv(chan, &req, sizeof(req), IPC_FD_MUST | IPC_SEQPACKET, IPC_FOREVER, &f2) != 1 || fstat(f2.fd, &s2) < 0)
		return 2;
	bad |= fake_answer(f2.fd, IPC_AUTH_REPLY, AUTH_FAIL, f2.fd) < 0;
	return bad ? 3 : s2.st_ino == s1.st_ino ? 4 : 0;
}

/*
 * swapping_worker - answer the first request OK but hand back another socket than the one lent (a
 * worker that would keep the asker's end to answer later requests itself), the second FAIL with its
 * own. Exit 0 when both went out and the second request came with a new reply socket.
 */
static int swapping_worker(int chan)
{
	struct auth_wire_req req;
	struct ipc_frame f1, f2;
	struct stat s1, s2;
	int sv[2], bad;

	if (ipc_recv(chan, &req, sizeof(req), IPC_FD_MUST | IPC_SEQPACKET, IPC_FOREVER, &f1) != 1 || fstat(f1.fd, &s1) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 1;
	bad = fake_answer(f1.fd, IPC_AUTH_REPLY, AUTH_OK, sv[1]) < 0;
	if (ipc_recv(chan, &req, sizeof(req), IPC_FD_MUST | IPC_SEQPACKET, IPC_FOREVER, &f2) != 1 || fstat(f2.fd, &s2) < 0)
		return 2;
	bad |= fake_answer(f2.fd, IPC_AUTH_REPLY, AUTH_FAIL, f2.fd) < 0;
	return bad ? 3 : s2.st_ino == s1.st_ino ? 4 : 0;
}

/* scripted_worker - the real worker gone, one running SCRIPT on the channel's worker end; its pid. */
static pid_t scripted_worker(int (*script)(int chan))
{
	pid_t pid;

	kill(worker, SIGKILL);
	waitpid(worker, NULL, 0);
	worker = -1;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(script(auth_channel_worker_fd()));
	return pid;
}

/* script_ran - the scripted worker PID went through its script: exit status 0. */
static void script_ran(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake worker status %d", status);
}

START_TEST(test_an_answer_after_a_failed_exchange_is_never_taken_later)
{
	struct auth_user u;
	pid_t fake = scripted_worker(fake_worker);

	/* The first exchange fails: its pair is dropped, with the OK behind the bad record. */
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u),
			 AUTH_TEMPFAIL);
	/* The next check is answered on a new pair: FAIL, not the first request's OK. */
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "wrong", "", "pop3", "::1", &u), AUTH_FAIL);
	ck_assert_str_eq(u.name, "");
	script_ran(fake);
}
END_TEST

/* An answer that hands back another socket than the one lent is refused whole, and its pair dropped. */
START_TEST(test_an_answer_with_another_socket_is_refused)
{
	struct auth_user u;
	pid_t fake = scripted_worker(swapping_worker);

	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "alice pw", "", "pop3", "::1", &u),
			 AUTH_TEMPFAIL);
	ck_assert_str_eq(u.name, "");
	ck_assert_int_eq(auth_client_check(AUTH_WIRE_PASSWORD, "alice", "wrong", "", "pop3", "::1", &u), AUTH_FAIL);
	script_ran(fake);
}
END_TEST

static Suite *auth_wire_suite(void)
{
	Suite *s = suite_create("auth_wire");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_request_parse, 0, sizeof(req_cases) / sizeof(req_cases[0]));
	tcase_add_test(tc, test_request_fill_refuses_to_cut);
	tcase_add_test(tc, test_reply_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("worker");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_worker_answers);
	tcase_add_test(tc, test_worker_refuses_malformed_and_goes_on);
	tcase_add_test(tc, test_worker_refuses_a_request_without_a_reply_socket);
	tcase_add_test(tc, test_worker_refuses_a_request_with_two_reply_sockets);
	tcase_add_test(tc, test_dead_worker_is_a_prompt_tempfail_then_a_new_one_answers);
	tcase_add_test(tc, test_the_reply_pair_is_kept_between_checks);
	tcase_add_test(tc, test_an_answer_after_a_failed_exchange_is_never_taken_later);
	tcase_add_test(tc, test_an_answer_with_another_socket_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(auth_wire_suite());
}
