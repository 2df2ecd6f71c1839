/* mailbox_impl.h - what the mailbox front end shares with its mbox and Maildir drivers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MAILBOX_IMPL_H
#define POPGATE_MAILBOX_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mailbox/mailbox.h"

/* One message of the session. The mbox fields describe the file as it was at open time. */
struct mailbox_msg {
	uint64_t size;        /* POP3 octets (pop3fmt.h rules) */
	uint64_t off;         /* mbox: offset of the From_ line */
	uint64_t start;       /* mbox: offset of the first content byte, after the From_ line */
	uint64_t len;         /* mbox: content bytes, without the separating blank line;
	                         Maildir: file bytes (0 when the size came from ",W=") */
	uint64_t span_end;    /* mbox: where the next message began, or the file's end at open */
	uint32_t from_hash;   /* mbox: checksum32 of the span's first bytes, to notice foreign rewrites */
	char *name;           /* Maildir: "cur/NAME" or "new/NAME" relative to the maildir */
	char uidl[MAILBOX_UIDL_MAX + 1];
	bool deleted;
	bool seen;
};

struct mailbox;

/* A driver: open fills mb->msgs; send writes one message; commit applies the session. */
struct mailbox_driver {
	const char *scheme;
	enum mailbox_status (*open)(struct mailbox *mb);
	int (*send)(struct mailbox *mb, size_t i, long body_lines, mailbox_write_fn fn, void *arg);
	enum mailbox_status (*commit)(struct mailbox *mb);
	void (*close)(struct mailbox *mb);
};

struct mailbox {
	const struct mailbox_driver *drv;
	char *path;               /* the mbox file or the maildir, without the "scheme:" */
	char *index_dir;          /* NULL: no index */
	struct mailbox_msg *msgs;
	size_t count;
	size_t cap;
	int lock_fd;              /* session lock: flock()ed file in index_dir, or -1 */
	int fd;                   /* mbox: the file as opened (-1 if missing); Maildir: the directory */
	dev_t dev;                /* mbox: identity and size of the file at open time */
	ino_t ino;
	uint64_t open_size;
	size_t first;             /* mbox: 1 when msgs[0] is UW-IMAP's folder-data pseudo-message, hidden */
	bool xuidl_any;           /* mbox: no index yet, so every X-UIDL is qpopper's (first indexing) */
	bool identity_only;       /* mbox: uidl is the digest without X-UIDL (matching qpopper's copies) */
	char (*known)[MAILBOX_UIDL_MAX + 1]; /* mbox: sorted UIDLs the index served; X-UIDL only from these */
	bool *known_used;         /* mbox: known[i] already given to a message of this session */
	size_t known_count;
	char *inbuf;              /* send buffers, allocated on first use, grown to the biggest message sent */
	char *outbuf;
	size_t bufsize;           /* inbuf's size, at most MAILBOX_SEND_CHUNK; outbuf's is POP3FMT_OUT_MAX of it */
	bool committed;
};

/* Longest mailbox path accepted, so that derived names ("PATH.lock", temp files) fit 4 KB buffers. */
#define MAILBOX_PATH_MAX 4000

/* Chunk mailbox_send reads at a time; the output buffer is POP3FMT_OUT_MAX of it. */
#define MAILBOX_SEND_CHUNK (256 * 1024)

extern const struct mailbox_driver mbox_driver;
extern const struct mailbox_driver maildir_driver;

/* mailbox_add_msg - a new zeroed message at the end of mb->msgs, or NULL (logged) if out of memory. */
struct mailbox_msg *mailbox_add_msg(struct mailbox *mb);

/* mailbox_send_range - format LEN bytes of FD from OFF for POP3 and write them (the shared RETR/TOP loop). */
int mailbox_send_range(struct mailbox *mb, int fd, uint64_t off, uint64_t len, long body_lines,
		       mailbox_write_fn fn, void *arg);

/* mailbox_session_lock - lock the mailbox against other POP3 sessions, in index_dir or on FALLBACK_FD. */
enum mailbox_status mailbox_session_lock(struct mailbox *mb, int fallback_fd);

/* mailbox_state_path - INDEX_DIR/<base>-<hash>.<SUFFIX> for this mailbox into BUF; -1 if too long. */
int mailbox_state_path(const struct mailbox *mb, const char *suffix, char *buf, size_t cap);

/* mailbox_lock_deadline - CLOCK_MONOTONIC milliseconds by which a lock wait must give up. */
int64_t mailbox_lock_deadline(void);

/* uidl_hash - a 32-hex-digit digest of BUF into OUT (room for 33); -1 if the digest failed (logged). */
int uidl_hash(const void *buf, size_t len, char *out);

/* uidl_valid - whether S[0..N) is a usable RFC 1939 unique-id (1..70 of 0x21..0x7E). */
bool uidl_valid(const char *s, size_t n);

/* uidl_make_unique - make every UIDL of MB distinct, deterministically: later duplicates get ".2", ".3"... */
int uidl_make_unique(struct mailbox *mb);

/* checksum32 - a cheap FNV-1a checksum, for noticing changed bytes (not for security). */
uint32_t checksum32(const void *buf, size_t len);

/* checksum64 - 64-bit FNV-1a, for index file integrity. */
uint64_t checksum64(const void *buf, size_t len);

#endif
