/* check_auth_system.c - unit tests of the system backend against a real user made with useradd (root only). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "authtest.h"
#include "common/config.h"
#include "check_run.h"

static const char sys_pass[] = "Sys-Pass 1";
static char sys_user[32];
static uid_t sys_uid;
static gid_t sys_gid;
static bool sys_ready;

/* run - execute ARGV (absolute path, no shell: hashes hold '$') quietly; its exit status or -1. */
static int run(const char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* run_retry - run ARGV, retrying while another process holds the passwd lock. */
static int run_retry(const char *const argv[])
{
	int rc = -1;

	for (int i = 0; i < 20 && (rc = run(argv)) != 0 && rc != 127; i++)
		sleep(1);
	return rc;
}

static void system_setup(void)
{
	char hash[256];
	struct passwd *pw;

	authtest_dir_setup();
	if (geteuid() != 0 || access("/usr/sbin/useradd", X_OK) != 0)
		return;
	snprintf(sys_user, sizeof(sys_user), "pgauth%ld", (long)getpid());
	if (auth_hash_password(sys_pass, hash, sizeof(hash)) != 0)
		return;
	run_retry((const char *const[]){ "/usr/sbin/useradd", "-M", "-d", "/home/pgauth-test",
					 "-s", "/usr/sbin/nologin", "-p", hash, sys_user, NULL });
	if ((pw = getpwnam(sys_user)) == NULL)
		return;
	sys_uid = pw->pw_uid;
	sys_gid = pw->pw_gid;
	sys_ready = true;
}

static void system_teardown(void)
{
	if (sys_ready && run_retry((const char *const[]){ "/usr/sbin/userdel", sys_user, NULL }) != 0)
		fprintf(stderr, "check_auth: could not remove test user %s\n", sys_user);
	sys_ready = false;
	authtest_dir_teardown();
}

/* sys_cfg - the system backend with first_valid_uid FIRST and mailbox template MAILBOX. */
static struct config *sys_cfg(unsigned long first, const char *mailbox, const char *secrets)
{
	return tl_configf("[auth]\nbackend = system\nfirst_valid_uid = %lu\n%s%s\n%s%s\n",
			  first, mailbox ? "system_mailbox = " : "", mailbox ? mailbox : "",
			  secrets ? "apop_secrets_file = " : "", secrets ? secrets : "");
}

/* skip_unless_root - print why the test does nothing when no real user could be made. */
static bool skip_unless_root(void)
{
	if (!sys_ready)
		printf("check_auth: skipped: system backend with a real user needs root and useradd\n");
	return !sys_ready;
}

/* Needs no root: a name no system has, and the accounts every system locks or refuses. */
START_TEST(test_system_unknown)
{
	struct config *cfg = sys_cfg(1000, NULL, NULL);
	struct auth_user u;

	ck_assert_int_eq(auth_password(cfg, "pgauth-nosuchuser", "x", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "root", "x", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "nobody", "x", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "../root", "x", &u), AUTH_FAIL);
	config_free(&cfg);
}
END_TEST

START_TEST(test_system_login)
{
	struct config *cfg;
	struct auth_user u;
	char want[128];

	if (skip_unless_root())
		return;
	cfg = sys_cfg(sys_uid, "maildir:%h/Maildir", NULL);
	ck_assert_int_eq(auth_password(cfg, sys_user, sys_pass, &u), AUTH_OK);
	ck_assert_str_eq(u.name, sys_user);
	ck_assert_uint_eq(u.uid, sys_uid);
	ck_assert_uint_eq(u.gid, sys_gid);
	ck_assert_str_eq(u.home, "/home/pgauth-test");
	ck_assert_str_eq(u.mailbox, "maildir:/home/pgauth-test/Maildir");
	ck_assert_int_eq(auth_password(cfg, sys_user, "Sys-Pass 2", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "pgauth-nosuchuser", sys_pass, &u), AUTH_FAIL);
	config_free(&cfg);

	cfg = sys_cfg(sys_uid, NULL, NULL);
	ck_assert_int_eq(auth_password(cfg, sys_user, sys_pass, &u), AUTH_OK);
	snprintf(want, sizeof(want), "mbox:/var/mail/%s", sys_user);
	ck_assert_str_eq(u.mailbox, want);
	config_free(&cfg);
}
END_TEST

/* expect_refused - the right password fails and the log says WHY. */
static void expect_refused(const struct config *cfg, const char *user, const char *pass,
			   const char *why)
{
	struct auth_user u;

	tl_capture();
	ck_assert_int_eq(auth_password(cfg, user, pass, &u), AUTH_FAIL);
	ck_assert_msg(strstr(tl_captured(), why) != NULL, "log lacks \"%s\": %s", why, tl_captured());
}

START_TEST(test_system_policy)
{
	struct config *cfg = sys_cfg(sys_uid + 1, NULL, NULL), *ok_cfg, *root_cfg;
	struct auth_user u;

	if (skip_unless_root()) {
		config_free(&cfg);
		return;
	}
	ok_cfg = sys_cfg(sys_uid, NULL, NULL);
	root_cfg = sys_cfg(0, NULL, NULL);
	expect_refused(cfg, sys_user, sys_pass, "uid below auth.first_valid_uid");
	expect_refused(root_cfg, "root", "whatever", "root may not log in");

	ck_assert_int_eq(run((const char *const[]){ "/usr/sbin/usermod", "-L", sys_user, NULL }), 0);
	expect_refused(ok_cfg, sys_user, sys_pass, "account locked");
	ck_assert_int_eq(run((const char *const[]){ "/usr/sbin/usermod", "-U", sys_user, NULL }), 0);
	ck_assert_int_eq(auth_password(ok_cfg, sys_user, sys_pass, &u), AUTH_OK);

	ck_assert_int_eq(run((const char *const[]){ "/usr/bin/chage", "-E", "1", sys_user, NULL }), 0);
	expect_refused(ok_cfg, sys_user, sys_pass, "account expired");
	ck_assert_int_eq(run((const char *const[]){ "/usr/bin/chage", "-E", "-1", sys_user, NULL }), 0);
	ck_assert_int_eq(auth_password(ok_cfg, sys_user, sys_pass, &u), AUTH_OK);
	config_free(&cfg);
	config_free(&ok_cfg);
	config_free(&root_cfg);
}
END_TEST

/* An auth process that cannot read /etc/shadow must say so (TEMPFAIL), not call the user unknown. */
START_TEST(test_system_unprivileged)
{
	struct config *cfg;
	struct auth_user u;
	struct passwd *nobody = getpwnam("nobody");

	if (skip_unless_root())
		return;
	if ((getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0) || nobody == NULL) {
		printf("check_auth_system: skipped: dropping privileges needs CK_FORK and user nobody\n");
		return;
	}
	cfg = sys_cfg(sys_uid, NULL, NULL);
	tl_capture(); /* opened while still root: read back through its descriptor */
	ck_assert_int_eq(setgid(nobody->pw_gid), 0);
	ck_assert_int_eq(setuid(nobody->pw_uid), 0);
	ck_assert_int_eq(auth_password(cfg, sys_user, sys_pass, &u), AUTH_TEMPFAIL);
	ck_assert(strstr(tl_captured(), "can this process read /etc/shadow?") != NULL);
	config_free(&cfg);
}
END_TEST

START_TEST(test_system_apop)
{
	char sec[128], text[128], digest[33];
	struct config *cfg;
	struct auth_user u;

	if (skip_unless_root())
		return;
	snprintf(text, sizeof(text), "%s:apop secret\n", sys_user);
	tl_write_text(tl_pathbuf(sec, sizeof(sec), authtest_dir, "secrets"), text);
	cfg = sys_cfg(sys_uid, NULL, sec);
	ck_assert_int_eq(auth_apop_digest("<7.8@host>", "apop secret", digest), 0);
	ck_assert_int_eq(auth_apop(cfg, sys_user, "<7.8@host>", digest, &u), AUTH_OK);
	ck_assert_uint_eq(u.uid, sys_uid);
	config_free(&cfg);
}
END_TEST

/* shadow_version - /etc/shadow's inode, size and mtime as one comparable string. */
static void shadow_version(char *out, size_t cap)
{
	struct stat st;

	ck_assert_int_eq(stat("/etc/shadow", &st), 0);
	snprintf(out, cap, "%lu %lld %lld.%09ld", (unsigned long)st.st_ino, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/*
 * A failed login costs a check like the hashes most shadow entries have: they are counted again
 * when /etc/shadow changes, and not while it stays as it was.
 */
START_TEST(test_system_burn_follows_shadow)
{
	char hash[256], v1[96], v2[96];

	if (skip_unless_root())
		return;
	ck_assert_ptr_nonnull(auth_system_burn_setting()); /* our user's hash at least is usable */
	shadow_version(v1, sizeof(v1));
	tl_capture();
	ck_assert_ptr_nonnull(auth_system_burn_setting());
	shadow_version(v2, sizeof(v2));
	/* Other tests add users while this one runs; only an unchanged file proves "not again". */
	if (strcmp(v1, v2) == 0)
		ck_assert_msg(strstr(tl_captured(), "shadow database") == NULL, "counted again: %s", tl_captured());
	tl_capture_end();

	authtest_hash("$6$rounds=1000$", sys_pass, hash, sizeof(hash));
	ck_assert_int_eq(run_retry((const char *const[]){ "/usr/sbin/usermod", "-p", hash, sys_user, NULL }), 0);
	tl_capture();
	ck_assert_ptr_nonnull(auth_system_burn_setting());
	ck_assert_msg(strstr(tl_captured(), "usable hashes in the shadow database") != NULL, "log: %s", tl_captured());
	tl_capture_end();
	ck_assert_int_eq(auth_hash_password(sys_pass, hash, sizeof(hash)), 0);
	ck_assert_int_eq(run_retry((const char *const[]){ "/usr/sbin/usermod", "-p", hash, sys_user, NULL }), 0);
}
END_TEST

static Suite *auth_system_suite(void)
{
	Suite *s = suite_create("auth-system");
	TCase *tc = tcase_create("system");

	tcase_add_unchecked_fixture(tc, system_setup, system_teardown);
	tcase_add_test(tc, test_system_unknown);
	tcase_add_test(tc, test_system_login);
	tcase_add_test(tc, test_system_policy);
	tcase_add_test(tc, test_system_apop);
	tcase_add_test(tc, test_system_burn_follows_shadow);
	tcase_add_test(tc, test_system_unprivileged);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(auth_system_suite());
}
