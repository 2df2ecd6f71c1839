/* check_ipc.c - the one framed IPC module: frames refused for each fault, descriptors, credentials, EINTR, short writes, deadlines. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "check_run.h"
#include "testlib.h"

/* A waiting test never hangs: Check's timeout is the guard, this only bounds a deadline we set. */
#define SHORT_MS 50

static const int kinds[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };

START_TEST(a_frame_round_trips_with_its_descriptor_and_sender)
{
	int sv[2], peer[2];
	char buf[64];
	struct ipc_frame f;

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, peer), 0);
	ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, "hello", 5, peer[1], IPC_FOREVER), 0);
	ck_assert_int_eq(ipc_send(sv[1], IPC_PRIVSEP_DONE, NULL, 0, -1, IPC_FOREVER), 0);
	close(peer[1]);
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), IPC_FD_MUST | IPC_SAME_UID, ipc_deadline(5000), &f), 1);
	ck_assert_uint_eq(f.type, IPC_AUTH_REQ);
	ck_assert_uint_eq(f.len, 5);
	ck_assert(memcmp(buf, "hello", 5) == 0);
	ck_assert_int_ge(f.fd, 0);
	ck_assert(fcntl(f.fd, F_GETFD) & FD_CLOEXEC);
	ck_assert(f.has_cred);
	ck_assert_int_eq(f.cred.pid, getpid());
	ck_assert_int_eq(f.cred.uid, getuid());
	ck_assert_int_eq(write(f.fd, "x", 1), 1); /* the very socket that was sent */
	ck_assert_int_eq(read(peer[0], buf, 1), 1);
	close(f.fd);
	/* An empty frame is a frame, and the next one on a stream starts where this one ended. */
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, IPC_NOW, &f), 1);
	ck_assert_uint_eq(f.type, IPC_PRIVSEP_DONE);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_int_eq(f.fd, -1);
	close(peer[0]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(end_of_input_is_zero_on_a_connected_socket)
{
	int sv[2];
	char buf[8];
	struct ipc_frame f;

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0); /* stream and seqpacket only */
	close(sv[1]);
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, IPC_FOREVER, &f), 0);
	close(sv[0]);
}
END_TEST

/* refused - receive on SOCK with FLAGS and expect -1 with ERR and a reason containing WHY. */
static void refused(int sock, unsigned flags, int err, const char *why)
{
	char buf[32];
	struct ipc_frame f;

	errno = 0;
	ck_assert_int_eq(ipc_recv(sock, buf, sizeof(buf), flags, ipc_deadline(5000), &f), -1);
	ck_assert_int_eq(errno, err);
	ck_assert_ptr_nonnull(f.why);
	ck_assert_msg(strstr(f.why, why) != NULL, "'%s' is not '%s'", f.why, why);
	ck_assert_int_eq(f.fd, -1);
}

