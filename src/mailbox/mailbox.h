/* mailbox.h - the maildrop a POP3 session works on: mbox or Maildir, locked for the session. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MAILBOX_H
#define POPGATE_MAILBOX_H

/*
 * One struct mailbox is one POP3 session's view of a maildrop, fixed at mailbox_open():
 * messages delivered later are not part of it and are never touched by mailbox_commit().
 * Message numbers are 0-based here; the protocol adds 1.
 *
 * What the calling process needs (the POP3 worker runs as the mailbox owner):
 *  - mbox: read and write permission on the file, and write permission on its directory,
 *    which on Debian (/var/mail, root:mail 2775) means the supplementary group "mail".
 *    The directory is needed for the dotlock (USER.lock) and for mailbox_commit(), which
 *    replaces the file by a complete new copy (see mbox_commit.c for why). Without it,
 *    reading still works (fcntl locking only, logged once) but deletions fail with
 *    MAILBOX_TEMP and nothing is lost.
 *  - Maildir: read/write on new/ and cur/.
 *  - INDEX_DIR: a directory the process may create files in (server.state_dir or a
 *    per-user subdirectory of it). It holds the session lock and the mbox index.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mailbox;

enum mailbox_status {
	MAILBOX_OK,
	MAILBOX_IN_USE, /* another POP3 session, or a program holding the mailbox lock too long */
	MAILBOX_TEMP,   /* try again later: I/O error, out of memory or disk space, lock timeout */
	MAILBOX_PERM,   /* the mailbox is unusable as configured: bad spec, not a mailbox, symlink */
};

/* RFC 1939: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E. */
#define MAILBOX_UIDL_MAX 70

/*
 * How long open and commit wait for a dotlock or fcntl lock held by another program, in
 * seconds: MTAs hold them for one delivery, so 20 s is generous without hanging a client.
 */
#define MAILBOX_LOCK_TIMEOUT 20

/*
 * mailbox_open - open and lock SPEC ("mbox:/path" or "maildir:/path") for one session.
 * INDEX_DIR holds the session lock and the mbox index; NULL means no index, and the
 * session lock is then taken (flock) on the mailbox itself. A missing mbox file or
 * maildir is an empty mailbox. On success *MB is set; on failure it is NULL and the cause has been logged.
 */
enum mailbox_status mailbox_open(const char *spec, const char *index_dir, struct mailbox **mb);

/* mailbox_count - messages in the session (those present at open time). */
size_t mailbox_count(const struct mailbox *mb);

/* mailbox_size - octets of message I as RETR sends it: CRLF line ends, before dot-stuffing. */
uint64_t mailbox_size(const struct mailbox *mb, size_t i);

/* mailbox_uidl - message I's unique id (RFC 1939 UIDL), stable across sessions. */
const char *mailbox_uidl(const struct mailbox *mb, size_t i);

/* Where mailbox_send writes: returns 0, or -1 to stop sending (the error is the callee's). */
typedef int (*mailbox_write_fn)(void *arg, const void *buf, size_t len);

/*
 * mailbox_send - write message I formatted for POP3 (CRLF line ends, dot-stuffed, without
 * the final ".\r\n") through WRITE_FN. BODY_LINES < 0 sends the whole message (RETR);
 * otherwise the headers, the blank line and at most BODY_LINES body lines (TOP).
 * Returns 0, or -1 if reading failed (logged) or WRITE_FN returned -1. After -1 part of
 * the message may have been written: the caller must end the session, not send ".\r\n".
 */
int mailbox_send(struct mailbox *mb, size_t i, long body_lines, mailbox_write_fn write_fn, void *arg);

/* mailbox_mark_seen - remember that message I was retrieved (Maildir: ":2,S" at commit). */
void mailbox_mark_seen(struct mailbox *mb, size_t i);

/* mailbox_set_deleted - mark or unmark message I for deletion at commit (DELE, RSET). */
void mailbox_set_deleted(struct mailbox *mb, size_t i, bool deleted);

/* mailbox_is_deleted - whether message I is marked for deletion. */
bool mailbox_is_deleted(const struct mailbox *mb, size_t i);

/*
 * mailbox_commit - apply deletions and seen flags (QUIT in UPDATE state), crash-safely:
 * whatever happens, every message not deleted stays intact. On any status but MAILBOX_OK
 * the mailbox may be partly updated (Maildir) or untouched (mbox), never damaged.
 * Afterwards only mailbox_close() may be called.
 */
enum mailbox_status mailbox_commit(struct mailbox *mb);

/*
 * mailbox_unlock - release the session lock after mailbox_commit(), before QUIT's reply: a
 * client that reconnects the moment it reads the +OK must not find its mailbox [IN-USE].
 */
void mailbox_unlock(struct mailbox *mb);

/*
 * mailbox_close - release the session lock and free; no changes are made (Maildir: mail found
 * in new/ was already moved to cur/ at open, as Courier and Dovecot do). Sets *MB to NULL.
 */
void mailbox_close(struct mailbox **mb);

/* mailbox_set_lock_timeout - change MAILBOX_LOCK_TIMEOUT for this process (tests use 1). */
void mailbox_set_lock_timeout(unsigned seconds);

/*
 * mailbox_preload - set up the UIDL digest (OpenSSL's provider and SHA-256) in the master, before
 * any session forks: every mailbox process then shares those pages instead of building its own
 * copy (about 130 KB when TLS is not configured, 20 KB when it is). Failure is logged; sessions retry.
 */
void mailbox_preload(void);

/* mailbox_status_name - "ok", "in-use", "temporary failure" or "permanent failure", for logs. */
const char *mailbox_status_name(enum mailbox_status st);

#endif
