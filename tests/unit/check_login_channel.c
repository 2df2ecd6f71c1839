/* check_login_channel.c - unit tests of relaydb/login_channel.c: a login sent, recorded by the worker's side, answered on a kept pair. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "relaydb/login_channel.h"
#include "relaydb/lookup_wire.h"
#include "relaydb/relaydb.h"
#include "relaydb/relaydb_int.h"
#include "relaydb_fixture.h"
#include "check_run.h"
#include "testlib.h"

/* A generous wait: the answers here come as soon as the test's worker side reads them. */
#define WAIT_MS 30000

static int rd = -1, wr = -1;
static struct config *cfg;
static struct relaydb *db;

static void setup(void)
{
	char err[512];

	fx_setup();
	cfg = fx_config(NULL);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_msg(relaydb_open(cfg, &db, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(relay_login_channel_open(&rd, &wr), 0);
}

static void teardown(void)
{
	close(rd);
	close(wr);
	relaydb_close(&db);
	config_free(&cfg);
	fx_teardown();
}

/* sender - fork a session's side that sends IP's login and exits 0 recorded, 1 failed, 2 no answer. */
static pid_t sender(const char *ip)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc = relay_login_send(wr, ip, "alice", "pop3", WAIT_MS);

		_exit(rc == 0 ? 0 : rc == -1 ? 1 : 2);
	}
	return pid;
}

static int exit_status(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* wait_record - until a record waits on the worker's end. */
static void wait_record(void)
{
	struct pollfd p = { .fd = rd, .events = POLLIN };

	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
}

static bool recorded(const char *ip)
{
	struct relay_entry e;

	return relaydb_get(db, ip, &e) == 1 && strcmp(e.user, "alice") == 0 && strcmp(e.proto, "pop3") == 0;
}

START_TEST(the_worker_records_and_answers)
{
	pid_t pid = sender("192.0.2.7");

	wait_record();
	relay_login_serve(cfg, rd, db);
	ck_assert_int_eq(exit_status(pid), 0);
	ck_assert(recorded("192.0.2.7"));
}
END_TEST

START_TEST(a_worker_without_database_answers_failure)
{
	pid_t pid = sender("192.0.2.8");

	wait_record();
	relay_login_serve(cfg, rd, NULL);
	ck_assert_int_eq(exit_status(pid), 1);
	ck_assert(!recorded("192.0.2.8"));
}
END_TEST

START_TEST(no_worker_no_answer)
{
	ck_assert_int_eq(relay_login_send(-1, "192.0.2.9", "alice", "pop3", WAIT_MS), RELAY_LOGIN_NO_ANSWER);
	/* Nobody reads the channel: the wait runs out, whatever its length. */
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.9", "alice", "pop3", 50), RELAY_LOGIN_NO_ANSWER);
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* The next worker finds the record, sees its sender gone, and records nothing. */
	relay_login_serve(cfg, rd, db);
	ck_assert(!recorded("192.0.2.9"));
}
END_TEST

/* A login record as it lies on the channel. */
#define RECORD_BYTES (sizeof(struct ipc_hdr) + sizeof(struct relay_login_req))

/* take_record - as a worker: take the next record off the channel; its answer socket into *ANSWER (-1: none). */
static ssize_t take_record(int *answer)
{
	char buf[RECORD_BYTES];
	union {
		char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(rd, &msg, 0);

	*answer = -1;
	if (n >= 0)
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_type == SCM_RIGHTS)
				memcpy(answer, CMSG_DATA(c), sizeof(*answer));
	return n;
}

START_TEST(a_worker_that_dies_with_the_record_is_asked_again)
{
	pid_t pid = sender("192.0.2.10");
	int answer;

	/* A worker takes the record and dies: its descriptors close, the answer socket among them. */
	wait_record();
	ck_assert_int_eq(take_record(&answer), (ssize_t)RECORD_BYTES);
	ck_assert_int_ge(answer, 0);
	close(answer);
	/* Its successor gets the record again. */
	wait_record();
	relay_login_serve(cfg, rd, db);
	ck_assert_int_eq(exit_status(pid), 0);
	ck_assert(recorded("192.0.2.10"));
}
END_TEST

/* channel_gone - errno of a send into a channel whose receiving end is closed (the first send, the later ones). */
static bool channel_gone(int err)
{
	return err == ECONNREFUSED || err == ENOTCONN;
}

START_TEST(a_channel_nobody_holds_fails_at_once)
{
	/* The worker and the master are gone with their ends: no wait can be answered, and none is waited out. */
	close(rd);
	rd = -1;
	errno = 0;
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.11", "alice", "pop3", 3600 * 1000), RELAY_LOGIN_NO_ANSWER);
	ck_assert_msg(channel_gone(errno), "errno %d (%s)", errno, strerror(errno));
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.12", "alice", "pop3", 3600 * 1000), RELAY_LOGIN_NO_ANSWER);
	ck_assert_msg(channel_gone(errno), "errno %d (%s)", errno, strerror(errno));
}
END_TEST

START_TEST(a_worker_that_dies_with_the_master_is_not_waited_for)
{
	/* The kill -9 of the whole daemon: the worker takes the record and dies with the channel's last end. */
	pid_t worker = fork();

	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		int answer;

		if (take_record(&answer) != (ssize_t)RECORD_BYTES)
			_exit(1);
		close(rd); /* before the answer socket: the sender's second ask finds no reader */
		_exit(0); /* the answer socket closes unanswered */
	}
	close(rd);
	rd = -1;
	errno = 0;
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.13", "alice", "pop3", 3600 * 1000), RELAY_LOGIN_NO_ANSWER);
	ck_assert_msg(channel_gone(errno), "errno %d (%s)", errno, strerror(errno));
	ck_assert_int_eq(exit_status(worker), 0);
}
END_TEST

