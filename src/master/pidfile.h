/* pidfile.h - a locked pid file: a second popgated on the same file refuses to start. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PIDFILE_H
#define POPGATE_PIDFILE_H

#include <stddef.h>

/* pidfile_lock - open and lock PATH; -1 with the reason (naming the running pid) in ERR. */
int pidfile_lock(const char *path, char *err, size_t errlen);

/* pidfile_write - record this process's pid in the locked file FD. 0 or -1. */
int pidfile_write(int fd);

/* pidfile_release - remove PATH (as the directory's owner, root, if need be; else empty it) and close FD. */
void pidfile_release(const char *path, int fd);

#endif
