/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_forward_sendmail.c - the sendmail hand-off: fork and exec "sendmail -i -f SENDER -- RCPT..."
 * with an argv array (no shell), write the message to its stdin in the local form (LF line ends,
 * no dot-stuffing: -i) and let its exit status decide what the client is told.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/lifeline.h"
#include "common/lineio.h"
#include "common/log.h"
#include "smtpd/smtp_forward.h"
#include "smtpd/smtp_limits.h"

/* sysexits(3) codes that mean the message itself or its recipients will never be accepted. */
#define SM_EX_DATAERR 65
#define SM_EX_NOUSER 67
#define SM_EX_NOHOST 68
#define SM_EX_OSERR 71

enum smtp_forward_status smtp_sendmail_status(int ws)
{
	if (!WIFEXITED(ws))
		return SMTP_FWD_TEMPFAIL;
	switch (WEXITSTATUS(ws)) {
	case 0:
		return SMTP_FWD_OK;
	case SM_EX_DATAERR:
	case SM_EX_NOUSER:
	case SM_EX_NOHOST:
		return SMTP_FWD_PERMFAIL;
	default:
		return SMTP_FWD_TEMPFAIL; /* EX_TEMPFAIL and anything unclear: the client keeps it */
	}
}

/*
 * build_argv - {path, -i, -oM..., -f, sender, --, rcpt..., NULL}; the strings belong to FC, ENV and
 * CA. The -oM options (smtp.forward_client_info) are each one element, built from checked text
 * (smtp_clientinfo.c), so the client can add no option; sendmail honours them from a trusted user.
 */
static char **build_argv(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
			 struct smtp_sendmail_client_args *ca)
{
	char **argv = calloc(env->nrcpts + 9, sizeof(*argv));
	size_t n = 0;

	if (argv == NULL)
		return NULL;
	ca->n = 0;
	if (fc->client_info && env->client != NULL)
		smtp_sendmail_client_args(env->client, ca);
	argv[n++] = (char *)fc->path;
	argv[n++] = (char *)"-i";
	for (size_t i = 0; i < ca->n; i++)
		argv[n++] = ca->v[i];
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)((env->from->flags & SMTP_ADDR_NULL) ? "<>" : env->from->text);
	argv[n++] = (char *)"--";
	for (size_t i = 0; i < env->nrcpts; i++)
		argv[n++] = (char *)env->rcpts[i].text;
	argv[n] = NULL;
	return argv;
}

