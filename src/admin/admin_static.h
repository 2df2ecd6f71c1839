/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin_static.h - the admin page's own files from admin.www_dir, and nothing else.
 *
 * A request names a file directly under www_dir: lower-case letters, digits, '-' and '_', then one
 * extension from a fixed table that also gives the Content-Type. No '/', no "..", no dot files,
 * no symbolic links (O_NOFOLLOW), regular files of at most ADMIN_STATIC_MAX bytes.
 */
#ifndef POPGATE_ADMIN_STATIC_H
#define POPGATE_ADMIN_STATIC_H

#include <stddef.h>

#define ADMIN_STATIC_MAX (1024 * 1024)
#define ADMIN_STATIC_NAME_MAX 64

/* admin_static_type - the Content-Type for NAME, or NULL when NAME may not be served. */
const char *admin_static_type(const char *name);

/*
 * admin_static_read - read NAME from DIR into a new buffer (*data, free() it).
 * 0 on success, -1 when there is no such servable file, -2 on a read error (logged).
 */
int admin_static_read(const char *dir, const char *name, char **data, size_t *len);

#endif