/*
 * send_raw - a frame of TYPE with LEN bytes of REQ onto the channel with NFD descriptors attached
 * (the ends of fresh pairs; PEERS gets the others).
 */
static void send_raw(uint32_t type, const struct relay_login_req *req, size_t len, int nfd, int *peers)
{
	tl_send_frame(wr, IPC_MAGIC, type, (uint32_t)len, req, len, nfd, SOCK_SEQPACKET, peers);
}

START_TEST(malformed_records_are_dropped)
{
	struct relay_login_req req = { .ip = "" };
	int peers[2];

	snprintf(req.ip, sizeof(req.ip), "192.0.2.11");
	snprintf(req.user, sizeof(req.user), "alice");
	snprintf(req.proto, sizeof(req.proto), "pop3");
	send_raw(IPC_RELAY_LOGIN, &req, sizeof(req), 0, NULL);      /* no answer socket */
	send_raw(IPC_RELAY_LOGIN, &req, sizeof(req) - 1, 1, peers); /* short */
	relay_login_serve(cfg, rd, db);
	ck_assert(tl_peer_closed(peers[0]));
	close(peers[0]);
	send_raw(IPC_RELAY_LOGIN, &req, sizeof(req), 2, peers);     /* two answer sockets: both closed */
	relay_login_serve(cfg, rd, db);
	ck_assert(tl_peer_closed(peers[0]));
	ck_assert(tl_peer_closed(peers[1]));
	close(peers[0]);
	close(peers[1]);
	send_raw(IPC_RELAY_LOOKUP, &req, sizeof(req), 1, peers);    /* a question, on the wrong channel */
	relay_login_serve(cfg, rd, db);
	ck_assert(tl_peer_closed(peers[0]));
	close(peers[0]);
	ck_assert(!recorded("192.0.2.11"));
}
END_TEST

START_TEST(the_senders_end_reads_nothing)
{
	struct pollfd p = { .fd = wr, .events = POLLRDHUP };

	/* bench/login-record-bench tells the master's copy apart by this. */
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert(p.revents & POLLRDHUP);
}
END_TEST

/*
 * serve_until_done - the worker's loop for the test: answer every record that comes (without a
 * database: a failure, answered all the same) until DONE is readable. One serve may answer more
 * than one record, so the loop ends on the test's word, not on a count of wake-ups.
 */
static int serve_until_done(int done)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = rd, .events = POLLIN }, { .fd = done, .events = POLLIN } };

		if (poll(p, 2, WAIT_MS) <= 0)
			return 1;
		if (p[0].revents & POLLIN)
			relay_login_serve(cfg, rd, NULL);
		else if (p[1].revents)
			return 0;
	}
}

START_TEST(the_answer_pair_is_kept_between_records)
{
	unsigned long before[64], first[64], second[64];
	int nb, n1, n2, done[2];
	pid_t worker;

	ck_assert_int_eq(pipe(done), 0);
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		close(done[1]);
		_exit(serve_until_done(done[0]));
	}
	close(done[0]);
	nb = tl_socket_inodes(before, 64);
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.20", "alice", "pop3", WAIT_MS), -1);
	n1 = tl_socket_inodes(first, 64);
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.21", "alice", "pop3", WAIT_MS), -1);
	n2 = tl_socket_inodes(second, 64);
	close(done[1]);
	ck_assert_int_eq(exit_status(worker), 0);
	ck_assert_int_eq(n1, nb + 2); /* the pair, kept */
	ck_assert_int_eq(n2, n1);     /* and asked on again: no socket made */
	ck_assert_mem_eq(second, first, (size_t)n1 * sizeof(first[0]));
}
END_TEST

/* fake_answer - RESULT on FD, in a frame of TYPE, with FD itself handed back. */
static int fake_answer(int fd, uint32_t type, int32_t result)
{
	struct relay_login_rep rep = { .result = result };

	return ipc_send(fd, type, &rep, sizeof(rep), fd, IPC_NOW);
}

/*
 * fake_worker - answer the first record with a frame of another channel and at once with
 * "recorded" (a late answer); the second with "failed". 0 when the sends went as they should and
 * the second record came with a new answer socket.
 */
