/* check_auth.c - unit tests of src/auth: hash schemes, names, passwd file, APOP, popgatectl passwd. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <crypt.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "authtest.h"
#include "common/config.h"
#include "check_run.h"
#include "common/mailbox_spec.h"

/* ---- hashes ---- */

static const char *const schemes[] = { "$y$", "$6$", "$2b$", "$1$", "" };

START_TEST(test_scheme_verifies_and_rejects)
{
	char hash[CRYPT_OUTPUT_SIZE], locked[CRYPT_OUTPUT_SIZE + 1];

	/* 8 characters, and the wrong ones differ early, so DES's 8-byte limit does not blur them. */
	authtest_hash(schemes[_i], "s3cret!x", hash, sizeof(hash));
	ck_assert_msg(auth_verify_hash("s3cret!x", hash), "%s should verify", hash);
	ck_assert(!auth_verify_hash("s3cret!y", hash));
	ck_assert(!auth_verify_hash("S3cret!x", hash));
	ck_assert(!auth_verify_hash("", hash));
	snprintf(locked, sizeof(locked), "!%s", hash);
	ck_assert(!auth_verify_hash("s3cret!x", locked));
}
END_TEST

START_TEST(test_hash_password)
{
	char a[256], b[256], tiny[16];

	ck_assert_int_eq(auth_hash_password("pw one", a, sizeof(a)), 0);
	ck_assert_int_eq(auth_hash_password("pw one", b, sizeof(b)), 0);
	ck_assert_int_eq(strncmp(a, "$y$", 3), 0);
	ck_assert_str_ne(a, b); /* fresh salt each time */
	ck_assert(auth_verify_hash("pw one", a));
	ck_assert(!auth_verify_hash("pw two", a));
	ck_assert_int_eq(auth_hash_password("pw one", tiny, sizeof(tiny)), -1);
}
END_TEST

/* The dummy hash must cost what a new hash costs: the same "$y$PARAMS$" setting prefix. */
START_TEST(test_dummy_same_cost)
{
	char fresh[256];
	const char *dummy = auth_dummy_hash();
	size_t params = strchr(dummy + 3, '$') - dummy + 1;

	ck_assert_int_eq(auth_hash_password("x", fresh, sizeof(fresh)), 0);
	ck_assert_int_eq(strncmp(fresh, dummy, params), 0);
	ck_assert(!auth_verify_hash("", dummy));
}
END_TEST

START_TEST(test_unusable_hashes)
{
	char huge[AUTH_HASH_MAX + 10];

	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert(!auth_verify_hash("", ""));
	ck_assert(!auth_verify_hash("x", "*"));
	ck_assert(!auth_verify_hash("x", "!"));
	ck_assert(!auth_verify_hash("x", "*LK*"));
	ck_assert(!auth_verify_hash("x", huge));
	ck_assert(!auth_verify_hash(NULL, auth_dummy_hash()));
}
END_TEST

START_TEST(test_long_password)
{
	char hash[256], pass[2000];

	memset(pass, 'p', sizeof(pass) - 1);
	pass[sizeof(pass) - 1] = '\0';
	authtest_hash("$6$", "", hash, sizeof(hash));
	ck_assert(auth_verify_hash("", hash));
	ck_assert(!auth_verify_hash(pass, hash)); /* too long for crypt: never "" in disguise */
}
END_TEST

/* ---- names ---- */

