/* mailbox.c - the mailbox front end: spec parsing, driver dispatch, session lock, RETR/TOP loop. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mailbox_spec.h"
#include "mailbox/mailbox_impl.h"
#include "mailbox/pop3fmt.h"

static unsigned lock_timeout = MAILBOX_LOCK_TIMEOUT;

static void drop_send_buffers(struct mailbox *mb);

void mailbox_set_lock_timeout(unsigned seconds)
{
	lock_timeout = seconds;
}

int64_t mailbox_lock_deadline(void)
{
	return mono_ms() + (int64_t)lock_timeout * 1000;
}

const char *mailbox_status_name(enum mailbox_status st)
{
	switch (st) {
	case MAILBOX_OK: return "ok";
	case MAILBOX_IN_USE: return "in-use";
	case MAILBOX_TEMP: return "temporary failure";
	case MAILBOX_PERM: return "permanent failure";
	}
	return "unknown";
}

/* driver_for - the driver for the format SPEC names, and the path after its prefix. */
static const struct mailbox_driver *driver_for(const char *spec, const char **path)
{
	enum mailbox_format format;

	if (mailbox_spec_split(spec, &format, path) < 0)
		return NULL;
	return format == MAILBOX_FORMAT_MBOX ? &mbox_driver : &maildir_driver;
}

/* mailbox_new - an empty, unlocked mailbox for DRV at PATH (trailing slashes dropped). */
static struct mailbox *mailbox_new(const struct mailbox_driver *drv, const char *path, const char *index_dir)
{
	struct mailbox *mb = calloc(1, sizeof(*mb));

	if (mb == NULL)
		return NULL;
	mb->drv = drv;
	mb->lock_fd = -1;
	mb->fd = -1;
	mb->path = strdup(path);
	if (index_dir != NULL)
		mb->index_dir = strdup(index_dir);
	if (mb->path == NULL || (index_dir != NULL && mb->index_dir == NULL)) {
		mailbox_close(&mb);
		return NULL;
	}
	for (size_t n = strlen(mb->path); n > 1 && mb->path[n - 1] == '/'; n--)
		mb->path[n - 1] = '\0';
	return mb;
}

enum mailbox_status mailbox_open(const char *spec, const char *index_dir, struct mailbox **mbp)
{
	const char *path = NULL;
	const struct mailbox_driver *drv = driver_for(spec, &path);
	struct mailbox *mb;
	enum mailbox_status st;

	*mbp = NULL;
	/* Room for "PATH.lock" and ".NAME.popgate-new" in the fixed path buffers. */
	if (drv == NULL || path[0] != '/' || strlen(path) > MAILBOX_PATH_MAX) {
		log_err("mailbox %.200s: not \"mbox:/absolute/path\" or \"maildir:/absolute/path\"", spec);
		return MAILBOX_PERM;
	}
	mb = mailbox_new(drv, path, index_dir);
	if (mb == NULL) {
		log_err("mailbox %s: out of memory", spec);
		return MAILBOX_TEMP;
	}
	st = drv->open(mb);
	if (st != MAILBOX_OK) {
		mailbox_close(&mb);
		return st;
	}
	*mbp = mb;
	return MAILBOX_OK;
}

/*
 * at - the driver's index of session message I, skipping a hidden pseudo-message; a number
 * outside the session is a caller bug: stop loudly.
 */
static size_t at(const struct mailbox *mb, size_t i)
{
	if (i >= mb->count - mb->first) {
		log_err("mailbox %s: message %zu of %zu requested (caller bug)", mb->path, i, mb->count - mb->first);
		abort();
	}
	return i + mb->first;
}

size_t mailbox_count(const struct mailbox *mb)
{
	return mb->count - mb->first;
}

uint64_t mailbox_size(const struct mailbox *mb, size_t i)
{
	return mb->msgs[at(mb, i)].size;
}

const char *mailbox_uidl(const struct mailbox *mb, size_t i)
{
	return mb->msgs[at(mb, i)].uidl;
}