START_TEST(wrong_magic_truncated_and_oversized_frames_are_refused)
{
	int sv[2];
	char big[64] = { 0 };

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	tl_send_frame(sv[1], IPC_MAGIC ^ 1, IPC_AUTH_REQ, 4, "abcd", 4, 0, SOCK_STREAM, NULL);
	refused(sv[0], 0, EPROTO, "wrong magic");
	if (kinds[_i] != SOCK_STREAM) {
		/* One message each: a refused one takes nothing of the next with it. */
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 10, "abcd", 4, 0, SOCK_STREAM, NULL);       /* says 10, carries 4 */
		refused(sv[0], 0, EPROTO, "truncated");
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 2, "abcd", 4, 0, SOCK_STREAM, NULL);        /* says 2, carries 4 */
		refused(sv[0], 0, EPROTO, "longer");
		ck_assert_int_eq(send(sv[1], "pgi", 3, 0), 3);                     /* not even a header */
		refused(sv[0], 0, EPROTO, "truncated");
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, sizeof(big), big, sizeof(big), 0, SOCK_STREAM, NULL);
		refused(sv[0], 0, EMSGSIZE, "oversized");                          /* 64 bytes into 32 */
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 4, "abcd", 4, 0, SOCK_STREAM, NULL);
		char buf[32];
		struct ipc_frame f;
		ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, IPC_NOW, &f), 1);
		ck_assert_uint_eq(f.len, 4);
	} else {
		close(sv[0]);
		close(sv[1]);
		/* A stream: a length over the buffer is refused before a byte of payload is read. */
		ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 1u << 30, NULL, 0, 0, SOCK_STREAM, NULL);
		refused(sv[0], 0, EMSGSIZE, "oversized");
		close(sv[0]);
		close(sv[1]);
		/* Cut in the payload, then the end. */
		ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 10, "abcd", 4, 0, SOCK_STREAM, NULL);
		shutdown(sv[1], SHUT_WR);
		refused(sv[0], 0, EPROTO, "truncated");
		close(sv[0]);
		close(sv[1]);
		/* Cut in the header, then the end. */
		ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
		ck_assert_int_eq(send(sv[1], "pgi", 3, 0), 3);
		shutdown(sv[1], SHUT_WR);
		refused(sv[0], 0, EPROTO, "truncated");
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(descriptors_where_none_may_come_or_missing_are_refused_and_closed)
{
	int sv[2], peers[2];
	char buf[32];
	struct ipc_frame f;

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REPLY, 4, "abcd", 4, 1, SOCK_STREAM, peers);
	refused(sv[0], 0, EPROTO, "none may come");
	ck_assert(tl_peer_closed(peers[0]));
	close(peers[0]);
	if (kinds[_i] == SOCK_STREAM) { /* a refused frame breaks a stream: start again */
		close(sv[0]);
		close(sv[1]);
		ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	}
	tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 4, "abcd", 4, 0, SOCK_STREAM, NULL);
	refused(sv[0], IPC_FD_MUST, EPROTO, "without the descriptor");
	if (kinds[_i] == SOCK_STREAM) {
		close(sv[0]);
		close(sv[1]);
		ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	}
	tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 4, "abcd", 4, 2, SOCK_STREAM, peers);
	refused(sv[0], IPC_FD_MUST, EPROTO, "more than one");
	ck_assert(tl_peer_closed(peers[0]));
	ck_assert(tl_peer_closed(peers[1]));
	close(peers[0]);
	close(peers[1]);
	if (kinds[_i] == SOCK_STREAM) {
		close(sv[0]);
		close(sv[1]);
		ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	}
	/* IPC_FD_MAY: with or without. */
	tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 4, "abcd", 4, 0, SOCK_STREAM, NULL);
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), IPC_FD_MAY, IPC_NOW, &f), 1);
	ck_assert_int_eq(f.fd, -1);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(frames_without_credentials_or_from_another_user_are_refused)
{
	int sv[2], plain[2], status;
	pid_t pid;

	/* A socket without SO_PASSCRED: no stamp, refused where the channel wants one. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, plain), 0);
	ck_assert_int_eq(ipc_send(plain[1], IPC_AUTH_REQ, "abcd", 4, -1, IPC_NOW), 0);
	refused(plain[0], IPC_CRED, EPROTO, "credentials");
	ck_assert_int_eq(ipc_send(plain[1], IPC_AUTH_REQ, "abcd", 4, -1, IPC_NOW), 0);
	refused(plain[0], IPC_SAME_UID, EPROTO, "credentials");
	close(plain[0]);
	close(plain[1]);
	if (geteuid() != 0) {
		fprintf(stderr, "check_ipc: not root: a sender of another uid is not tried\n");
		return;
	}
	/* A sender of another uid: the kernel's stamp says so, whatever it sends. */
	ck_assert_int_eq(ipc_pair(SOCK_SEQPACKET, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0 &&
		      ipc_send(sv[1], IPC_AUTH_REQ, "abcd", 4, -1, IPC_NOW) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	struct ipc_frame f;
	char buf[8];
	errno = 0;
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), IPC_SAME_UID, IPC_NOW, &f), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_str_eq(f.why, "a frame from another user");
	ck_assert(f.has_cred); /* still there, for the log */
	ck_assert_int_eq(f.cred.uid, 65534);
	ck_assert_int_eq(f.cred.pid, pid);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(deadlines_expire)
{
	int sv[2];
	char buf[8];
	struct ipc_frame f;

	/* Nothing ever comes: IPC_NOW says so at once, a deadline once it has passed. */
	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	errno = 0;
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, IPC_NOW, &f), -1);
	ck_assert_int_eq(errno, EAGAIN);
	errno = 0;
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, ipc_deadline(SHORT_MS), &f), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	if (kinds[_i] == SOCK_STREAM) {
		/* A header whose payload never comes holds the receiver no longer than its deadline. */
		tl_send_frame(sv[1], IPC_MAGIC, IPC_AUTH_REQ, 4, "ab", 2, 0, SOCK_STREAM, NULL);
		errno = 0;
		ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, ipc_deadline(SHORT_MS), &f), -1);
		ck_assert_int_eq(errno, ETIMEDOUT);
	}
	/* A full channel: the sender gives up at its deadline. */
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	static char chunk[4096];
	while (ipc_send(sv[1], IPC_AUTH_REQ, chunk, sizeof(chunk), -1, IPC_NOW) == 0)
		;
	ck_assert_int_eq(errno, EAGAIN);
	if (kinds[_i] != SOCK_STREAM) { /* a stream's short write left a torn frame: nothing more to try */
		errno = 0;
		ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, chunk, sizeof(chunk), -1, ipc_deadline(SHORT_MS)), -1);
		ck_assert_int_eq(errno, ETIMEDOUT);
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted++;
}

/* state - process PID's state in /proc (S: asleep in a wait such as poll or send; Z: ended), or 0. */
static char state(pid_t pid)
{
	char path[64], line[512], *p;
	FILE *fp;
	char s = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) != NULL && (p = strrchr(line, ')')) != NULL && p[1] == ' ')
		s = p[2];
	fclose(fp);
	return s;
}