START_TEST(test_names)
{
	static const struct { const char *name; bool ok; } cases[] = {
		{ "alice", true }, { "a.b", true }, { "user@example.com", true }, { "Bob_2", true },
		{ "", false }, { ".hidden", false }, { "..", false }, { "-rf", false }, { "a:b", false },
		{ "a/b", false }, { "../etc/passwd", false }, { "a\nb", false }, { "a\tb", false },
		{ "a\x7f", false }, { "\x1b[31m", false },
	};
	char longest[AUTH_NAME_MAX], too_long[AUTH_NAME_MAX + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(auth_name_valid(cases[i].name) == cases[i].ok, "name %zu", i);
	ck_assert(!auth_name_valid(NULL));
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'n', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	ck_assert(auth_name_valid(longest));
	ck_assert(!auth_name_valid(too_long));
}
END_TEST

/* A bad name fails without opening anything: the missing files would otherwise give TEMPFAIL. */
START_TEST(test_bad_names_touch_nothing)
{
	struct config *cfg = tl_config("[auth]\nbackend = file\npasswd_file = /nonexistent/passwd\n"
				  "apop_secrets_file = /nonexistent/secrets\n");
	struct auth_user u;

	ck_assert_int_eq(auth_password(cfg, "../../etc/shadow", "x", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "-x", "x", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "a:b", "x", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_apop(cfg, "a/b", "<1@x>", "c4c9334bac560ecc979e58001b3e22fb", &u),
			 AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "fine", "x", &u), AUTH_TEMPFAIL);
	config_free(&cfg);
}
END_TEST

/* ---- file backend ---- */

/* file_cfg - a config for the file backend reading PASSWD (and SECRETS if not NULL), server.user nobody. */
static struct config *file_cfg(const char *passwd, const char *secrets)
{
	return tl_configf("[server]\nuser = nobody\n[auth]\nbackend = file\npasswd_file = %s\n%s%s\n", passwd,
			  secrets != NULL ? "apop_secrets_file = " : "", secrets != NULL ? secrets : "");
}

/* users_file - the sample passwd file: see the line numbers the tests expect in the log. */
static void users_file(const char *path, const char *ha, const char *hb, const char *hz)
{
	char text[8192], longline[AUTH_LINE_MAX + 100];

	memset(longline, 'L', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "# virtual users\n"                                   /* 1 */
		 "\n"                                                  /* 2 */
		 "alice:%s:mbox:/var/mail/alice:2001:2002\n"           /* 3 */
		 "bob:%s:maildir:/srv/mail/bob/Maildir\n"              /* 4 */
		 "carol:%s:mbox:relative/path\n"                       /* 5 */
		 "dave:%s:mbox:/x:12\n"                                /* 6 */
		 "eve:%s:imap:/x\n"                                    /* 7 */
		 "frank:%s:mbox:/x:0:0\n"                              /* 8 */
		 "gina:%s:mbox:/x:abc:1\n"                             /* 9 */
		 ".evil:%s:mbox:/x\n"                                  /* 10 */
		 "hank::mbox:/x\n"                                     /* 11 */
		 "locked:!%s:mbox:/x\n"                                /* 12 */
		 "alice:%s:mbox:/other\n"                              /* 13 */
		 "%s\n"                                                /* 14 */
		 "  # indented comment\n"                              /* 15 */
		 "zed:%s:maildir:/srv/z/:3000:3000\r\n"                /* 16 */
		 "ivan:%s:mbox:/x:4294967295:1\n"                      /* 17 */
		 "jill:%s:mbox:/x:2005:0\n",                           /* 18 */
		 ha, hb, hb, hb, hb, hb, hb, hb, hb, hb, longline, hz, hb, hb);
	tl_write_text(path, text);
}

START_TEST(test_file_backend)
{
	char ha[256], hb[256], hz[256], pw[128];
	struct passwd *nobody = getpwnam("nobody");
	struct config *cfg;
	struct auth_user u;
	const char *log;
	uid_t nobody_uid;
	gid_t nobody_gid;

	ck_assert_ptr_nonnull(nobody);
	nobody_uid = nobody->pw_uid;
	nobody_gid = nobody->pw_gid;
	ck_assert_int_eq(auth_hash_password("alice pw", ha, sizeof(ha)), 0);
	authtest_hash("$6$", "bob pw", hb, sizeof(hb));
	authtest_hash("$2b$", "zed pw", hz, sizeof(hz));
	users_file(tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd"), ha, hb, hz);
	cfg = file_cfg(pw, NULL);
	tl_capture();

	ck_assert_int_eq(auth_password(cfg, "alice", "alice pw", &u), AUTH_OK);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_str_eq(u.mailbox, "mbox:/var/mail/alice");
	ck_assert_str_eq(u.home, "");
	ck_assert_uint_eq(u.uid, 2001);
	ck_assert_uint_eq(u.gid, 2002);
	ck_assert_int_eq(auth_password(cfg, "alice", "bob pw", &u), AUTH_FAIL); /* line 13 not used */
	ck_assert_str_eq(u.name, "");

	ck_assert_int_eq(auth_password(cfg, "bob", "bob pw", &u), AUTH_OK);
	ck_assert_str_eq(u.mailbox, "maildir:/srv/mail/bob/Maildir");
	ck_assert_uint_eq(u.uid, nobody_uid);
	ck_assert_uint_eq(u.gid, nobody_gid);
	ck_assert_int_eq(auth_password(cfg, "bob", "bob pw ", &u), AUTH_FAIL);

	ck_assert_int_eq(auth_password(cfg, "zed", "zed pw", &u), AUTH_OK); /* after the long line */
	ck_assert_str_eq(u.mailbox, "maildir:/srv/z/");
	ck_assert_uint_eq(u.uid, 3000);

	for (const char *const *n = (const char *const[]){ "carol", "dave", "eve", "frank", "gina",
							    "hank", "locked", "ivan", "jill", NULL }; *n; n++)
		ck_assert_msg(auth_password(cfg, *n, "bob pw", &u) == AUTH_FAIL, "%s", *n);

	log = tl_captured();
	ck_assert_msg(strstr(log, "passwd:5: mailbox path must be absolute") != NULL, "%s", log);
	ck_assert(strstr(log, "passwd:6: expected name:HASH") != NULL);
	ck_assert(strstr(log, "passwd:7: mailbox must start with mbox: or maildir:") != NULL);
	ck_assert(strstr(log, "passwd:8: uid 0") != NULL);
	ck_assert(strstr(log, "passwd:18: gid 0 (root) is not allowed") != NULL);
	ck_assert(strstr(log, "passwd:9: uid is not a number") != NULL);
	ck_assert(strstr(log, "passwd:17: uid is not a number") != NULL);
	ck_assert(strstr(log, "passwd:10: invalid user name") != NULL);
	ck_assert(strstr(log, "passwd:11: empty password hash") != NULL);
	ck_assert(strstr(log, "passwd:13: duplicate entry for alice") != NULL);
	ck_assert(strstr(log, "passwd:14: line longer than 4096 bytes") != NULL);
	ck_assert(strstr(log, "virtual user locked refused: account locked") != NULL);
	/* Many lookups, one report per bad line; none for good lines or comments. */
	ck_assert_int_eq(tl_count(log, "passwd:5:"), 1);
	ck_assert_int_eq(tl_count(log, "passwd:14:"), 1);
	ck_assert_int_eq(tl_count(log, "passwd:1:") + tl_count(log, "passwd:3:") +
			 tl_count(log, "passwd:15:") + tl_count(log, "passwd:16:"), 0);
	config_free(&cfg);
}
END_TEST

/* The file is read afresh each time: an edit takes effect at once and its new problems are told. */
START_TEST(test_file_reread)
{
	char h1[256], h2[256], pw[128], text[1024];
	struct config *cfg;
	struct auth_user u;

	authtest_hash("$1$", "first", h1, sizeof(h1));
	authtest_hash("$1$", "second", h2, sizeof(h2));
	tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd");
	snprintf(text, sizeof(text), "bad line\nann:%s:mbox:/m/ann:5000:5000\n", h1);
	tl_write_text(pw, text);
	cfg = file_cfg(pw, NULL);
	tl_capture();
	ck_assert_int_eq(auth_password(cfg, "ann", "first", &u), AUTH_OK);
	ck_assert_int_eq(auth_password(cfg, "ann", "first", &u), AUTH_OK);
	ck_assert_int_eq(tl_count(tl_captured(), "passwd:1: expected"), 1);

	snprintf(text, sizeof(text), "\nbad line again\nann:%s:maildir:/m/ann2:5000:5000\n", h2);
	tl_write_text(pw, text);
	ck_assert_int_eq(auth_password(cfg, "ann", "first", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "ann", "second", &u), AUTH_OK);
	ck_assert_str_eq(u.mailbox, "maildir:/m/ann2");
	ck_assert_int_eq(tl_count(tl_captured(), "passwd:2: expected"), 1);
	config_free(&cfg);
}
END_TEST

/* set_mtime - PATH's modification time AGO seconds in the past (negative: in the future). */
static void set_mtime(const char *path, time_t ago)
{
	struct timespec ts[2] = { { .tv_sec = time(NULL) - ago }, { .tv_sec = time(NULL) - ago } };

	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/*
 * The file is held between lookups and read again only when its version (inode, size, mtime)
 * changes; a version written within the last seconds is not trusted, since an edit in the same
 * mtime tick at the same size would look the same.
 */
START_TEST(test_file_held)
{
	char h1[256], h2[256], pw[128], text[1024];
	struct config *cfg;
	struct auth_user u;
	unsigned long loads;

	authtest_hash("$1$", "first", h1, sizeof(h1));
	authtest_hash("$1$", "other", h2, sizeof(h2));
	tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd-held");
	snprintf(text, sizeof(text), "ann:%s:mbox:/m/ann:5000:5000\nbob:%s:mbox:/m/bob\n", h1, h2);
	tl_write_text(pw, text);
	set_mtime(pw, 3600);
	cfg = file_cfg(pw, NULL);
	loads = auth_file_loads();
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(auth_password(cfg, "ann", "first", &u), AUTH_OK);
		ck_assert_int_eq(auth_password(cfg, "bob", "other", &u), AUTH_OK);
		ck_assert_int_eq(auth_password(cfg, "nobody-here", "first", &u), AUTH_FAIL);
	}
	ck_assert_uint_eq(auth_file_loads(), loads + 1);

	/* Another version: read again at the next lookup, and the edit counts. */
	snprintf(text, sizeof(text), "ann:%s:mbox:/m/ann:5000:5000\n", h2);
	tl_write_text(pw, text);
	set_mtime(pw, 1800);
	ck_assert_int_eq(auth_password(cfg, "ann", "first", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_password(cfg, "ann", "other", &u), AUTH_OK);
	ck_assert_int_eq(auth_password(cfg, "bob", "other", &u), AUTH_FAIL);
	ck_assert_uint_eq(auth_file_loads(), loads + 2);

	/*
	 * Not yet 2 s old: read at every lookup until it has settled. Stamped an hour ahead rather
	 * than left at "now", so that a slow machine between the write and the lookups cannot let
	 * it settle.
	 */
	tl_write_text(pw, text);
	set_mtime(pw, -3600);
	ck_assert_int_eq(auth_password(cfg, "ann", "other", &u), AUTH_OK);
	ck_assert_int_eq(auth_password(cfg, "ann", "other", &u), AUTH_OK);
	ck_assert_uint_eq(auth_file_loads(), loads + 4);

	/* Gone: nobody gets in, as when it was read at every lookup. */
	ck_assert_int_eq(unlink(pw), 0);
	tl_capture();
	ck_assert_int_eq(auth_password(cfg, "ann", "other", &u), AUTH_TEMPFAIL);
	ck_assert(strstr(tl_captured(), "passwd-held: No such file or directory") != NULL);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_missing)
{
	char pw[128];
	struct config *cfg = file_cfg(tl_pathbuf(pw, sizeof(pw), authtest_dir, "no-such-file"), NULL);
	struct auth_user u;

	tl_capture();
	ck_assert_int_eq(auth_password(cfg, "ann", "x", &u), AUTH_TEMPFAIL);
	ck_assert(strstr(tl_captured(), "no-such-file: No such file or directory") != NULL);
	config_free(&cfg);

	cfg = tl_config("[auth]\nbackend = file\n");
	ck_assert_int_eq(auth_password(cfg, "ann", "x", &u), AUTH_TEMPFAIL);
	ck_assert(strstr(tl_captured(), "auth.passwd_file is not set") != NULL);
	config_free(&cfg);
}
END_TEST

/* A user without uid:gid needs server.user; if it does not exist that is the admin's problem. */
START_TEST(test_file_server_user_missing)
{
	char h[256], pw[128], text[512];
	struct config *cfg;
	struct auth_user u;

	authtest_hash("$1$", "pw", h, sizeof(h));
	snprintf(text, sizeof(text), "ann:%s:mbox:/m/ann\n", h);
	tl_write_text(tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd"), text);
	snprintf(text, sizeof(text), "[server]\nuser = no-such-user-pg\n[auth]\nbackend = file\n"
		 "passwd_file = %s\n", pw);
	cfg = tl_config(text);
	ck_assert_int_eq(auth_password(cfg, "ann", "pw", &u), AUTH_TEMPFAIL);
	config_free(&cfg);
}
END_TEST

START_TEST(test_mailbox_expand)
{
	char out[AUTH_MAILBOX_MAX];
	const char *why;

	ck_assert_int_eq(mailbox_spec_expand("mbox:/var/mail/%u", "al", "/home/al", out, sizeof(out),
					     &why), 0);
	ck_assert_str_eq(out, "mbox:/var/mail/al");
	ck_assert_int_eq(mailbox_spec_expand("maildir:%h/Maildir", "al", "/home/al", out, sizeof(out),
					     &why), 0);
	ck_assert_str_eq(out, "maildir:/home/al/Maildir");
	ck_assert_int_eq(mailbox_spec_expand("mbox:/m/100%%/%u", "al", "", out, sizeof(out), &why), 0);
	ck_assert_str_eq(out, "mbox:/m/100%/al");
	ck_assert_int_eq(mailbox_spec_expand("maildir:%h/M", "al", "", out, sizeof(out), &why), -1);
	ck_assert_int_eq(mailbox_spec_expand("mbox:/m/%x", "al", "/h", out, sizeof(out), &why), -1);
	ck_assert_int_eq(mailbox_spec_expand("mbox:/m/%", "al", "/h", out, sizeof(out), &why), -1);
	ck_assert_int_eq(mailbox_spec_expand("mbox:%u", "al", "/h", out, sizeof(out), &why), -1);
	ck_assert_int_eq(mailbox_spec_expand("mbox:/m/%u", "al", "/h", out, 8, &why), -1);
}
END_TEST

/* ---- APOP ---- */

static const char rfc_challenge[] = "<1896.697170952@dbc.mtview.ca.us>";
static const char rfc_digest[] = "c4c9334bac560ecc979e58001b3e22fb";

START_TEST(test_apop_rfc1939_digest)
{
	char d[33];

	ck_assert_int_eq(auth_apop_digest(rfc_challenge, "tanstaaf", d), 0);
	ck_assert_str_eq(d, rfc_digest);
}
END_TEST

START_TEST(test_apop)
{
	char h[256], pw[128], sec[128], text[1024], dummy[33];
	struct config *cfg;
	struct auth_user u;

	authtest_hash("$1$", "pw", h, sizeof(h));
	snprintf(text, sizeof(text), "mrose:%s:maildir:/m/mrose:4000:4001\nplain:%s:mbox:/m/p:1:1\n",
		 h, h);
	tl_write_text(tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd"), text);
	tl_write_text(tl_pathbuf(sec, sizeof(sec), authtest_dir, "secrets"),
		   "# APOP\nmrose:tanstaaf\nghost:tanstaaf\nno colon here\n");
	cfg = file_cfg(pw, sec);
	tl_capture();
	ck_assert(auth_apop_available(cfg));
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, rfc_digest, &u), AUTH_OK);
	ck_assert_str_eq(u.mailbox, "maildir:/m/mrose");
	ck_assert_uint_eq(u.uid, 4000);
	ck_assert_uint_eq(u.gid, 4001);
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, "C4C9334BAC560ECC979E58001B3E22FB", &u),
			 AUTH_OK);
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, "c4c9334bac560ecc979e58001b3e22fc", &u),
			 AUTH_FAIL);
	ck_assert_str_eq(u.mailbox, "");
	ck_assert_int_eq(auth_apop(cfg, "mrose", "<other@x>", rfc_digest, &u), AUTH_FAIL);
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, "c4c9334bac", &u), AUTH_FAIL);
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, "c4c9334bac560ecc979e58001b3e22fb0", &u),
			 AUTH_FAIL);
	/* The right digest for a user with a secret but no account, and for one with no secret. */
	ck_assert_int_eq(auth_apop(cfg, "ghost", rfc_challenge, rfc_digest, &u), AUTH_FAIL);
	ck_assert_int_eq(auth_apop(cfg, "nobody2", rfc_challenge, rfc_digest, &u), AUTH_FAIL);
	/* A real user without a secret: even the stand-in secret's digest must not let them in. */
	ck_assert_int_eq(auth_apop_digest(rfc_challenge, AUTH_APOP_DUMMY_SECRET, dummy), 0);
	ck_assert_int_eq(auth_apop(cfg, "plain", rfc_challenge, dummy, &u), AUTH_FAIL);
	ck_assert(strstr(tl_captured(), "secrets:4: expected name:secret") != NULL);
	ck_assert(strstr(tl_captured(), "ghost is not a usable file user") != NULL);
	ck_assert_int_eq(tl_count(tl_captured(), "secrets:4:"), 1);
	config_free(&cfg);
}
END_TEST