int mailbox_send(struct mailbox *mb, size_t i, long body_lines, mailbox_write_fn write_fn, void *arg)
{
	return mb->drv->send(mb, at(mb, i), body_lines, write_fn, arg);
}

void mailbox_mark_seen(struct mailbox *mb, size_t i)
{
	mb->msgs[at(mb, i)].seen = true;
}

void mailbox_set_deleted(struct mailbox *mb, size_t i, bool deleted)
{
	mb->msgs[at(mb, i)].deleted = deleted;
}

bool mailbox_is_deleted(const struct mailbox *mb, size_t i)
{
	return mb->msgs[at(mb, i)].deleted;
}

enum mailbox_status mailbox_commit(struct mailbox *mb)
{
	if (mb->committed) {
		log_err("mailbox %s: committed twice (caller bug)", mb->path);
		return MAILBOX_PERM;
	}
	mb->committed = true;
	return mb->drv->commit(mb);
}

void mailbox_unlock(struct mailbox *mb)
{
	/* Without an index directory the session lock is the flock on the mailbox itself. */
	int fd = mb->lock_fd >= 0 ? mb->lock_fd : mb->fd;

	if (mb->committed && fd >= 0)
		(void)flock(fd, LOCK_UN);
}

void mailbox_close(struct mailbox **mbp)
{
	struct mailbox *mb = *mbp;

	if (mb == NULL)
		return;
	if (mb->drv != NULL && mb->drv->close != NULL)
		mb->drv->close(mb);
	if (mb->fd >= 0)
		close(mb->fd);
	if (mb->lock_fd >= 0)
		close(mb->lock_fd);
	for (size_t i = 0; i < mb->count; i++)
		free(mb->msgs[i].name);
	free(mb->msgs);
	free(mb->known);
	free(mb->known_used);
	drop_send_buffers(mb);
	free(mb->path);
	free(mb->index_dir);
	free(mb);
	*mbp = NULL;
}

struct mailbox_msg *mailbox_add_msg(struct mailbox *mb)
{
	if (mb->count == mb->cap) {
		size_t cap = mb->cap == 0 ? 64 : mb->cap * 2;
		struct mailbox_msg *m = reallocarray(mb->msgs, cap, sizeof(*m));

		if (m == NULL) {
			log_err("mailbox %s: out of memory for %zu messages", mb->path, cap);
			return NULL;
		}
		mb->msgs = m;
		mb->cap = cap;
	}
	memset(&mb->msgs[mb->count], 0, sizeof(mb->msgs[0]));
	return &mb->msgs[mb->count++];
}

int mailbox_state_path(const struct mailbox *mb, const char *suffix, char *buf, size_t cap)
{
	const char *base = strrchr(mb->path, '/');
	char clean[41];
	char digest[33];
	size_t n = 0;
	int len;

	base = base != NULL && base[1] != '\0' ? base + 1 : mb->path;
	for (; base[n] != '\0' && n < sizeof(clean) - 1; n++) {
		char c = base[n];

		clean[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '.' || c == '-' || c == '_' ? c : '_';
	}
	clean[n] = '\0';
	if (uidl_hash(mb->path, strlen(mb->path), digest) < 0)
		return -1;
	digest[16] = '\0';
	len = snprintf(buf, cap, "%s/%s-%s-%s.%s", mb->index_dir, mb->drv->scheme, clean, digest, suffix);
	if (len < 0 || (size_t)len >= cap) {
		log_err("mailbox %s: index directory path %s too long", mb->path, mb->index_dir);
		return -1;
	}
	return 0;
}

enum mailbox_status mailbox_session_lock(struct mailbox *mb, int fallback_fd)
{
	char path[4096];
	int fd = fallback_fd;

	if (mb->index_dir != NULL) {
		if (mailbox_state_path(mb, "lock", path, sizeof(path)) < 0)
			return MAILBOX_PERM;
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			log_err("mailbox %s: cannot open session lock %s: %s", mb->path, path, strerror(errno));
			return MAILBOX_TEMP;
		}
		mb->lock_fd = fd;
	} else {
		snprintf(path, sizeof(path), "%s", mb->path);
	}
	if (fd < 0)
		return MAILBOX_OK; /* a missing mbox without an index dir: nothing to protect */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			log_info("mailbox %s: in use by another POP3 session", mb->path);
			return MAILBOX_IN_USE;
		}
		log_err("mailbox %s: cannot lock %s: %s", mb->path, path, strerror(errno));
		return MAILBOX_TEMP;
	}
	return MAILBOX_OK;
}