/* exec_child - in the forked child: wire stdin/stdout/stderr, clean up, exec. Never returns. */
static void exec_child(const char *path, char **argv, int in_fd, int err_fd)
{
	static char *const envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	sigset_t none;

	if (dup2(in_fd, 0) < 0 || dup2(err_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(SM_EX_OSERR);
	/* Nothing of the session (the client socket, the monitor channel) may leak into sendmail. */
	if (close_range(3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
	dprintf(2, "cannot execute %s: %s\n", path, strerror(errno));
	_exit(SM_EX_OSERR);
}

/* Output state: a buffer in front of the non-blocking pipe. */
struct pipe_out {
	int fd;
	time_t deadline;
	char buf[65536];
	size_t len;
	const char *failure;  /* why writing stopped, NULL while all is well */
};

/* out_flush - write the buffer within the deadline. */
static int out_flush(struct pipe_out *o)
{
	size_t off = 0;

	while (off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { o->fd, POLLOUT, 0 };
			time_t left = o->deadline - lio_now();

			if (left <= 0 || poll(&pfd, 1, (int)(left * 1000)) == 0)
				return o->failure = "timed out writing the message", -1;
			continue;
		}
		return o->failure = errno == EPIPE ? "it stopped reading the message" : "write error", -1;
	}
	o->len = 0;
	return 0;
}

static int out_put(struct pipe_out *o, const char *p, size_t len)
{
	if (o->len + len > sizeof(o->buf) && out_flush(o) < 0)
		return -1;
	memcpy(o->buf + o->len, p, len); /* a piece is at most one text line: always fits now */
	o->len += len;
	return 0;
}

/* write_message - the spool in local form: each CRLF becomes LF. */
static int write_message(struct pipe_out *o, struct smtp_spool *msg)
{
	const char *piece;
	size_t len;
	bool eol;
	int rc;

	while ((rc = smtp_spool_next(msg, &piece, &len, &eol)) > 0) {
		if (eol && len >= 2 && piece[len - 2] == '\r') {
			if (out_put(o, piece, len - 2) < 0 || out_put(o, "\n", 1) < 0)
				return -1;
		} else if (out_put(o, piece, len) < 0) {
			return -1;
		}
	}
	if (rc < 0)
		return o->failure = "spool read error", -1;
	return out_flush(o);
}

/* wait_child - reap PID by DEADLINE, killing it when late. 0 with *WS, or -1 when it had to be killed. */
static int wait_child(pid_t pid, time_t deadline, int *ws)
{
	for (;;) {
		pid_t r = waitpid(pid, ws, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR) {
			log_err("smtp: waitpid(sendmail): %s", strerror(errno));
			return -1;
		}
		if (lio_now() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, ws, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		poll(NULL, 0, 10);
	}
}

/* first_err_line - the start of what the program said on stdout/stderr, made printable. */
static void first_err_line(int fd, char *out, size_t cap)
{
	ssize_t n = pread(fd, out, cap - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
			*p = '?';
}

/* describe - one line for the log and the client: how sendmail ended and what it said. */
static void describe(const struct smtp_forward_cfg *fc, int late, int ws, const char *failure,
		     const char *said, char *detail, size_t cap)
{
	char how[64];

	if (late < 0)
		snprintf(how, sizeof(how), "timed out after %ds and was killed", fc->total_timeout);
	else if (WIFSIGNALED(ws))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(ws));
	else
		snprintf(how, sizeof(how), "exited %d", WEXITSTATUS(ws));
	snprintf(detail, cap, "%.256s %s%s%s%s%s%s", fc->path, how, failure ? " (" : "", failure ? failure : "",
		 failure ? ")" : "", said[0] != '\0' ? ": " : "", said);
}

/* run - fork, feed and reap; the outcome and a detail line. */
static enum smtp_forward_status run(const struct smtp_forward_cfg *fc, char **argv, struct smtp_spool *msg,
				    int err_fd, struct smtp_forward_result *res)
{
	struct pipe_out *o = calloc(1, sizeof(*o));
	int in[2], ws = 0, late;
	char said[SMTP_SENDMAIL_ERR_MAX];
	enum smtp_forward_status st;
	pid_t pid, session = getpid();

	if (o == NULL || pipe2(in, O_CLOEXEC) < 0) {
		free(o);
		snprintf(res->detail, sizeof(res->detail), "cannot create a pipe: %s", strerror(errno));
		return SMTP_FWD_TEMPFAIL;
	}
	if ((pid = fork()) < 0) {
		snprintf(res->detail, sizeof(res->detail), "fork: %s", strerror(errno));
		close(in[0]), close(in[1]), free(o);
		return SMTP_FWD_TEMPFAIL;
	}
	if (pid == 0) {
		/* A session killed mid-message must not leave sendmail to deliver what it got so far (-i). */
		if (lifeline_tie(session) < 0)
			_exit(SM_EX_OSERR);
		exec_child(fc->path, argv, in[0], err_fd);
	}
	close(in[0]);
	o->fd = in[1];
	o->deadline = lio_now() + fc->total_timeout;
	fcntl(o->fd, F_SETFL, O_NONBLOCK);
	write_message(o, msg);
	close(o->fd);
	late = wait_child(pid, o->deadline, &ws);
	first_err_line(err_fd, said, sizeof(said));
	st = late < 0 ? SMTP_FWD_TEMPFAIL : smtp_sendmail_status(ws);
	if (st == SMTP_FWD_OK && o->failure != NULL)
		st = SMTP_FWD_TEMPFAIL; /* a sendmail that stopped reading has not got the whole message */
	describe(fc, late, ws, o->failure, said, res->detail, sizeof(res->detail));
	if (st == SMTP_FWD_PERMFAIL)
		snprintf(res->said, sizeof(res->said), "sendmail exit status %d", WEXITSTATUS(ws));
	free(o);
	return st;
}

enum smtp_forward_status smtp_forward_sendmail(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
					       struct smtp_spool *msg, struct smtp_forward_result *res)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL }, old_pipe, old_chld;
	struct smtp_sendmail_client_args ca;
	char **argv = build_argv(fc, env, &ca);
	int err_fd = memfd_create("popgate-sendmail-stderr", MFD_CLOEXEC);
	enum smtp_forward_status st;

	if (argv == NULL || err_fd < 0) {
		snprintf(res->detail, sizeof(res->detail), "out of resources: %s", strerror(errno));
		free(argv);
		if (err_fd >= 0)
			close(err_fd);
		return SMTP_FWD_TEMPFAIL;
	}
	/* A dying sendmail must not kill us with SIGPIPE; its exit status must reach waitpid. */
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigaction(SIGCHLD, &dfl, &old_chld);
	st = run(fc, argv, msg, err_fd, res);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	close(err_fd);
	free(argv);
	return st;
}