START_TEST(test_apop_unavailable)
{
	char pw[128], sec[128];
	struct config *cfg;
	struct auth_user u;

	tl_write_text(tl_pathbuf(pw, sizeof(pw), authtest_dir, "passwd"), "");
	cfg = file_cfg(pw, NULL);
	ck_assert(!auth_apop_available(cfg));
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, rfc_digest, &u), AUTH_FAIL);
	config_free(&cfg);

	tl_write_text(tl_pathbuf(sec, sizeof(sec), authtest_dir, "secrets"), "# nobody yet\n\n");
	cfg = file_cfg(pw, sec);
	ck_assert(!auth_apop_available(cfg));
	config_free(&cfg);

	cfg = file_cfg(pw, tl_pathbuf(sec, sizeof(sec), authtest_dir, "no-secrets"));
	ck_assert(!auth_apop_available(cfg));
	ck_assert_int_eq(auth_apop(cfg, "mrose", rfc_challenge, rfc_digest, &u), AUTH_TEMPFAIL);
	config_free(&cfg);
}
END_TEST

/* ---- popgatectl passwd ---- */

/* ctl_passwd_output - popgatectl -f CONF passwd [ARG] with INPUT on stdin: exit status, stdout in OUT. */
static int ctl_passwd_output(const char *ctl, const char *conf, const char *arg, const char *input,
			     char *out, size_t cap)
{
	int in[2], res[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(res), 0);
	signal(SIGPIPE, SIG_IGN); /* a usage error exits before reading its input */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], STDIN_FILENO);
		dup2(res[1], STDOUT_FILENO);
		close(in[1]);
		close(res[0]);
		execl(ctl, ctl, "-f", conf, "passwd", arg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	(void)!write(in[1], input, strlen(input));
	close(in[1]);
	while (len + 1 < cap && (n = read(res[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(res[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_ctl_passwd)
{
	const char *builddir = getenv("POPGATE_BUILDDIR");
	char ctl[PATH_MAX], conf[128], out[1024];

	snprintf(ctl, sizeof(ctl), "%s/src/popgatectl", builddir != NULL ? builddir : ".");
	if (access(ctl, X_OK) != 0) {
		printf("check_auth: skipped: %s not built\n", ctl);
		return;
	}
	tl_write_text(tl_pathbuf(conf, sizeof(conf), authtest_dir, "empty.conf"), "# defaults\n");
	ck_assert_int_eq(ctl_passwd_output(ctl, conf, NULL, "ctl pass word\n", out, sizeof(out)), 0);
	ck_assert_msg(strncmp(out, "$y$", 3) == 0, "output: %s", out);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1); /* the hash alone, one line */
	out[strlen(out) - 1] = '\0';
	ck_assert(auth_verify_hash("ctl pass word", out));
	ck_assert(!auth_verify_hash("ctl pass word\n", out));
	ck_assert_int_eq(ctl_passwd_output(ctl, conf, NULL, "crlf\r\nignored\n", out, sizeof(out)), 0);
	out[strcspn(out, "\n")] = '\0';
	ck_assert(auth_verify_hash("crlf", out));
	ck_assert_int_eq(ctl_passwd_output(ctl, conf, NULL, "", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(ctl_passwd_output(ctl, conf, NULL, "\n", out, sizeof(out)), 1);
	ck_assert_int_eq(ctl_passwd_output(ctl, conf, "alice", "pw\n", out, sizeof(out)), 64);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("hash");

	tcase_add_loop_test(tc, test_scheme_verifies_and_rejects, 0, sizeof(schemes) / sizeof(schemes[0]));
	tcase_add_test(tc, test_hash_password);
	tcase_add_test(tc, test_dummy_same_cost);
	tcase_add_test(tc, test_unusable_hashes);
	tcase_add_test(tc, test_long_password);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_unchecked_fixture(tc, authtest_dir_setup, authtest_dir_teardown);
	tcase_add_test(tc, test_bad_names_touch_nothing);
	tcase_add_test(tc, test_file_backend);
	tcase_add_test(tc, test_file_reread);
	tcase_add_test(tc, test_file_held);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_server_user_missing);
	tcase_add_test(tc, test_mailbox_expand);
	tcase_add_test(tc, test_apop_rfc1939_digest);
	tcase_add_test(tc, test_apop);
	tcase_add_test(tc, test_apop_unavailable);
	tcase_add_test(tc, test_ctl_passwd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(auth_suite());
}
