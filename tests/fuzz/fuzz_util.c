/* fuzz_util.c - scratch files, quiet logs, a threaded fake client and output checks for the harnesses. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "fuzz_util.h"

static char scratch[256];
static char *outbuf;
static pid_t scratch_owner;

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	/* Straight to fd 2: the stdio stderr of a harness points at /dev/null. */
	dprintf(2, "\n==fuzz== invariant broken at %s:%d: %s\n==fuzz== ", file, line, cond);
	va_start(ap, fmt);
	vdprintf(2, fmt, ap);
	va_end(ap);
	dprintf(2, "\n");
	abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/* remove_scratch - at exit of the process that made it (not of a forked child). */
static void remove_scratch(void)
{
	if (scratch[0] != '\0' && getpid() == scratch_owner)
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* scratch_base - FUZZ_TMPDIR, else /dev/shm (mbox commits fsync; on tmpfs that costs nothing), else TMPDIR. */
static const char *scratch_base(void)
{
	const char *dir = getenv("FUZZ_TMPDIR");

	if (dir != NULL && dir[0] != '\0')
		return dir;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	dir = getenv("TMPDIR");
	return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

void fuzz_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(scratch, sizeof(scratch), "%s/popgate-fuzz.XXXXXX", scratch_base());
	if (mkdtemp(scratch) == NULL) {
		dprintf(2, "fuzz: mkdtemp %s: %s\n", scratch, strerror(errno));
		abort();
	}
	scratch_owner = getpid();
	atexit(remove_scratch);
	/* Every log line is still formatted (log_vline runs), so format bugs in log calls are found. */
	log_set_level(LOG_DEBUG);
	if (getenv("FUZZ_LOG") == NULL) {
		FILE *null = fopen("/dev/null", "w");
		if (null != NULL)
			stderr = null;
	}
}

const char *fuzz_dir(void)
{
	return scratch;
}

const char *fuzz_path(const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", scratch, name);

	FUZZ_CHECK(n > 0 && (size_t)n < cap, "path %s/%s too long", scratch, name);
	return buf;
}

struct config *fuzz_config(const char *text)
{
	struct cfg_error err;
	struct config *cfg = config_load_string("fuzz.conf", text, &err);

	FUZZ_CHECK(cfg != NULL, "harness config does not load: %s", err.msg);
	return cfg;
}

void fuzz_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	FUZZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		FUZZ_CHECK(n > 0, "write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	FUZZ_CHECK(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul != NULL ? (size_t)(nul - data) : size;
	char *s = malloc(n + 1);

	FUZZ_CHECK(s != NULL, "out of memory for %zu bytes", n);
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* keep - append what the session wrote, up to FUZZ_OUT_MAX. */
static void keep(struct fuzz_conn *c, const char *buf, size_t n)
{
	size_t room = FUZZ_OUT_MAX - c->out_len;
	size_t k = n < room ? n : room;

	memcpy(c->out + c->out_len, buf, k);
	c->out_len += k;
	c->out_total += n;
}

/* client - the peer: write the input (then half-close) while reading replies, until the session closes. */
static void *client(void *arg)
{
	struct fuzz_conn *c = arg;
	size_t sent = 0;
	bool writing = true;
	char buf[65536];

	if (c->in_len == 0) {
		shutdown(c->client_fd, SHUT_WR);
		writing = false;
	}
	for (;;) {
		struct pollfd pfd = { .fd = c->client_fd, .events = POLLIN | (writing ? POLLOUT : 0) };
		if (poll(&pfd, 1, -1) < 0) {
			FUZZ_CHECK(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		if (writing && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = send(c->client_fd, c->in + sent, c->in_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			/* The session may hang up before reading everything: that is its right. */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == c->in_len) {
				shutdown(c->client_fd, SHUT_WR);
				writing = false;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(c->client_fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				keep(c, buf, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	c->out[c->out_len] = '\0';
	return NULL;
}

void fuzz_conn_open(struct fuzz_conn *c, const uint8_t *in, size_t len)
{
	int sv[2];

	memset(c, 0, sizeof(*c));
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
	c->server_fd = sv[0];
	c->client_fd = sv[1];
	c->in = in;
	c->in_len = len;
	/* One buffer for the process: a fresh 16 MiB per input would cost more than the session. */
	if (outbuf == NULL)
		outbuf = malloc(FUZZ_OUT_MAX + 1);
	FUZZ_CHECK(outbuf != NULL, "out of memory");
	c->out = outbuf;
	FUZZ_CHECK(pthread_create(&c->thread, NULL, client, c) == 0, "pthread_create failed");
}

void fuzz_conn_finish(struct fuzz_conn *c)
{
	FUZZ_CHECK(pthread_join(c->thread, NULL) == 0, "pthread_join failed");
	close(c->client_fd);
	c->client_fd = -1;
	if (getenv("FUZZ_TRACE") != NULL)
		dprintf(2, "==fuzz== the session wrote %zu octets:\n%s\n==fuzz== end\n", c->out_len, c->out);
}

void fuzz_conn_free(struct fuzz_conn *c)
{
	c->out = NULL;
	c->out_len = 0;
}

size_t fuzz_count_lines(const void *buf, size_t len)
{
	const char *p = buf, *end = p + len;
	size_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

void fuzz_check_crlf(const char *what, const char *buf, size_t len, size_t max_line)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		FUZZ_CHECK(i > 0 && buf[i - 1] == '\r', "%s: bare LF at offset %zu", what, i);
		FUZZ_CHECK(i + 1 - start <= max_line, "%s: line of %zu octets at offset %zu (limit %zu): %.80s", what,
			   i + 1 - start, start, max_line, buf + start);
		start = i + 1;
	}
	FUZZ_CHECK(start == len, "%s: %zu octets after the last CRLF: %.80s", what, len - start, buf + start);
}
