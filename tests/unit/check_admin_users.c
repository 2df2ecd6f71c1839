/* check_admin_users.c - unit tests of admin.users_file parsing and re-reading, and static file names. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin_static.h"
#include "admin/admin_users.h"
#include "common/log.h"
#include "check_run.h"
#include "testlib.h"

#define YES "$y$j9T$abcdefghijklmnopqrstu.$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef1"

static const struct {
	const char *line;
	int ok;
	const char *name;
	enum admin_role role;
} lines[] = {
	{ "alice:" YES ":admin", 1, "alice", ADMIN_ROLE_ADMIN },
	{ "bob.b-c_d@isp:$6$salt$hash:viewer", 1, "bob.b-c_d@isp", ADMIN_ROLE_VIEWER },
	{ "x:ab:viewer", 1, "x", ADMIN_ROLE_VIEWER },          /* a DES-style hash */
	{ "alice:" YES ":root", 0, NULL, 0 },
	{ "alice:" YES ":Admin", 0, NULL, 0 },
	{ "alice:" YES ":admin ", 0, NULL, 0 },
	{ "alice:" YES, 0, NULL, 0 },
	{ "alice", 0, NULL, 0 },
	{ ":" YES ":admin", 0, NULL, 0 },
	{ "al ice:" YES ":admin", 0, NULL, 0 },
	{ "al/ice:" YES ":admin", 0, NULL, 0 },
	{ "alice::admin", 0, NULL, 0 },
	{ "alice:!" YES ":admin", 0, NULL, 0 },   /* locked */
	{ "alice:*:admin", 0, NULL, 0 },
	{ "alice:has space:admin", 0, NULL, 0 },
	{ "alice:a:b:admin", 0, NULL, 0 },
	{ "a-name-that-is-much-too-long-for-a-helpdesk-account-really-truly-yes:ab:admin", 0, NULL, 0 },
};

