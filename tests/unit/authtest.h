/* authtest.h - scratch files, configs, hashes and log capture shared by the auth unit tests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_AUTHTEST_H
#define POPGATE_AUTHTEST_H

#include <stddef.h>

#include "common/config.h"

/* The scratch directory of the current test case. */
extern char authtest_dir[64];

/* authtest_dir_setup - make the scratch directory (an unchecked fixture: runs once, in the parent). */
void authtest_dir_setup(void);

/* authtest_dir_teardown - remove the scratch directory and everything in it. */
void authtest_dir_teardown(void);

/* authtest_path - NAME inside the scratch directory, into BUF; returns BUF. */
const char *authtest_path(const char *name, char *buf, size_t cap);

/* authtest_write - create PATH holding TEXT, or fail the test. */
void authtest_write(const char *path, const char *text);

/* authtest_config - a config from TEXT, or fail the test with the parse error. */
struct config *authtest_config(const char *text);

/* authtest_hash - a fresh crypt(3) hash of PASS under PREFIX ("$y$", "$6$", "$2b$", "$1$", "" = DES). */
void authtest_hash(const char *prefix, const char *pass, char *out, size_t cap);

/* authtest_capture - send stderr (the log) to a scratch file from now on. */
void authtest_capture(void);

/* authtest_captured - everything logged since authtest_capture (a static buffer). */
const char *authtest_captured(void);

/* authtest_count - how many times NEEDLE occurs in HAY. */
int authtest_count(const char *hay, const char *needle);

#endif
