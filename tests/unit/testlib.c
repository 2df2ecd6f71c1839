/* testlib.c - what every Check program may need: scratch directories, files, configs, log capture, raw frames. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipc.h"
#include "testlib.h"

/* tmp_base - $TMPDIR, or /tmp when it is unset or empty. */
static const char *tmp_base(void)
{
	const char *base = getenv("TMPDIR");

	return base != NULL && base[0] != '\0' ? base : "/tmp";
}

void tl_scratch(char *dir, size_t cap, const char *tag)
{
	int n = snprintf(dir, cap, "%s/%s.XXXXXX", tmp_base(), tag);

	ck_assert_msg(n > 0 && (size_t)n < cap, "scratch directory name too long for %zu bytes", cap);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void tl_rm_rf(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tl_pathbuf(char *buf, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	ck_assert_msg(n > 0 && (size_t)n < cap, "path %s/%s too long for %zu bytes", dir, name, cap);
	return buf;
}

const char *tl_path(const char *dir, const char *name)
{
	static char bufs[4][TL_PATH_MAX];
	static unsigned next;

	return tl_pathbuf(bufs[next++ % 4], sizeof(bufs[0]), dir, name);
}

/* write_all - write LEN bytes or fail the test. */
static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		p += w;
		len -= (size_t)w;
	}
}

void tl_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	write_all(fd, data, len);
	ck_assert_int_eq(close(fd), 0);
}

void tl_write_text(const char *path, const char *text)
{
	tl_write(path, text, strlen(text));
}

void tl_append_locked(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), 0);
	write_all(fd, data, len);
	ck_assert_int_eq(close(fd), 0);
}

char *tl_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct tl_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tl_buf_write(&b, chunk, n);
	fclose(f);
	tl_buf_write(&b, "", 0);
	if (len != NULL)
		*len = b.len;
	return b.data;
}

void tl_first_match(const char *dir, const char *suffix, char *buf, size_t cap)
{
	char pattern[TL_PATH_MAX];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/*%s", dir, suffix);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0, "no file matches %s", pattern);
	ck_assert_uint_lt(strlen(g.gl_pathv[0]), cap);
	memcpy(buf, g.gl_pathv[0], strlen(g.gl_pathv[0]) + 1);
	globfree(&g);
}

int tl_buf_write(void *arg, const void *buf, size_t len)
{
	struct tl_buf *b = arg;

	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		ck_assert_ptr_nonnull(b->data);
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void tl_buf_free(struct tl_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

struct config *tl_config(const char *text)
{
	struct cfg_error err;
	struct config *cfg = config_load_string("test.conf", text, &err);

	ck_assert_msg(cfg != NULL, "config: %s", err.msg);
	return cfg;
}

struct config *tl_configf(const char *fmt, ...)
{
	char text[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < sizeof(text), "config text longer than %zu bytes", sizeof(text));
	return tl_config(text);
}

static int capture_fd = -1;  /* the unlinked file stderr goes to */
static int saved_stderr = -1; /* stderr before the first tl_capture */

void tl_capture(void)
{
	char path[TL_PATH_MAX];

	fflush(stderr);
	if (capture_fd >= 0)
		close(capture_fd);
	snprintf(path, sizeof(path), "%s/popgate-log.XXXXXX", tmp_base());
	capture_fd = mkostemp(path, O_CLOEXEC);
	ck_assert_msg(capture_fd >= 0, "mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	if (saved_stderr < 0)
		saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_eq(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
}

const char *tl_captured(void)
{
	static char buf[65536];
	ssize_t n;

	ck_assert_int_ge(capture_fd, 0);
	fflush(stderr);
	n = pread(capture_fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

void tl_capture_end(void)
{
	if (capture_fd < 0)
		return;
	fflush(stderr);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
	}
	close(capture_fd);
	capture_fd = -1;
	saved_stderr = -1;
}

int tl_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

int tl_socket_inodes(unsigned long *ino, int cap)
{
	char path[64], link[64];
	int n = 0;

	for (int fd = 0; fd < 1024 && n < cap; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((len = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino[n]) == 1)
			n++;
	}
	return n;
}

void tl_send_frame(int sock, uint32_t magic, uint32_t type, uint32_t hlen, const void *payload, size_t len, int nfd,
		   int kind, int *peers)
{
	struct ipc_hdr h = { .magic = magic, .type = type, .len = hlen };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	union {
		char b[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1 };
	int fds[2];

	ck_assert_int_le(nfd, 2);
	for (int i = 0; i < nfd; i++) {
		int sv[2];

		ck_assert_int_eq(socketpair(AF_UNIX, kind, 0, sv), 0);
		fds[i] = sv[1];
		peers[i] = sv[0];
	}
	if (nfd > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.b;
		msg.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfd * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)(sizeof(h) + len));
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
}

bool tl_peer_closed(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT) == 0;
}
