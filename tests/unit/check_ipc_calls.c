/* check_ipc_calls.c - the system calls ipc_recv leaves out: no SO_TYPE when told the type, no poll for IPC_NOW or IPC_FOREVER. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Each test runs ipc_recv in a forked process whose seccomp filter makes one system call fail
 * with EPERM: a receive that still made that call fails, so the test fails; one that does
 * without it passes. Nothing here waits on time: the blocking case is sent its frame only once
 * /proc shows the receiver asleep in recvmsg.
 */
#include <check.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ipc.h"
#include "check_run.h"

/* How long the blocking test waits to see its receiver asleep; a loaded machine gets plenty. */
#define SEEN_ASLEEP_MS 30000

/* Exit statuses of a forked receiver. */
enum { GOT_FRAME = 0, NO_FILTER = 90, WRONG = 91 };

/* forbid - from now on each of the N system calls in NRS fails with EPERM in this process. */
static int forbid(const long *nrs, int n)
{
	struct sock_filter f[2 + 2 * 4];
	int k = 0;

	if (n > 4)
		return -1;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (int i = 0; i < n; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)k, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/* The waits ipc_recv could make: poll(2) where the architecture has it, ppoll(2) everywhere. */
static const long polls[] = {
#ifdef SYS_poll
	SYS_poll,
#endif
	SYS_ppoll,
};
#define NPOLLS ((int)(sizeof(polls) / sizeof(polls[0])))

/* receive - in a child that may not make the NNR calls of NRS: ipc_recv on SOCK with FLAGS and DEADLINE; its pid. */
static pid_t receive(int sock, unsigned flags, int64_t deadline, const long *nrs, int nnr, int want_rc, int want_errno)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[64];
		struct ipc_frame f;

		if (forbid(nrs, nnr) < 0)
			_exit(NO_FILTER);
		int rc = ipc_recv(sock, buf, sizeof(buf), flags, deadline, &f);
		_exit(rc == want_rc && (rc == 1 ? f.len == 5 && memcmp(buf, "hello", 5) == 0 : errno == want_errno) ?
			      GOT_FRAME : WRONG);
	}
	return pid;
}

/* status_of - PID's exit status once it ended. */
static int status_of(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static const int kinds[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
static const unsigned kind_flags[] = { IPC_STREAM, IPC_SEQPACKET, IPC_DGRAM };

START_TEST(a_receiver_told_the_type_does_not_ask_the_kernel)
{
	const long nrs[] = { SYS_getsockopt };
	int sv[2];

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, "hello", 5, -1, IPC_FOREVER), 0);
	ck_assert_int_eq(status_of(receive(sv[0], kind_flags[_i], IPC_NOW, nrs, 1, 1, 0)), GOT_FRAME);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(a_receiver_not_told_the_type_still_works_out)
{
	int sv[2];
	char buf[64];
	struct ipc_frame f;

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, "hello", 5, -1, IPC_FOREVER), 0);
	ck_assert_int_eq(ipc_recv(sv[0], buf, sizeof(buf), 0, IPC_NOW, &f), 1);
	ck_assert_uint_eq(f.len, 5);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(ipc_now_on_an_empty_socket_is_eagain_without_a_poll)
{
	int sv[2];

	ck_assert_int_eq(ipc_pair(kinds[_i] | SOCK_NONBLOCK, sv), 0);
	ck_assert_int_eq(status_of(receive(sv[0], kind_flags[_i], IPC_NOW, polls, NPOLLS, -1, EAGAIN)), GOT_FRAME);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* in_recvmsg - whether PID is asleep in recvmsg(2) (/proc/PID/syscall starts with its number). */
static bool in_recvmsg(pid_t pid)
{
	char path[64], text[32];
	FILE *fp;
	bool in = false;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(text, sizeof(text), fp) != NULL) {
		long nr = -1;

		in = sscanf(text, "%ld", &nr) == 1 && nr == SYS_recvmsg;
	}
	fclose(fp);
	return in;
}

START_TEST(ipc_forever_on_a_blocking_socket_waits_in_recvmsg_not_in_poll)
{
	int sv[2], st;
	int64_t until = mono_ms() + SEEN_ASLEEP_MS;
	pid_t pid, gone = 0;

	ck_assert_int_eq(ipc_pair(kinds[_i], sv), 0);
	pid = receive(sv[0], kind_flags[_i], IPC_FOREVER, polls, NPOLLS, 1, 0);
	/* Sent only once it sleeps in recvmsg: a receiver that polled first has failed by then, and ended. */
	while (!in_recvmsg(pid) && (gone = waitpid(pid, &st, WNOHANG)) == 0 && mono_ms() < until)
		usleep(1000);
	if (gone == pid)
		ck_abort_msg("the receiver ended (status %d) before it slept in recvmsg", WEXITSTATUS(st));
	ck_assert_msg(in_recvmsg(pid), "the receiver never slept in recvmsg");
	ck_assert_int_eq(ipc_send(sv[1], IPC_AUTH_REQ, "hello", 5, -1, IPC_FOREVER), 0);
	ck_assert_int_eq(status_of(pid), GOT_FRAME);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ipc_calls");
	TCase *tc = tcase_create("calls");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, a_receiver_told_the_type_does_not_ask_the_kernel, 0, 3);
	tcase_add_loop_test(tc, a_receiver_not_told_the_type_still_works_out, 0, 3);
	tcase_add_loop_test(tc, ipc_now_on_an_empty_socket_is_eagain_without_a_poll, 0, 3);
	tcase_add_loop_test(tc, ipc_forever_on_a_blocking_socket_waits_in_recvmsg_not_in_poll, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
