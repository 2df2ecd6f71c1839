/* check_fileio.c - the one full read/write helper pair and the bounded whole-file reader, on real pipes, sockets and files. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fileio.h"
#include "check_run.h"
#include "testlib.h"

/* A socket pair whose buffers are small, so that a large write is split into many short ones. */
static void small_pair(int sv[2])
{
	int sz = 4096;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

START_TEST(whole_buffers_cross_short_writes_and_reads)
{
	enum { LEN = 1 << 20 };
	char *out = malloc(LEN), *in = malloc(LEN);
	int sv[2];
	pid_t pid;

	for (size_t i = 0; i < LEN; i++)
		out[i] = (char)(i * 131 + 7);
	small_pair(sv);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[1]);
		_exit(fileio_write_all(sv[0], out, LEN) == 0 ? 0 : 1);
	}
	close(sv[0]);
	ck_assert_int_eq(fileio_read_full(sv[1], in, LEN), 1);
	ck_assert(memcmp(in, out, LEN) == 0);
	/* The writer is done: the next read sees a clean end of input. */
	ck_assert_int_eq(fileio_read_full(sv[1], in, 1), 0);
	close(sv[1]);
	free(in);
	free(out);
}
END_TEST

START_TEST(end_of_input_part_way_is_an_error)
{
	int p[2];
	char buf[8];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fileio_write_all(p[1], "abc", 3), 0); /* a pipe: write(2), not send(2) */
	close(p[1]);
	errno = 0;
	ck_assert_int_eq(fileio_read_full(p[0], buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EIO);
	close(p[0]);
}
END_TEST

START_TEST(a_gone_peer_is_epipe_not_sigpipe)
{
	int sv[2];

	/* SIGPIPE keeps its default action: a write(2) here would kill the test. */
	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	errno = 0;
	ck_assert_int_eq(fileio_write_all(sv[0], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
}
END_TEST

START_TEST(small_files_are_bounded)
{
	char dir[TL_PATH_MAX], path[TL_PATH_MAX];
	size_t len = 0;
	char *text;
	int fd;

	tl_scratch(dir, sizeof(dir), "check_fileio");
	fd = open(tl_pathbuf(path, sizeof(path), dir, "small"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fileio_write_all(fd, "hello\n", 6), 0);
	close(fd);
	text = fileio_read_small(path, 6, true, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "hello\n");
	ck_assert_uint_eq(len, 6);
	free(text);
	errno = 0;
	ck_assert_ptr_null(fileio_read_small(path, 5, true, &len));
	ck_assert_int_eq(errno, EFBIG);
	tl_rm_rf(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fileio");
	TCase *tc = tcase_create("fileio");

	tcase_add_test(tc, whole_buffers_cross_short_writes_and_reads);
	tcase_add_test(tc, end_of_input_part_way_is_an_error);
	tcase_add_test(tc, a_gone_peer_is_epipe_not_sigpipe);
	tcase_add_test(tc, small_files_are_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite());
}
