/* admin_static.c - serve the admin page's files from www_dir by a fixed name and type policy. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin_static.h"
#include "common/fileio.h"
#include "common/log.h"

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "ico", "image/x-icon" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "json", "application/json" },
};

const char *admin_static_type(const char *name)
{
	size_t n = strnlen(name, ADMIN_STATIC_NAME_MAX + 1);
	const char *dot = NULL;

	if (n == 0 || n > ADMIN_STATIC_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '.') {
			if (dot || i == 0)
				return NULL;   /* one extension only, and no dot files */
			dot = name + i;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			return NULL;
		}
	}
	if (!dot)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* read_all - read exactly LEN bytes of FD into a new buffer. */
static int read_all(int fd, size_t len, char **data)
{
	char *buf = malloc(len ? len : 1);

	if (!buf)
		return -1;
	if (len > 0 && fileio_read_full(fd, buf, len) != 1) {
		free(buf);
		return -1;
	}
	*data = buf;
	return 0;
}

int admin_static_read(const char *dir, const char *name, char **data, size_t *len)
{
	char path[4200];
	struct stat st;
	int fd, rc;

	*data = NULL;
	*len = 0;
	if (!admin_static_type(name))
		return -1;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return -1;
		log_err("admin: %s: %s", path, strerror(errno));
		return -2;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ADMIN_STATIC_MAX) {
		close(fd);
		return -1;
	}
	rc = read_all(fd, (size_t)st.st_size, data);
	close(fd);
	if (rc < 0) {
		log_err("admin: %s: read failed", path);
		return -2;
	}
	*len = (size_t)st.st_size;
	return 0;
}
