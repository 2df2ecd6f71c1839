/* admin_audit.c - append admin actions to server.state_dir/audit.log and read the latest back. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin_api.h"
#include "admin/admin_audit.h"
#include "common/log.h"

/* clean - copy SRC into DST (CAP bytes) with tabs and control characters made '?'. */
static void clean(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
	dst[i] = '\0';
}

static int audit_path(const struct config *cfg, const char *suffix, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s%s", conf(cfg)->server.state_dir, ADMIN_AUDIT_FILE, suffix);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* open_trail - the trail for appending, rotated first when it has grown past its bound; fd or -1. */
static int open_trail(const struct config *cfg, const char *path)
{
	char old[PATH_MAX + 8];
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);

	if (fd < 0 || flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
		goto fail;
	/* As root (popgatectl), hand a new file to the state directory's owner: the page appends too. */
	if (geteuid() == 0 && st.st_uid == 0) {
		struct stat dir;
		if (stat(conf(cfg)->server.state_dir, &dir) == 0 && fchown(fd, dir.st_uid, dir.st_gid) < 0)
			log_warn("audit: cannot give %s to the state directory's owner: %s", path, strerror(errno));
	}
	if (st.st_size >= (off_t)ADMIN_AUDIT_ROTATE_BYTES && audit_path(cfg, ".1", old, sizeof(old)) == 0 &&
	    rename(path, old) == 0) {
		close(fd);
		return open_trail(cfg, path);
	}
	return fd;
fail:
	log_err("audit: %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int admin_audit_add(const struct config *cfg, time_t now, const char *actor, const char *ip, const char *action,
		    const char *fmt, ...)
{
	struct admin_audit_entry e;
	char path[PATH_MAX], raw[sizeof(e.detail)], line[1024];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	clean(e.actor, sizeof(e.actor), actor);
	clean(e.ip, sizeof(e.ip), ip);
	clean(e.action, sizeof(e.action), action);
	clean(e.detail, sizeof(e.detail), raw);
	n = snprintf(line, sizeof(line), "%lld\t%s\t%s\t%s\t%s\n", (long long)now, e.actor, e.ip, e.action, e.detail);
	if (audit_path(cfg, "", path, sizeof(path)) < 0 || n < 0 || (size_t)n >= sizeof(line))
		return -1;
	if ((fd = open_trail(cfg, path)) < 0)
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		log_err("audit: cannot append to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* parse - one line into E. 0 or -1. */
static int parse(char *line, struct admin_audit_entry *e)
{
	char *f[5], *p = line, *end;

	for (int i = 0; i < 5; i++) {
		f[i] = p;
		p = p != NULL ? strchr(p, '\t') : NULL;
		if (f[i] == NULL || (i < 4 && p == NULL))
			return -1;
		if (p != NULL)
			*p++ = '\0';
	}
	e->time = strtoll(f[0], &end, 10);
	if (*end != '\0')
		return -1;
	snprintf(e->actor, sizeof(e->actor), "%.63s", f[1]);
	snprintf(e->ip, sizeof(e->ip), "%.*s", (int)sizeof(e->ip) - 1, f[2]);
	snprintf(e->action, sizeof(e->action), "%.31s", f[3]);
	snprintf(e->detail, sizeof(e->detail), "%.319s", f[4]);
	return 0;
}

/* read_tail - the last ADMIN_AUDIT_TAIL_BYTES of PATH, NUL-terminated, malloc'd (*LEN; *CUT: not from the start). */
static char *read_tail(const char *path, size_t *len, bool *cut)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	off_t from = 0;
	ssize_t got = -1;

	*len = 0;
	*cut = false;
	if (fd < 0)
		return errno == ENOENT ? calloc(1, 1) : NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc(ADMIN_AUDIT_TAIL_BYTES + 1)) != NULL) {
		from = st.st_size > (off_t)ADMIN_AUDIT_TAIL_BYTES ? st.st_size - (off_t)ADMIN_AUDIT_TAIL_BYTES : 0;
		got = pread(fd, buf, ADMIN_AUDIT_TAIL_BYTES, from);
	}
	close(fd);
	if (got < 0) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*len = (size_t)got;
	*cut = from > 0;
	return buf;
}

long admin_audit_latest(const struct config *cfg, struct admin_audit_entry *out, size_t max)
{
	char path[PATH_MAX];
	size_t end, n = 0;
	bool cut;
	char *buf;

	if (audit_path(cfg, "", path, sizeof(path)) < 0 || (buf = read_tail(path, &end, &cut)) == NULL) {
		log_err("audit: cannot read %s", path);
		return -1;
	}
	/* From the end backwards, one line at a time; buf[end] is always the NUL after the line. */
	while (end > 0 && n < max) {
		char *nl;
		size_t start;

		if (buf[end - 1] == '\n') {
			buf[--end] = '\0';
			continue;
		}
		nl = memrchr(buf, '\n', end);
		start = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
		if (nl == NULL && cut)
			break;   /* the window began inside this line */
		if (parse(buf + start, &out[n]) == 0)
			n++;
		end = start;
	}
	free(buf);
	return (long)n;
}

/* audit_json - one action as an object. */
void admin_audit_json(struct jw *w, const struct admin_audit_entry *e)
{
	jw_obj_begin(w);
	jw_kint(w, "time", e->time);
	jw_kstr(w, "actor", e->actor);
	jw_kstr(w, "ip", e->ip);
	jw_kstr(w, "action", e->action);
	jw_kstr(w, "detail", e->detail);
	jw_obj_end(w);
}

void admin_api_audit(struct admin_ctx *ctx, struct admin_call *call, struct admin_reply *r)
{
	static struct admin_audit_entry v[ADMIN_AUDIT_SHOWN];   /* one request at a time: the worker is single-threaded */
	long n = admin_audit_latest(ctx->cfg, v, ADMIN_AUDIT_SHOWN);
	struct jw w;

	if (n < 0)
		return admin_reply_error(r, 503, "the audit trail cannot be read");
	jw_init(&w, ADMIN_JSON_MAX);
	jw_obj_begin(&w);
	jw_kint(&w, "now", call->now);
	jw_key(&w, "entries");
	jw_arr_begin(&w);
	for (long i = 0; i < n; i++)
		admin_audit_json(&w, &v[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	admin_reply_json(r, 200, &w);
}
