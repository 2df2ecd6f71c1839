/* pg_lib.c - opening libpq at run time (see pg_lib.h for why it is not linked). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dlfcn.h>
#include <stdio.h>

#include "relaydb/pg_lib.h"

/* The soname of Debian's libpq5 (every libpq since PostgreSQL 8.2). */
#define PG_LIB_SONAME "libpq.so.5"

struct pg_lib pq;
static int loaded;  /* 1 loaded, -1 failed (not tried again) */

int pg_lib_load(char *err, size_t errlen)
{
	void *h;

	if (loaded == 0) {
		loaded = -1;
		if ((h = dlopen(PG_LIB_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			snprintf(err, errlen, "cannot load %s (Debian package libpq5): %s", PG_LIB_SONAME, dlerror());
			return -1;
		}
#define PG_LIB_LOAD(ret, name, args) \
		if ((*(void **)&pq.name = dlsym(h, #name)) == NULL) { \
			snprintf(err, errlen, "%s lacks %s", PG_LIB_SONAME, #name); \
			return -1; \
		}
		PG_LIB_FUNCS(PG_LIB_LOAD)
#undef PG_LIB_LOAD
		loaded = 1;
	}
	if (loaded < 0) {
		snprintf(err, errlen, "%s could not be loaded", PG_LIB_SONAME);
		return -1;
	}
	return 0;
}
