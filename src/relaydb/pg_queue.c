/*
 * pg_queue.c - logins the PostgreSQL store could not take yet: one line each in relay.db_dir's
 * pg-queue, synced before the login is answered, written to the store when it returns; and the
 * local copy a node answers its own clients' RCPT from while the store is away.
 */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/pg_int.h"

/* put_text - SRC percent-encoded (%, controls, tab) at P within END; the new P, or NULL. */
static char *put_text(char *p, const char *end, const char *src)
{
	for (const unsigned char *s = (const unsigned char *)src; *s != '\0'; s++) {
		if (end - p < 4)
			return NULL;
		if (*s < 0x20 || *s == 0x7f || *s == '%') {
			snprintf(p, 4, "%%%02X", *s);
			p += 3;
		} else {
			*p++ = (char)*s;
		}
	}
	return p;
}

size_t pgq_format(const struct pgq_item *it, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;
	int n;

	if ((p = put_text(p, end, it->ip)) == NULL || end - p < 2)
		return 0;
	*p++ = '\t';
	if ((p = put_text(p, end, it->user)) == NULL || end - p < 2)
		return 0;
	*p++ = '\t';
	if ((p = put_text(p, end, it->proto)) == NULL)
		return 0;
	n = snprintf(p, (size_t)(end - p), "\t%lld\t%lld\n", (long long)it->now, (long long)it->ttl);
	if (n < 0 || n >= end - p)
		return 0;
	return (size_t)(p - buf) + (size_t)n;
}

/* get_text - decode the field at *SP up to a tab into DST of SIZE, moving *SP past the tab. 0 or -1. */
static int get_text(const char **sp, char *dst, size_t size)
{
	const char *s = *sp;
	size_t n = 0;

	for (; *s != '\t'; s++) {
		unsigned v;

		if (*s == '\0' || n + 1 >= size)
			return -1;
		if (*s == '%') {
			if (sscanf(s + 1, "%2x", &v) != 1 || s[1] == '\0' || s[2] == '\0')
				return -1;
			s += 2;
			dst[n++] = (char)v;
		} else {
			dst[n++] = *s;
		}
	}
	dst[n] = '\0';
	*sp = s + 1;
	return 0;
}

int pgq_parse(const char *line, struct pgq_item *it)
{
	long long now, ttl;
	char canon[IP_TEXT_MAX], tail;

	memset(it, 0, sizeof(*it));
	if (get_text(&line, it->ip, sizeof(it->ip)) < 0 || get_text(&line, it->user, sizeof(it->user)) < 0 ||
	    get_text(&line, it->proto, sizeof(it->proto)) < 0)
		return -1;
	if (sscanf(line, "%lld\t%lld%c", &now, &ttl, &tail) != 2 || now < 0 || ttl <= 0 || ttl > INT32_MAX)
		return -1;
	if (ip_canonical(it->ip, canon) < 0 || strcmp(canon, it->ip) != 0)
		return -1;
	it->now = now;
	it->ttl = ttl;
	return 0;
}

int pgq_init(struct pgq *q, const char *dir)
{
	memset(q, 0, sizeof(*q));
	q->lockfd = -1;
	if (snprintf(q->path, sizeof(q->path), "%s/%s", dir, PGQ_FILE) >= (int)sizeof(q->path) ||
	    snprintf(q->lock, sizeof(q->lock), "%s/%s", dir, PGQ_LOCK_FILE) >= (int)sizeof(q->lock))
		return -1;
	if ((q->done = calloc(PGQ_DONE_MAX, sizeof(*q->done))) == NULL)
		return -1;
	return 0;
}

void pgq_free(struct pgq *q)
{
	free(q->pend);
	free(q->done);
	if (q->lockfd >= 0)
		close(q->lockfd);
	memset(q, 0, sizeof(*q));
	q->lockfd = -1;
}

