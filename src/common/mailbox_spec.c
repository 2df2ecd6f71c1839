/* mailbox_spec.c - mailbox specifications: split, checked and expanded in one place for the config, auth and storage. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/mailbox_spec.h"

static const char *const format_names[] = { [MAILBOX_FORMAT_MBOX] = "mbox", [MAILBOX_FORMAT_MAILDIR] = "maildir" };

int mailbox_spec_split(const char *spec, enum mailbox_format *format, const char **path)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		size_t n = strlen(format_names[i]);

		if (strncmp(spec, format_names[i], n) == 0 && spec[n] == ':') {
			*format = (enum mailbox_format)i;
			*path = spec + n + 1;
			return 0;
		}
	}
	return -1;
}

const char *mailbox_spec_check(const char *spec)
{
	enum mailbox_format format;
	const char *path;

	if (mailbox_spec_split(spec, &format, &path) < 0)
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

const char *mailbox_spec_check_template(const char *tmpl)
{
	enum mailbox_format format;
	const char *path;

	if (mailbox_spec_split(tmpl, &format, &path) < 0)
		return "must start with mbox: or maildir: (mbox:/var/mail/%u)";
	if (path[0] != '/' && strncmp(path, "%h", 2) != 0)
		return "the mailbox path must be absolute: start it with / or %h";
	for (const char *p = path; (p = strchr(p, '%')) != NULL; p += 2)
		if (p[1] != 'u' && p[1] != 'h' && p[1] != '%')
			return "unknown % escape (only %u, %h and %% exist)";
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

int mailbox_spec_expand(const char *tmpl, const char *user, const char *home, char *out, size_t cap,
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
	*why = mailbox_spec_check(out);
	return *why == NULL ? 0 : -1;
}