START_TEST(parse_lines)
{
	struct admin_user u;
	const char *why = NULL;
	int rc = admin_users_parse_line(lines[_i].line, &u, &why);

	if (lines[_i].ok) {
		ck_assert_msg(rc == 0, "refused %s: %s", lines[_i].line, why);
		ck_assert_str_eq(u.name, lines[_i].name);
		ck_assert_int_eq(u.role, lines[_i].role);
		ck_assert_ptr_nonnull(strchr(lines[_i].line, ':'));
		ck_assert(strstr(lines[_i].line, u.hash) != NULL);
	} else {
		ck_assert_msg(rc == -1, "accepted %s", lines[_i].line);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

static char dir[TL_PATH_MAX];
static char path[TL_PATH_MAX];

static void setup(void)
{
	tl_scratch(dir, sizeof(dir), "check_admin_users");
	tl_pathbuf(path, sizeof(path), dir, "users");
}

static void teardown(void)
{
	tl_rm_rf(dir);
}

static void write_file(const char *text, long mtime)
{
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

	tl_write_text(path, text);
	chmod(path, 0640);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

START_TEST(file_skips_bad_lines)
{
	struct admin_users u;
	char *long_line = malloc(3000);
	char *text = malloc(4000);

	ck_assert_ptr_nonnull(long_line);
	ck_assert_ptr_nonnull(text);
	memset(long_line, 'a', 2999);
	long_line[2999] = '\0';
	snprintf(text, 4000,
		 "# helpdesk\n\nalice:" YES ":admin\r\nbroken line\n%s\nbob:$6$s$h:viewer\n"
		 "alice:$6$t$i:viewer\ncarol:$6$u$j:admin", long_line);
	write_file(text, 1000000);
	admin_users_init(&u, path);
	ck_assert_int_eq(admin_users_refresh(&u), 3);
	ck_assert_int_eq(admin_users_find(&u, "alice")->role, ADMIN_ROLE_ADMIN);   /* first wins */
	ck_assert_str_eq(admin_users_find(&u, "alice")->hash, YES);
	ck_assert_int_eq(admin_users_find(&u, "bob")->role, ADMIN_ROLE_VIEWER);
	ck_assert_int_eq(admin_users_find(&u, "carol")->role, ADMIN_ROLE_ADMIN);  /* no final newline */
	ck_assert_ptr_null(admin_users_find(&u, "broken line"));
	ck_assert_ptr_null(admin_users_find(&u, "aaaa"));
	admin_users_free(&u);
	free(long_line);
	free(text);
}
END_TEST

START_TEST(file_reread_on_change)
{
	struct admin_users u;

	write_file("alice:" YES ":viewer\n", 1000000);
	admin_users_init(&u, path);
	ck_assert_int_eq(admin_users_refresh(&u), 1);
	ck_assert_int_eq(admin_users_find(&u, "alice")->role, ADMIN_ROLE_VIEWER);
	/* Same identity: not re-read (the table stays as it is). */
	ck_assert_int_eq(admin_users_refresh(&u), 1);
	/* Same size, new mtime: re-read. */
	write_file("alice:" YES ":admin\n", 1000001);
	ck_assert_int_eq(admin_users_refresh(&u), 1);
	ck_assert_int_eq(admin_users_find(&u, "alice")->role, ADMIN_ROLE_ADMIN);
	write_file("bob:" YES ":viewer\n", 1000002);
	ck_assert_int_eq(admin_users_refresh(&u), 1);
	ck_assert_ptr_null(admin_users_find(&u, "alice"));
	/* Gone: nobody can log in. Back: read again. */
	unlink(path);
	ck_assert_int_eq(admin_users_refresh(&u), -1);
	ck_assert_ptr_null(admin_users_find(&u, "bob"));
	ck_assert_int_eq(admin_users_refresh(&u), -1);
	write_file("bob:" YES ":viewer\n", 1000002);
	ck_assert_int_eq(admin_users_refresh(&u), 1);
	ck_assert_ptr_nonnull(admin_users_find(&u, "bob"));
	admin_users_free(&u);
}
END_TEST

START_TEST(no_file_configured)
{
	struct admin_users u;

	admin_users_init(&u, "");
	ck_assert_int_eq(admin_users_refresh(&u), 0);
	ck_assert_ptr_null(admin_users_find(&u, "alice"));
	admin_users_free(&u);
}
END_TEST

START_TEST(static_names)
{
	ck_assert_str_eq(admin_static_type("index.html"), "text/html; charset=utf-8");
	ck_assert_str_eq(admin_static_type("app.js"), "text/javascript; charset=utf-8");
	ck_assert_str_eq(admin_static_type("app.css"), "text/css; charset=utf-8");
	ck_assert_str_eq(admin_static_type("favicon.svg"), "image/svg+xml");
	ck_assert_ptr_null(admin_static_type(""));
	ck_assert_ptr_null(admin_static_type("index"));
	ck_assert_ptr_null(admin_static_type(".htaccess"));
	ck_assert_ptr_null(admin_static_type("../etc/passwd"));
	ck_assert_ptr_null(admin_static_type("..html"));
	ck_assert_ptr_null(admin_static_type("a/b.js"));
	ck_assert_ptr_null(admin_static_type("app.min.js"));
	ck_assert_ptr_null(admin_static_type("App.js"));
	ck_assert_ptr_null(admin_static_type("app.exe"));
	ck_assert_ptr_null(admin_static_type("app.js%00"));
	ck_assert_ptr_null(admin_static_type("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.js"));
}
END_TEST

START_TEST(static_read)
{
	char *data;
	size_t len;
	char link[160], sub[160];
	FILE *f;

	tl_pathbuf(sub, sizeof(sub), dir, "app.js");
	f = fopen(sub, "w");
	ck_assert_ptr_nonnull(f);
	fputs("x=1;\n", f);
	fclose(f);
	ck_assert_int_eq(admin_static_read(dir, "app.js", &data, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(memcmp(data, "x=1;\n", 5), 0);
	free(data);
	ck_assert_int_eq(admin_static_read(dir, "missing.js", &data, &len), -1);
	ck_assert_int_eq(admin_static_read(dir, "../users", &data, &len), -1);
	/* A symbolic link is not followed, even to an allowed name. */
	tl_pathbuf(link, sizeof(link), dir, "link.js");
	ck_assert_int_eq(symlink(sub, link), 0);
	ck_assert_int_eq(admin_static_read(dir, "link.js", &data, &len), -1);
	ck_assert_ptr_null(data);
	unlink(link);
	unlink(sub);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("admin_users");
	TCase *tp = tcase_create("parse");
	TCase *tf = tcase_create("file");

	tcase_add_loop_test(tp, parse_lines, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_test(tp, static_names);
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, file_skips_bad_lines);
	tcase_add_test(tf, file_reread_on_change);
	tcase_add_test(tf, no_file_configured);
	tcase_add_test(tf, static_read);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, tf);
	return s;
}

int main(void)
{
	log_open("check_admin_users", LOG_MAIL, true);
	return check_run(suite());
}
