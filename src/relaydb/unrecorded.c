/* unrecorded.c - the note that a login's authorization could not be written, so RCPT answers 4xx, not 5xx. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * Why: when a login's authorization cannot be written (relay.db_dir full, a broken database),
 * the login still succeeds, and that client's next RCPT would find no authorization and be
 * refused for good, bouncing mail its user was entitled to send. So the writer leaves the time
 * of the failure in a small file, and for relay.timeout after it an address without a valid
 * authorization gets a temporary failure instead: a lost authorization would not have lasted
 * longer. The file is allocated when the environment is opened, so the note is an overwrite of
 * a block the filesystem already has and succeeds on a full filesystem too.
 */

/* Size of the note file: one filesystem block. */
#define NOTE_BYTES 512

/* note_path - the note file of HOME into BUF; 0 or -1. */
static int note_path(const char *home, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", home, RELAYDB_UNRECORDED_FILE) < (int)len ? 0 : -1;
}

int relaydb_unrecorded_prepare(const char *home, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	struct stat st;
	int fd, ret;

	if (note_path(home, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "%s: path too long", home);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Allocated once; a later opener finds the blocks there. */
	ret = fstat(fd, &st) == 0 && st.st_size >= NOTE_BYTES && st.st_blocks > 0 ? 0 :
	      posix_fallocate(fd, 0, NOTE_BYTES);
	close(fd);
	if (ret != 0 && ret != EOPNOTSUPP) {
		snprintf(err, errlen, "%s: %s", path, strerror(ret));
		return -1;
	}
	return 0;
}

void relaydb_unrecorded_note(const char *home, time_t now)
{
	char path[PATH_MAX + 32];
	uint8_t buf[8];
	uint64_t t = (uint64_t)now;
	int fd;

	for (int i = 7; i >= 0; i--, t >>= 8)
		buf[i] = (uint8_t)(t & 0xff);
	if (note_path(home, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660)) < 0) {
		log_err("relaydb: %s/%s: cannot note a lost authorization: %s", home, RELAYDB_UNRECORDED_FILE,
			strerror(errno));
		return;
	}
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		log_err("relaydb: %s: cannot note a lost authorization: %s", path, strerror(errno));
	close(fd);
}

time_t relaydb_unrecorded_last(const char *home)
{
	char path[PATH_MAX + 32];
	uint8_t buf[8];
	uint64_t t = 0;
	int fd;

	if (note_path(home, path, sizeof(path)) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	if (pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf))
		for (int i = 0; i < 8; i++)
			t = t << 8 | buf[i];
	close(fd);
	return t > (uint64_t)INT64_MAX ? 0 : (time_t)t;
}
