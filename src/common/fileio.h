/* fileio.h - reading small whole files (certificates, caches) with a size bound; writing whole buffers. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_FILEIO_H
#define POPGATE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * fileio_read_small - the regular file PATH, at most MAX bytes, as a NUL-terminated string the
 * caller frees; its length in *LEN (if not NULL). Symbolic links are not followed when
 * NOFOLLOW. NULL with errno set: EFBIG when larger than MAX, EINVAL when not a regular file.
 */
char *fileio_read_small(const char *path, size_t max, bool nofollow, size_t *len);

/* fileio_fd_arg - TEXT as a descriptor number that is open in this process (a program's fd argument), or -1. */
int fileio_fd_arg(const char *text);

/*
 * fileio_write_all - write all LEN bytes of BUF to FD (a file, a pipe or a socket), going on after
 * EINTR and short writes. A peer gone from a socket is -1 with EPIPE, never a SIGPIPE. 0 or -1.
 */
int fileio_write_all(int fd, const void *buf, size_t len);

/*
 * fileio_read_full - exactly LEN bytes from FD into BUF, going on after EINTR and short reads:
 * 1, or 0 on end of input before the first byte, or -1 (an error, or end of input part way, EIO).
 */
int fileio_read_full(int fd, void *buf, size_t len);

#endif
