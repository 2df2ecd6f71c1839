/* authtest.c - scratch files, configs, hashes and log capture shared by the auth unit tests. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <crypt.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authtest.h"

char authtest_dir[64];
static int capture_fd = -1;

void authtest_dir_setup(void)
{
	snprintf(authtest_dir, sizeof(authtest_dir), "/tmp/check_auth.XXXXXX");
	if (mkdtemp(authtest_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void authtest_dir_teardown(void)
{
	nftw(authtest_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *authtest_path(const char *name, char *buf, size_t cap)
{
	ck_assert_int_lt(snprintf(buf, cap, "%s/%s", authtest_dir, name), (int)cap);
	return buf;
}

void authtest_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

struct config *authtest_config(const char *text)
{
	struct cfg_error err;
	struct config *cfg = config_load_string("test.conf", text, &err);

	ck_assert_msg(cfg != NULL, "config: %s", err.msg);
	return cfg;
}

void authtest_hash(const char *prefix, const char *pass, char *out, size_t cap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data = calloc(1, sizeof(*data));
	const char *h;

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)));
	h = crypt_rn(pass, salt, data, sizeof(*data));
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_lt(strlen(h), cap);
	memcpy(out, h, strlen(h) + 1);
	free(data);
}

void authtest_capture(void)
{
	char path[128];

	fflush(stderr);
	if (capture_fd >= 0)
		close(capture_fd);
	capture_fd = open(authtest_path("stderr.log", path, sizeof(path)),
			  O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(capture_fd, 0);
	ck_assert_int_eq(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
}

/* Read through our own descriptor, so it works after the test dropped privileges. */
const char *authtest_captured(void)
{
	static char buf[65536];
	ssize_t n;

	fflush(stderr);
	n = pread(capture_fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

int authtest_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}
