/* name.c - which user names auth will look up at all: nothing that could become a path trick or forge a field. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "auth/auth.h"

bool auth_name_valid(const char *name)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strnlen(name, AUTH_NAME_MAX);
	if (len == 0 || len >= AUTH_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == ':' || c == '/')
			return false;
	}
	return true;
}