static int fake_worker(void)
{
	struct relay_login_req req;
	struct ipc_frame f1, f2;
	struct stat s1, s2;

	if (ipc_recv(rd, &req, sizeof(req), IPC_FD_MUST | IPC_DGRAM, IPC_FOREVER, &f1) != 1 || fstat(f1.fd, &s1) < 0)
		return 1;
	if (fake_answer(f1.fd, IPC_AUTH_REPLY, -1) < 0)
		return 2;
	(void)fake_answer(f1.fd, IPC_RELAY_LOGIN_REP, 0); /* queued, or refused once the sender let go */
	if (ipc_recv(rd, &req, sizeof(req), IPC_FD_MUST | IPC_DGRAM, IPC_FOREVER, &f2) != 1 || fstat(f2.fd, &s2) < 0)
		return 3;
	if (fake_answer(f2.fd, IPC_RELAY_LOGIN_REP, -1) < 0)
		return 4;
	return s2.st_ino == s1.st_ino ? 5 : 0;
}

START_TEST(an_answer_after_a_failed_exchange_is_never_taken_later)
{
	pid_t worker = fork();

	ck_assert_int_ge(worker, 0);
	if (worker == 0)
		_exit(fake_worker());
	/* The first exchange fails: its pair is dropped, with "recorded" behind the bad frame. */
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.22", "alice", "pop3", WAIT_MS), RELAY_LOGIN_NO_ANSWER);
	ck_assert_int_eq(errno, EPROTO);
	/* The next record is answered on a new pair: "failed", not the first one's "recorded". */
	ck_assert_int_eq(relay_login_send(wr, "192.0.2.23", "alice", "pop3", WAIT_MS), -1);
	ck_assert_int_eq(exit_status(worker), 0);
}
END_TEST

/* said - whether relaydb_session_login from CHAN, waiting WAIT_MS, failed, logged WHY once, and noted it. */
static bool said(int chan, int wait_ms, const char *why)
{
	const char *log;
	int rc;

	relaydb_unrecorded_note(conf(cfg)->relay.db_dir, 0); /* no note yet */
	tl_capture();
	rc = relaydb_session_login(cfg, chan, "192.0.2.30", "alice", "pop3", wait_ms);
	log = tl_captured(); /* kept in a static buffer past the capture's end */
	tl_capture_end();
	ck_assert_msg(tl_count(log, why) == 1, "expected \"%s\" once in:\n%s", why, log);
	return rc == -1 && tl_count(log, "authorization not recorded") == 1 &&
	       relaydb_unrecorded_last(conf(cfg)->relay.db_dir) != 0;
}

START_TEST(the_session_says_why_nothing_was_recorded)
{
	pid_t worker;

	/* Nobody reads the channel: the wait runs out (nothing answers, however slow the machine). */
	ck_assert(said(wr, 1000, "the relay lookup worker did not answer within 1 s"));
	relay_login_serve(cfg, rd, db); /* the sender is gone: the record is dropped */
	/* A malformed answer: the channel failed, with the reason. */
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		struct relay_login_req req;
		struct ipc_frame f;

		_exit(ipc_recv(rd, &req, sizeof(req), IPC_FD_MUST | IPC_DGRAM, IPC_FOREVER, &f) != 1 ||
		      fake_answer(f.fd, IPC_AUTH_REPLY, -1) < 0);
	}
	ck_assert(said(wr, WAIT_MS, "the login channel to the lookup worker failed: Protocol error"));
	ck_assert_int_eq(exit_status(worker), 0);
	/* The worker and the master gone with the channel's receiving end. */
	close(rd);
	rd = -1;
	ck_assert(said(wr, WAIT_MS, "no lookup worker or master holds the login channel any more"));
	ck_assert(said(wr, WAIT_MS, "no lookup worker or master holds the login channel any more"));
	ck_assert(said(-1, WAIT_MS, "no channel to the lookup worker"));
}
END_TEST

static Suite *login_channel_suite(void)
{
	Suite *s = suite_create("login_channel");
	TCase *tc = tcase_create("channel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_worker_records_and_answers);
	tcase_add_test(tc, a_worker_without_database_answers_failure);
	tcase_add_test(tc, no_worker_no_answer);
	tcase_add_test(tc, a_worker_that_dies_with_the_record_is_asked_again);
	tcase_add_test(tc, a_channel_nobody_holds_fails_at_once);
	tcase_add_test(tc, a_worker_that_dies_with_the_master_is_not_waited_for);
	tcase_add_test(tc, malformed_records_are_dropped);
	tcase_add_test(tc, the_senders_end_reads_nothing);
	tcase_add_test(tc, the_answer_pair_is_kept_between_records);
	tcase_add_test(tc, an_answer_after_a_failed_exchange_is_never_taken_later);
	tcase_add_test(tc, the_session_says_why_nothing_was_recorded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(login_channel_suite());
}