/* interrupt_when_blocked - signal PID with SIGUSR1 TIMES times, each once it is seen asleep in a wait. */
static void interrupt_when_blocked(pid_t pid, int times)
{
	for (int i = 0; i < times; i++) {
		char s;

		while ((s = state(pid)) != 'S' && s != 'Z' && s != 0)
			usleep(1000);
		if (s != 'S')
			return; /* it ended: its status tells the rest */
		kill(pid, SIGUSR1);
		usleep(1000);
	}
}

START_TEST(eintr_and_short_writes_lose_nothing)
{
	enum { LEN = IPC_PAYLOAD_MAX };
	static char out[LEN], in[LEN];
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: every wait is interrupted */
	int sv[2], sz = 4096, status;
	struct ipc_frame f;
	pid_t pid, parent = getpid();

	for (size_t i = 0; i < LEN; i++)
		out[i] = (char)(i * 131 + 7);
	sigaction(SIGUSR1, &sa, NULL);
	ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	interrupted = 0;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The writer: its sendmsg is cut short again and again, and its waits for room interrupted. */
		close(sv[0]);
		interrupt_when_blocked(parent, 3); /* the reader, waiting for the first byte */
		_exit(ipc_send(sv[1], IPC_PRIVSEP_HANDOVER, out, LEN, -1, IPC_FOREVER) == 0 ? 0 : 1);
	}
	close(sv[1]);
	ck_assert_int_eq(ipc_recv(sv[0], in, sizeof(in), 0, IPC_FOREVER, &f), 1);
	ck_assert_int_gt(interrupted, 0);
	ck_assert_uint_eq(f.len, LEN);
	ck_assert(memcmp(in, out, LEN) == 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
	close(sv[0]);
}
END_TEST

/* The same with the roles turned: the writer, stuck on a full socket, is the one interrupted. */
START_TEST(eintr_while_waiting_for_room)
{
	enum { LEN = IPC_PAYLOAD_MAX };
	static char out[LEN], in[LEN];
	struct sigaction sa = { .sa_handler = on_signal };
	int sv[2], sz = 4096, status;
	pid_t pid;

	for (size_t i = 0; i < LEN; i++)
		out[i] = (char)(i * 7 + 3);
	ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The writer, stuck on a full socket until its reader is told to start. */
		sigaction(SIGUSR1, &sa, NULL);
		close(sv[0]);
		interrupted = 0;
		int rc = ipc_write_all(sv[1], out, LEN, IPC_FOREVER);
		_exit(rc == 0 && interrupted > 0 ? 0 : rc == 0 ? 2 : 1);
	}
	close(sv[1]);
	interrupt_when_blocked(pid, 3);
	ck_assert_int_eq(ipc_read_full(sv[0], in, LEN, IPC_FOREVER), 1);
	ck_assert(memcmp(in, out, LEN) == 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
	/* Its end: nothing more, a clean end of input. */
	ck_assert_int_eq(ipc_read_full(sv[0], in, 1, IPC_FOREVER), 0);
	close(sv[0]);
}
END_TEST

START_TEST(a_gone_peer_is_epipe_not_sigpipe)
{
	int sv[2];

	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
	close(sv[0]);
	errno = 0;
	ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, "x", 1, -1, IPC_FOREVER), -1);
	ck_assert_int_eq(errno, EPIPE);
	errno = 0;
	ck_assert_int_eq(ipc_write_all(sv[1], "x", 1, IPC_FOREVER), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[1]);
}
END_TEST

START_TEST(a_payload_over_the_limit_is_not_sent)
{
	int sv[2];
	static char big[IPC_PAYLOAD_MAX + 1];

	ck_assert_int_eq(ipc_pair(SOCK_STREAM, sv), 0);
	errno = 0;
	ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, big, sizeof(big), -1, IPC_NOW), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *ipc_suite(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc = tcase_create("frames");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, a_frame_round_trips_with_its_descriptor_and_sender, 0, 3);
	tcase_add_loop_test(tc, end_of_input_is_zero_on_a_connected_socket, 0, 2);
	tcase_add_loop_test(tc, wrong_magic_truncated_and_oversized_frames_are_refused, 0, 3);
	tcase_add_loop_test(tc, descriptors_where_none_may_come_or_missing_are_refused_and_closed, 0, 3);
	tcase_add_test(tc, frames_without_credentials_or_from_another_user_are_refused);
	tcase_add_loop_test(tc, deadlines_expire, 0, 3);
	tcase_add_test(tc, eintr_and_short_writes_lose_nothing);
	tcase_add_test(tc, eintr_while_waiting_for_room);
	tcase_add_test(tc, a_gone_peer_is_epipe_not_sigpipe);
	tcase_add_test(tc, a_payload_over_the_limit_is_not_sent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ipc_suite());
}
