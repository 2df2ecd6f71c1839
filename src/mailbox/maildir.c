/* maildir.c - the Maildir driver: new/ and cur/, sizes from ,W= or the file, flags and deletions at QUIT. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Following Courier and Dovecot, messages found in new/ are moved to cur/ (as NAME:2,) when
 * the session opens: they have been seen by a mail client, if not yet read. RETR only
 * remembers the message; mailbox_commit then adds the S flag (NAME:2,S and any other flags,
 * in ASCII order) and unlinks deleted messages. Renames and unlinks are atomic, so a crash
 * at any point leaves each message either as it was or as intended.
 *
 * Another client (IMAP, a second maildir reader) may rename or delete a message during the
 * session; we find a renamed one again by the unique part of its name (the part before ':',
 * which is also its UIDL) and treat a vanished one as already gone.
 *
 * The POP3 size comes from ",W=NNN" in the name when present (written by Dovecot and
 * Courier: the size with CRLF line ends); otherwise the file is read and its LFs counted
 * once, and remembered in the size cache (maildir_sizes.c) for later logins.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "mailbox/mailbox_impl.h"
#include "mailbox/maildir_sizes.h"
#include "mailbox/pop3fmt.h"

/* base_len - the length of NAME's unique part, before the ":2,flags" info. */
static size_t base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

/* name_size - the value of ",W=" in the unique part of NAME, if present. */
static bool name_size(const char *name, uint64_t *size)
{
	size_t n = base_len(name);

	for (const char *p = name; (p = strstr(p, ",W=")) != NULL && (size_t)(p - name) < n; p += 3) {
		char *end;
		unsigned long long v = strtoull(p + 3, &end, 10);

		if (end > p + 3 && (*end == ',' || *end == ':' || *end == '\0')) {
			*size = v;
			return true;
		}
	}
	return false;
}

/* file_size - the POP3 size of message file NAME: 0, -1 on error (logged), -2 if it has vanished. */
static int file_size(struct mailbox *mb, const char *name, uint64_t *size)
{
	char buf[65536];
	struct pop3size s;
	ssize_t r;
	int fd = openat(mb->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return -2;
	if (fd < 0) {
		log_err("mailbox %s: cannot open %s: %s", mb->path, name, strerror(errno));
		return -1;
	}
	pop3size_init(&s);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_err("mailbox %s: reading %s: %s", mb->path, name, strerror(errno));
			close(fd);
			return -1;
		}
		pop3size_add(&s, buf, (size_t)r);
	}
	close(fd);
	*size = pop3size_result(&s);
	return 0;
}

/* move_to_cur - rename new/NAME to cur/NAME:2, and return the new relative name in OUT. */
static void move_to_cur(struct mailbox *mb, const char *name, char *out, size_t cap)
{
	static bool logged;
	const char *base = name + 4;
	int n = snprintf(out, cap, "cur/%s%s", base, strchr(base, ':') != NULL ? "" : ":2,");

	if (n <= 0 || (size_t)n >= cap) {
		snprintf(out, cap, "%s", name);
		return;
	}
	/* Never replace a file that is already there: it is another message. */
	if (renameat2(mb->fd, name, mb->fd, out, RENAME_NOREPLACE) == 0)
		return;
	if (!logged)
		log_warn("mailbox %s: cannot move %s to cur/: %s", mb->path, name, strerror(errno));
	logged = true;
	snprintf(out, cap, "%s", name);
}

