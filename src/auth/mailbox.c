/* mailbox.c - mailbox specifications "mbox:/path" and "maildir:/path": checking them and filling in templates. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <limits.h>
#include <string.h>

#include "auth/auth_int.h"

const char *auth_mailbox_check(const char *mailbox)
{
	const char *path;

	if (strncmp(mailbox, "mbox:", 5) == 0)
		path = mailbox + 5;
	else if (strncmp(mailbox, "maildir:", 8) == 0)
		path = mailbox + 8;
	else
		return "mailbox must start with mbox: or maildir:";
	if (path[0] != '/')
		return "mailbox path must be absolute";
	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return "mailbox path too long";
	for (const char *p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "mailbox path contains a control character";
	return NULL;
}

/* append - add LEN bytes of S at *pos in OUT; false when they do not fit with the final NUL. */
static bool append(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
	if (len >= cap - *pos)
		return false;
	memcpy(out + *pos, s, len);
	*pos += len;
	out[*pos] = '\0';
	return true;
}

int auth_mailbox_expand(const char *tmpl, const char *user, const char *home, char *out, size_t cap,
			const char **why)
{
	size_t pos = 0;

	if (cap == 0) {
		*why = "no room for the mailbox";
		return -1;
	}
	out[0] = '\0';
	for (const char *p = tmpl; *p != '\0'; p++) {
		const char *s = p;
		size_t len = 1;

		if (*p == '%') {
			p++;
			if (*p == 'u')
				s = user, len = strlen(user);
			else if (*p == 'h' && home[0] == '\0') {
				*why = "%h used but the user has no home directory";
				return -1;
			} else if (*p == 'h')
				s = home, len = strlen(home);
			else if (*p == '%')
				s = p;
			else {
				*why = "unknown % escape (only %u, %h and %% exist)";
				return -1;
			}
		}
		if (!append(out, cap, &pos, s, len)) {
			*why = "mailbox too long";
			return -1;
		}
	}
	*why = auth_mailbox_check(out);
	return *why == NULL ? 0 : -1;
}