/*
 * create - open PATH with FLAGS (O_CREAT among them), owned like relay.db_dir: a root process
 * (a session monitor recording a login itself, popgatectl) must not leave a file the lookup
 * worker, running as server.user, cannot read or drain.
 */
static int create(const char *path, int flags)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *slash = strrchr(path, '/');
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0 || geteuid() != 0 || slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return fd;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (stat(dir, &st) == 0 && st.st_uid != 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		log_warn("relaydb: cannot give %s to uid %ld: %s", path, (long)st.st_uid, strerror(errno));
	return fd;
}

/* lock - take the queue's lock (serialises appends, reloads and drains between processes). 0 or -1. */
static int lock(struct pgq *q)
{
	if (q->lockfd < 0 && (q->lockfd = create(q->lock, O_RDWR | O_CREAT)) < 0) {
		log_err("relaydb: queue lock %s: %s", q->lock, strerror(errno));
		return -1;
	}
	while (flock(q->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			log_err("relaydb: queue lock %s: %s", q->lock, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void unlock(struct pgq *q)
{
	flock(q->lockfd, LOCK_UN);
}

/* push - add IT to PEND. 0 or -1. */
static int push(struct pgq *q, const struct pgq_item *it)
{
	if (q->npend == q->cappend) {
		size_t cap = q->cappend ? q->cappend * 2 : 64;
		struct pgq_item *v = realloc(q->pend, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		q->pend = v;
		q->cappend = cap;
	}
	q->pend[q->npend++] = *it;
	return 0;
}

/* load - PEND from the file, under the lock; a line that does not parse is logged and skipped. 0 or -1. */
static int load(struct pgq *q)
{
	char line[PGQ_LINE_MAX];
	struct pgq_item it;
	struct stat st;
	FILE *f;

	q->npend = 0;
	q->loaded = 0;
	if ((f = fopen(q->path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);

		if (n == 0 || line[n - 1] != '\n') {
			log_warn("relaydb: %s: skipping a cut line", q->path);  /* a crash mid-append */
			continue;
		}
		line[n - 1] = '\0';
		if (pgq_parse(line, &it) < 0 || push(q, &it) < 0)
			log_warn("relaydb: %s: skipping a line that does not parse", q->path);
	}
	if (fstat(fileno(f), &st) == 0)
		q->loaded = st.st_size;
	fclose(f);
	return 0;
}

/* file_size - the queue file's size, 0 when it is missing. */
static off_t file_size(const struct pgq *q)
{
	struct stat st;

	return stat(q->path, &st) == 0 ? st.st_size : 0;
}

int pgq_reload(struct pgq *q)
{
	int rc = 0;

	if (file_size(q) == q->loaded)
		return 0;
	if (lock(q) < 0)
		return -1;
	rc = load(q);
	unlock(q);
	return rc;
}

/* append_line - write BUF of LEN to the end of the file and sync it. 0 or -1. */
static int append_line(struct pgq *q, const char *buf, size_t len)
{
	int fd = create(q->path, O_WRONLY | O_APPEND | O_CREAT);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, buf, len);
	if (w != (ssize_t)len || fdatasync(fd) < 0) {
		int saved = errno;

		if (w > 0 && ftruncate(fd, lseek(fd, 0, SEEK_END) - w) < 0)
			saved = errno;
		close(fd);
		errno = w >= 0 && w != (ssize_t)len ? ENOSPC : saved;
		return -1;
	}
	return close(fd);
}

int pgq_append(struct pgq *q, const struct pgq_item *it)
{
	char buf[PGQ_LINE_MAX];
	size_t len = pgq_format(it, buf, sizeof(buf));
	int rc;

	if (len == 0 || lock(q) < 0)
		return -1;
	/* Another process may have appended or drained since: start from the file. */
	if (file_size(q) != q->loaded)
		(void)load(q);
	rc = append_line(q, buf, len);
	if (rc < 0)
		log_err("relaydb: cannot queue the authorization of %s in %s: %s", it->ip, q->path, strerror(errno));
	else if (push(q, it) == 0)
		q->loaded += (off_t)len;
	unlock(q);
	return rc;
}

void pgq_remember(struct pgq *q, const struct pgq_item *it)
{
	if (q->ndone == PGQ_DONE_MAX) {
		/* Full: the older half goes (the local copy is a convenience for an outage, not the truth). */
		memmove(q->done, q->done + PGQ_DONE_MAX / 2, (PGQ_DONE_MAX / 2) * sizeof(*q->done));
		q->ndone = PGQ_DONE_MAX / 2;
	}
	q->done[q->ndone++] = *it;
}

void pgq_forget(struct pgq *q, const char *canon)
{
	size_t j = 0;

	for (size_t i = 0; i < q->ndone; i++) {
		if (canon != NULL && strcmp(q->done[i].ip, canon) != 0)
			q->done[j++] = q->done[i];
	}
	q->ndone = j;
}

/* merge - fold IT into E (the newest login decides, every login counts). */
static void merge(struct relay_entry *e, const struct pgq_item *it, bool *found)
{
	if (!*found || it->now >= e->last) {
		snprintf(e->user, sizeof(e->user), "%s", it->user);
		snprintf(e->proto, sizeof(e->proto), "%s", it->proto);
		e->last = it->now;
		e->expires = it->now + it->ttl;
	}
	if (!*found || it->now < e->first)
		e->first = it->now;
	e->logins++;
	*found = true;
}

int pgq_find(const struct pgq *q, const char *canon, struct relay_entry *e, const char *node)
{
	bool found = false;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < q->ndone; i++)
		if (strcmp(q->done[i].ip, canon) == 0)
			merge(e, &q->done[i], &found);
	for (size_t i = 0; i < q->npend; i++)
		if (strcmp(q->pend[i].ip, canon) == 0)
			merge(e, &q->pend[i], &found);
	if (!found)
		return 0;
	snprintf(e->ip, sizeof(e->ip), "%s", canon);
	snprintf(e->node, sizeof(e->node), "%s", node);
	return 1;
}

/* rewrite - replace the file by PEND[FROM..] (synced, renamed over it). 0 or -1. */
static int rewrite(struct pgq *q, size_t from)
{
	char tmp[PATH_MAX + 8], buf[PGQ_LINE_MAX];
	int fd;

	if (from == q->npend) {
		if (truncate(q->path, 0) < 0 && errno != ENOENT)
			return -1;
		q->npend = 0;
		q->loaded = 0;
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", q->path) >= (int)sizeof(tmp) ||
	    (fd = create(tmp, O_WRONLY | O_CREAT | O_TRUNC)) < 0)
		return -1;
	for (size_t i = from; i < q->npend; i++) {
		size_t len = pgq_format(&q->pend[i], buf, sizeof(buf));

		if (len == 0 || write(fd, buf, len) != (ssize_t)len) {
			close(fd);
			unlink(tmp);
			return -1;
		}
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, q->path) < 0) {
		unlink(tmp);
		return -1;
	}
	return load(q);
}

long pgq_drain(struct pgq *q, int (*write_fn)(const struct pgq_item *it, void *arg), void *arg)
{
	size_t i = 0;
	long left;

	if (lock(q) < 0)
		return -1;
	if (load(q) < 0) {
		unlock(q);
		return -1;
	}
	for (; i < q->npend; i++) {
		if (write_fn(&q->pend[i], arg) < 0)
			break;
		pgq_remember(q, &q->pend[i]);
	}
	if (i > 0 && rewrite(q, i) < 0) {
		/* Written twice at worst (a login counted twice), never lost. */
		log_err("relaydb: cannot rewrite %s: %s", q->path, strerror(errno));
		unlock(q);
		return -1;
	}
	left = (long)q->npend;
	unlock(q);
	return left;
}