/* message_size - M's POP3 size from the cache or by reading it: 0, -1 error (logged), -2 vanished. */
static int message_size(struct mailbox *mb, struct mailbox_msg *m, const char *name, struct maildir_sizes *cache)
{
	struct stat st;
	int r;

	if (fstatat(mb->fd, m->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return -2;
		log_err("mailbox %s: cannot stat %s: %s", mb->path, m->name, strerror(errno));
		return -1;
	}
	m->len = (uint64_t)st.st_size;
	if (m->len == 0) {
		m->size = 0;
		return 0;
	}
	if (maildir_sizes_get(cache, name, base_len(name), m->len, &m->size))
		return 0;
	r = file_size(mb, m->name, &m->size);
	if (r == 0)
		maildir_sizes_note_miss(cache);
	return r;
}

/* add_entry - take message SUB/NAME into the session. */
static enum mailbox_status add_entry(struct mailbox *mb, const char *sub, const char *name,
				     struct maildir_sizes *cache)
{
	char rel[4096];
	struct mailbox_msg *m;
	size_t blen = base_len(name);

	if (snprintf(rel, sizeof(rel), "%s/%s", sub, name) >= (int)sizeof(rel))
		return MAILBOX_OK;
	if (strcmp(sub, "new") == 0) {
		char moved[4096];

		move_to_cur(mb, rel, moved, sizeof(moved));
		snprintf(rel, sizeof(rel), "%s", moved);
	}
	m = mailbox_add_msg(mb);
	if (m == NULL)
		return MAILBOX_TEMP;
	m->name = strdup(rel);
	if (m->name == NULL) {
		log_err("mailbox %s: out of memory", mb->path);
		return MAILBOX_TEMP;
	}
	if (uidl_valid(name, blen)) {
		memcpy(m->uidl, name, blen);
		m->uidl[blen] = '\0';
	} else if (uidl_hash(name, blen, m->uidl) < 0) {
		return MAILBOX_TEMP;
	}
	if (name_size(name, &m->size))
		return MAILBOX_OK;
	switch (message_size(mb, m, name, cache)) {
	case 0:
		return MAILBOX_OK;
	case -2:
		free(m->name); /* removed by another client while we looked */
		mb->count--;
		return MAILBOX_OK;
	default:
		return MAILBOX_TEMP;
	}
}

/* scan_sub - add every regular, non-dot file of SUB ("new" or "cur"). A missing SUB is empty. */
static enum mailbox_status scan_sub(struct mailbox *mb, const char *sub, struct maildir_sizes *cache)
{
	int dfd = openat(mb->fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum mailbox_status s = MAILBOX_OK;
	struct dirent *de;
	DIR *d;

	if (dfd < 0 && errno == ENOENT)
		return MAILBOX_OK;
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		log_err("mailbox %s: cannot read %s/: %s", mb->path, sub, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return MAILBOX_TEMP;
	}
	while (s == MAILBOX_OK && (errno = 0, de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_REG &&
		    (de->d_type != DT_UNKNOWN || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISREG(st.st_mode)))
			continue;
		s = add_entry(mb, sub, de->d_name, cache);
	}
	if (s == MAILBOX_OK && errno != 0) {
		log_err("mailbox %s: reading %s/: %s", mb->path, sub, strerror(errno));
		s = MAILBOX_TEMP;
	}
	closedir(d);
	return s;
}

/* cmp_delivery - order messages by delivery time (the leading number of the name), then by name. */
static int cmp_delivery(const void *a, const void *b)
{
	const struct mailbox_msg *x = a;
	const struct mailbox_msg *y = b;
	unsigned long long tx = strtoull(x->name + 4, NULL, 10);
	unsigned long long ty = strtoull(y->name + 4, NULL, 10);

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x->name + 4, y->name + 4);
}

static enum mailbox_status maildir_open(struct mailbox *mb)
{
	struct maildir_sizes *cache;
	enum mailbox_status s;

	mb->fd = open(mb->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mb->fd < 0 && errno == ENOENT)
		return mailbox_session_lock(mb, -1); /* never delivered to: empty */
	if (mb->fd < 0) {
		log_err("mailbox %s: cannot open maildir: %s", mb->path, strerror(errno));
		return errno == ENOTDIR ? MAILBOX_PERM : MAILBOX_TEMP;
	}
	s = mailbox_session_lock(mb, mb->fd);
	if (s != MAILBOX_OK)
		return s;
	cache = maildir_sizes_load(mb);
	s = scan_sub(mb, "cur", cache);
	if (s == MAILBOX_OK)
		s = scan_sub(mb, "new", cache);
	if (s == MAILBOX_OK)
		maildir_sizes_save(cache, mb);
	maildir_sizes_free(&cache);
	if (s != MAILBOX_OK)
		return s;
	if (mb->count > 1)
		qsort(mb->msgs, mb->count, sizeof(mb->msgs[0]), cmp_delivery);
	return uidl_make_unique(mb) < 0 ? MAILBOX_TEMP : MAILBOX_OK;
}

/* relocate - find message M again after another client renamed it; false if it is gone. */
static bool relocate(struct mailbox *mb, struct mailbox_msg *m)
{
	const char *subs[] = { "cur", "new" };
	const char *base = m->name + 4;
	size_t blen = base_len(base);

	for (int k = 0; k < 2; k++) {
		int dfd = openat(mb->fd, subs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;

		if (d == NULL) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			char rel[4096];
			char *copy;

			if (base_len(de->d_name) != blen || strncmp(de->d_name, base, blen) != 0 ||
			    snprintf(rel, sizeof(rel), "%s/%s", subs[k], de->d_name) >= (int)sizeof(rel) ||
			    (copy = strdup(rel)) == NULL)
				continue;
			free(m->name);
			m->name = copy;
			closedir(d);
			return true;
		}
		closedir(d);
	}
	return false;
}

static int maildir_send(struct mailbox *mb, size_t i, long body_lines, mailbox_write_fn fn, void *arg)
{
	struct mailbox_msg *m = &mb->msgs[i];
	struct stat st;
	int rc;
	int fd = openat(mb->fd, m->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && relocate(mb, m))
		fd = openat(mb->fd, m->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_err("mailbox %s: cannot open %s: %s", mb->path, m->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = mailbox_send_range(mb, fd, 0, (uint64_t)st.st_size, body_lines, fn, arg);
	close(fd);
	return rc;
}

/* seen_name - M's name with the S flag added, into OUT; false if it already has it or cannot. */
static bool seen_name(const struct mailbox_msg *m, char *out, size_t cap)
{
	const char *base = m->name + 4;
	const char *info = strchr(base, ':');
	char flags[64];
	size_t n = 0;
	bool put = false;
	int len;

	if (info != NULL && strncmp(info, ":2,", 3) != 0)
		return false; /* an info format we do not know: leave it alone */
	if (info != NULL) {
		if (strchr(info + 3, 'S') != NULL)
			return false;
		for (const char *f = info + 3; *f != '\0' && n < sizeof(flags) - 2; f++) {
			if (!put && *f > 'S') {
				flags[n++] = 'S';
				put = true;
			}
			flags[n++] = *f;
		}
	}
	if (!put)
		flags[n++] = 'S';
	len = snprintf(out, cap, "cur/%.*s:2,%.*s", (int)base_len(base), base, (int)n, flags);
	return len > 0 && (size_t)len < cap;
}

/*
 * apply_one - delete or flag message M; a message someone else removed counts as done. 1 when a
 * name changed, 0 when there was nothing to do, -1 on error.
 */
static int apply_one(struct mailbox *mb, struct mailbox_msg *m)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		char target[4200];
		int r;

		if (m->deleted)
			r = unlinkat(mb->fd, m->name, 0);
		else if (m->seen && seen_name(m, target, sizeof(target)))
			r = renameat2(mb->fd, m->name, mb->fd, target, RENAME_NOREPLACE);
		else
			return 0;
		if (r == 0)
			return 1;
		if (errno == EEXIST) {
			log_warn("mailbox %s: not flagging %s: %s already exists", mb->path, m->name, target);
			return 0;
		}
		if (errno != ENOENT) {
			log_err("mailbox %s: cannot %s %s: %s", mb->path, m->deleted ? "delete" : "flag",
				m->name, strerror(errno));
			return -1;
		}
		if (!relocate(mb, m))
			return 0;
	}
	return 0;
}

static enum mailbox_status maildir_commit(struct mailbox *mb)
{
	enum mailbox_status s = MAILBOX_OK;
	size_t deleted = 0, changed = 0;

	for (size_t i = 0; i < mb->count; i++) {
		int r = apply_one(mb, &mb->msgs[i]);

		if (r < 0)
			s = MAILBOX_TEMP;
		changed += r > 0;
		deleted += mb->msgs[i].deleted;
	}
	/*
	 * The renames and unlinks must be on disk before QUIT's +OK; a session that changed no name
	 * has nothing to make durable (three fsyncs of unchanged directories cost 0.6 ms each, more
	 * on a busy disk, and halved Maildir sessions/s in bench/run).
	 */
	if (changed > 0 && fsync(mb->fd) < 0)
		log_warn("mailbox %s: fsync: %s", mb->path, strerror(errno));
	for (int k = 0; k < 2 && changed > 0; k++) {
		int dfd = openat(mb->fd, k == 0 ? "cur" : "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	if (deleted > 0)
		log_info("mailbox %s: %zu of %zu messages deleted", mb->path, deleted, mb->count);
	return s;
}

const struct mailbox_driver maildir_driver = {
	.scheme = "maildir",
	.open = maildir_open,
	.send = maildir_send,
	.commit = maildir_commit,
	.close = NULL,
};
