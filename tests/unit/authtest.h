/* authtest.h - the scratch directory and password hashes of the auth unit tests (the rest: testlib.h). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_AUTHTEST_H
#define POPGATE_AUTHTEST_H

#include <stddef.h>

#include "testlib.h"

/* The scratch directory of the current test case. */
extern char authtest_dir[TL_PATH_MAX];

/* authtest_dir_setup - make the scratch directory (an unchecked fixture: runs once, in the parent). */
void authtest_dir_setup(void);

/* authtest_dir_teardown - remove the scratch directory and everything in it. */
void authtest_dir_teardown(void);

/* authtest_crypt - libxcrypt's hash of PASS under SETTING into OUT, or NULL if it refuses the setting. */
const char *authtest_crypt(const char *pass, const char *setting, char *out, size_t cap);

/* authtest_hash - a fresh crypt(3) hash of PASS under PREFIX ("$y$", "$6$", "$2b$", "$1$", "" = DES). */
void authtest_hash(const char *prefix, const char *pass, char *out, size_t cap);

#endif
