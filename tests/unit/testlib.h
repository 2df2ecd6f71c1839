/* testlib.h - what every Check program may need: scratch directories, files, configs, log capture, raw frames. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_TESTLIB_H
#define POPGATE_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/*
 * Every helper fails the running test (ck_assert) instead of returning an error: a test that
 * cannot set itself up has nothing to say about the code under test.
 */

/* Room for a path built in a scratch directory; TMPDIR may be long. */
#define TL_PATH_MAX 4096

/* tl_scratch - make a private directory "$TMPDIR/TAG.XXXXXX" (TMPDIR unset or empty: /tmp) into DIR. */
void tl_scratch(char *dir, size_t cap, const char *tag);

/* tl_rm_rf - remove DIR and everything below it; nothing for NULL or "". */
void tl_rm_rf(const char *dir);

/* tl_pathbuf - "DIR/NAME" into BUF; returns BUF. */
const char *tl_pathbuf(char *buf, size_t cap, const char *dir, const char *name);

/* tl_path - "DIR/NAME" in a static buffer rotated among 4 (for short-lived use). */
const char *tl_path(const char *dir, const char *name);

/* tl_write - create or replace PATH with DATA[0..LEN), mode 0600. */
void tl_write(const char *path, const void *data, size_t len);

/* tl_write_text - tl_write of the C string TEXT. */
void tl_write_text(const char *path, const char *text);

/* tl_append_locked - append DATA to PATH under an fcntl write lock, as an MDA does. */
void tl_append_locked(const char *path, const void *data, size_t len);

/* tl_read - the contents of PATH, NUL-terminated, its length in *LEN (may be NULL); caller frees; NULL if absent. */
char *tl_read(const char *path, size_t *len);

/* tl_first_match - the first (sorted) file of DIR whose name ends in SUFFIX, into BUF; fails if none. */
void tl_first_match(const char *dir, const char *suffix, char *buf, size_t cap);

/* A growing byte buffer, always NUL-terminated past LEN; doubles as a mailbox_write_fn target. */
struct tl_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* tl_buf_write - append LEN bytes of BUF to the struct tl_buf ARG; returns 0 (a mailbox_write_fn). */
int tl_buf_write(void *arg, const void *buf, size_t len);

/* tl_buf_free - release a buffer's data and empty it. */
void tl_buf_free(struct tl_buf *b);

/* tl_config - a config parsed from TEXT (named test.conf), or fail with the parse error. */
struct config *tl_config(const char *text);

/* tl_configf - tl_config of a printf-formatted text. */
struct config *tl_configf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * tl_capture - send stderr (the log) to a fresh unlinked file until tl_capture_end; calling it
 * again starts afresh. Reads go through the test's own descriptor, so they work after the test
 * dropped privileges.
 */
void tl_capture(void);

/* tl_captured - everything written to stderr since tl_capture (a static buffer, 64 KiB at most). */
const char *tl_captured(void);

/* tl_capture_end - give stderr back; nothing if not capturing. */
void tl_capture_end(void);

/* tl_count - how many times NEEDLE occurs in HAY, without overlaps. */
int tl_count(const char *hay, const char *needle);

/* tl_socket_inodes - the inodes of this process's open sockets into INO (at most CAP); how many. */
int tl_socket_inodes(unsigned long *ino, int cap);

/*
 * tl_send_frame - an IPC frame written by hand onto SOCK, to see what a receiver does with one that
 * ipc_send would never make: header MAGIC, TYPE and length HLEN as given, LEN bytes of PAYLOAD, and
 * NFD (0 to 2) descriptors, each one end of a fresh socket pair of KIND whose other end goes into
 * PEERS. The ends sent are closed here, so a peer reads end of input once the receiver closed them.
 */
void tl_send_frame(int sock, uint32_t magic, uint32_t type, uint32_t hlen, const void *payload, size_t len, int nfd,
		   int kind, int *peers);

/* tl_peer_closed - whether FD's peer is closed in every process: FD reads end of input at once. */
bool tl_peer_closed(int fd);

#endif
