/* authtest.c - the scratch directory and password hashes of the auth unit tests (the rest: testlib.c). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "authtest.h"

char authtest_dir[TL_PATH_MAX];

void authtest_dir_setup(void)
{
	tl_scratch(authtest_dir, sizeof(authtest_dir), "check_auth");
}

void authtest_dir_teardown(void)
{
	tl_rm_rf(authtest_dir);
}

const char *authtest_crypt(const char *pass, const char *setting, char *out, size_t cap)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	const char *h;

	ck_assert_ptr_nonnull(data);
	h = crypt_rn(pass, setting, data, sizeof(*data));
	if (h != NULL) {
		ck_assert_uint_lt(strlen(h), cap);
		memcpy(out, h, strlen(h) + 1);
	}
	free(data);
	return h != NULL ? out : NULL;
}

void authtest_hash(const char *prefix, const char *pass, char *out, size_t cap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];

	ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)));
	ck_assert_ptr_nonnull(authtest_crypt(pass, salt, out, cap));
}