/*
 * Send buffers from this size up are mapped and unmapped here, not by malloc: glibc raises its
 * mmap threshold to the size of a mapped chunk freed, so the next big buffers would come from the
 * heap and stay there, dirty, through every later session of a kept mailbox process. Its own
 * threshold is left alone: big indexes reloaded by a kept process still reuse its heap.
 */
#define SEND_MAP_MIN (128 * 1024)

/* buf_get - N bytes for a send buffer, mapped when big; NULL when out of memory. */
static char *buf_get(size_t n)
{
	void *p;

	if (n < SEND_MAP_MIN)
		return malloc(n);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* buf_put - give back *P, N bytes from buf_get (or NULL), and clear it. */
static void buf_put(char **p, size_t n)
{
	if (*p != NULL && n < SEND_MAP_MIN)
		free(*p);
	else if (*p != NULL)
		(void)munmap(*p, n);
	*p = NULL;
}

/* drop_send_buffers - give back MB's send buffers. */
static void drop_send_buffers(struct mailbox *mb)
{
	buf_put(&mb->inbuf, mb->bufsize);
	buf_put(&mb->outbuf, POP3FMT_OUT_MAX(mb->bufsize));
	mb->bufsize = 0;
}

/*
 * send_buffers - send buffers for a message of LEN bytes: as big as it (at least a page, at most
 * MAILBOX_SEND_CHUNK), grown by doubling. Small messages never cost the 768 KB a full-size pair
 * would. 0 or -1.
 */
static int send_buffers(struct mailbox *mb, uint64_t len)
{
	size_t want = len < MAILBOX_SEND_CHUNK ? (size_t)len : MAILBOX_SEND_CHUNK;

	if (want < 4096)
		want = 4096; /* also room for the line end pop3fmt_finish may add to an empty message */
	if (want <= mb->bufsize)
		return 0;
	if (want < 2 * mb->bufsize)
		want = 2 * mb->bufsize < MAILBOX_SEND_CHUNK ? 2 * mb->bufsize : MAILBOX_SEND_CHUNK;
	drop_send_buffers(mb);
	mb->inbuf = buf_get(want);
	mb->outbuf = buf_get(POP3FMT_OUT_MAX(want));
	mb->bufsize = want;
	if (mb->inbuf == NULL || mb->outbuf == NULL) {
		drop_send_buffers(mb);
		log_err("mailbox %s: out of memory for send buffers", mb->path);
		return -1;
	}
	return 0;
}

int mailbox_send_range(struct mailbox *mb, int fd, uint64_t off, uint64_t len, long body_lines,
		       mailbox_write_fn fn, void *arg)
{
	struct pop3fmt f;
	size_t n;

	if (send_buffers(mb, len) < 0)
		return -1;
	pop3fmt_init(&f, body_lines);
	while (len > 0 && !f.done) {
		size_t want = len < mb->bufsize ? (size_t)len : mb->bufsize;
		ssize_t r = pread(fd, mb->inbuf, want, (off_t)off);
		size_t used;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_err("mailbox %s: read at %llu: %s", mb->path, (unsigned long long)off, strerror(errno));
			return -1;
		}
		if (r == 0) {
			log_err("mailbox %s: message at %llu ends early: changed by another program",
				mb->path, (unsigned long long)off);
			return -1;
		}
		n = pop3fmt_run(&f, mb->inbuf, (size_t)r, mb->outbuf, &used);
		if (n > 0 && fn(arg, mb->outbuf, n) < 0)
			return -1;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	n = pop3fmt_finish(&f, mb->outbuf);
	if (n > 0 && fn(arg, mb->outbuf, n) < 0)
		return -1;
	return 0;
}
