/* check_log.c - unit tests of log_quote, the session line and its id, and when stderr is the journal. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/journal.h"
#include "common/log.h"
#include "common/session.h"
#include "check_run.h"
#include "testlib.h"

static const struct { const char *in, *out; } cases[] = {
	{ "alice", "alice" },
	{ NULL, "-" },
	{ "", "\"\"" },                                    /* empty is not "none" */
	{ "-", "\"-\"" },                                  /* a user named - is not "none" either */
	{ "alice@example.org", "alice@example.org" },
	{ "SRS0=Hx=TT=example.com=al@fwd.example", "\"SRS0\\x3dHx\\x3dTT\\x3dexample.com\\x3dal@fwd.example\"" },
	{ "ip=203.0.113.66@a.com", "\"ip\\x3d203.0.113.66@a.com\"" },
	{ "al\"ice ip=1", "\"al\\\"ice ip\\x3d1\"" },
	{ "a\\b", "\"a\\\\b\"" },
	{ "a b", "\"a b\"" },
	{ "x\ny", "\"x\\x0ay\"" },
	{ "x\r\n", "\"x\\x0d\\x0a\"" },
	{ "\t", "\"\\x09\"" },
	{ "\x7f", "\"\\x7f\"" },
	{ "caf\xc3\xa9", "\"caf\\xc3\\xa9\"" },
	{ "x pop3 ip=203.0.113.66 user=alice login failed:",
	  "\"x pop3 ip\\x3d203.0.113.66 user\\x3dalice login failed:\"" },
};

START_TEST(quote_table)
{
	char buf[LOG_QUOTE_MAX];

	ck_assert_str_eq(log_quote(cases[_i].in, buf, sizeof(buf)), cases[_i].out);
}
END_TEST

START_TEST(null_path_is_empty)
{
	char buf[64];

	ck_assert_str_eq(log_quote_path("", buf, sizeof(buf)), "");
	ck_assert_str_eq(log_quote_path("bob@example.org", buf, sizeof(buf)), "bob@example.org");
	ck_assert_str_eq(log_quote_path("a b@x", buf, sizeof(buf)), "\"a b@x\"");
	ck_assert_str_eq(LOG_PATH("x"), "x");
	ck_assert_str_eq(LOG_Q("y z"), "\"y z\"");
}
END_TEST

/* unquote - the inverse of log_quote for a quoted value; -1 if Q is not well formed. */
static int unquote(const char *q, char *out, size_t cap)
{
	size_t n = strlen(q), o = 0;

	if (n < 2 || q[0] != '"' || q[n - 1] != '"')
		return -1;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned v;
		if (o + 1 >= cap)
			return -1;
		if (q[i] == '"' || (unsigned char)q[i] < ' ' || (unsigned char)q[i] >= 0x7f || q[i] == '=')
			return -1;
		if (q[i] != '\\') {
			out[o++] = q[i];
			continue;
		}
		if (q[i + 1] == '\\' || q[i + 1] == '"') {
			out[o++] = q[++i];
		} else if (q[i + 1] == 'x' && sscanf(q + i + 2, "%2x", &v) == 1 && i + 3 < n - 1) {
			out[o++] = (char)v;
			i += 3;
		} else {
			return -1;
		}
	}
	out[o] = '\0';
	return 0;
}

/* Random bytes: the value is one token, has no " key=" inside, and reads back as it was. */
START_TEST(random_values_round_trip)
{
	char in[100], buf[LOG_QUOTE_MAX], back[LOG_QUOTE_MAX];
	unsigned seed = 13;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (sizeof(in) - 1));
		for (size_t i = 0; i < len; i++) {
			int r = rand_r(&seed) % 8;
			in[i] = r == 0 ? ' ' : r == 1 ? '=' : r == 2 ? '"' : r == 3 ? '\\' : (char)(1 + rand_r(&seed) % 255);
		}
		in[len] = '\0';
		log_quote(in, buf, sizeof(buf));
		ck_assert_ptr_null(strstr(buf, "\n"));
		/* One assertion per value, not per byte: each one Check passes is a write to its parent
		 * (2 million of them took half a minute of CPU). */
		const char *p = buf;
		while (*p != '\0' && (unsigned char)*p >= ' ' && (unsigned char)*p < 0x7f)
			p++;
		ck_assert_msg(*p == '\0', "raw byte %02x", (unsigned char)*p);
		ck_assert_ptr_null(strchr(buf, '='));
		if (buf[0] != '"') {
			ck_assert_str_eq(buf, in);
			ck_assert_ptr_null(strchr(buf, ' '));
			continue;
		}
		ck_assert_msg(unquote(buf, back, sizeof(back)) == 0, "not well formed: %s", buf);
		ck_assert_str_eq(back, in);
	}
}
END_TEST

/* A value too long for the buffer is cut at an escape's boundary and still well formed. */
START_TEST(truncation_keeps_the_form)
{
	char in[600], buf[32], back[64];

	for (size_t cap = 8; cap <= sizeof(buf); cap++) {
		for (int kind = 0; kind < 3; kind++) {
			memset(in, kind == 0 ? 'a' : kind == 1 ? '\n' : '"', sizeof(in) - 1);
			in[sizeof(in) - 1] = '\0';
			log_quote(in, buf, cap);
			ck_assert_uint_lt(strlen(buf), cap);
			ck_assert_msg(strlen(buf) >= 5 && strcmp(buf + strlen(buf) - 4, "...\"") == 0, "%s", buf);
			ck_assert_int_eq(unquote(buf, back, sizeof(back)), 0);
		}
	}
	/* what fits exactly is not cut */
	ck_assert_str_eq(log_quote("ab cd", buf, 8), "\"ab cd\"");
	ck_assert_str_eq(log_quote("abcdefg", buf, 8), "abcdefg");
	ck_assert_str_eq(log_quote("abcdefgh", buf, 8), "\"ab...\"");
}
END_TEST

/* capture - what log_session writes to stderr for one forged name and detail. */
static const char *capture(const char *user, const char *detail_value)
{
	const char *out;

	tl_capture();
	log_open("check", LOG_MAIL, true);
	log_session(LOG_NOTICE, "pop3", "192.0.2.7", user, "login failed", "from=<%s> note=%s",
		    LOG_PATH(detail_value), LOG_Q(detail_value));
	out = tl_captured();
	tl_capture_end();
	return out;
}

START_TEST(session_line_has_only_the_servers_fields)
{
	static const char *forged[] = {
		"x pop3 ip=203.0.113.66 user=alice login failed:",
		"x\npop3[1]: info: pop3 ip=203.0.113.66 user=alice login failed",
		"x\r ip=203.0.113.66",
		"\"\\\" ip=203.0.113.66 \"",
		"a\xff\xfe ip=203.0.113.66",
	};

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		const char *line = capture(forged[i], forged[i]);
		const char *nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL && nl[1] == '\0', "not one line: %s", line);
		ck_assert_msg(strstr(line, "ip=203.0.113.66") == NULL, "forged field: %s", line);
		ck_assert_msg(strstr(line, " ip=192.0.2.7 user=\"") != NULL, "%s", line);
		ck_assert_ptr_null(strstr(strstr(line, " ip=") + 1, " ip="));
		ck_assert_ptr_null(strstr(strstr(line, " user=") + 1, " user="));
	}
	ck_assert_ptr_nonnull(strstr(capture(NULL, ""),
				     ": info: pop3 ip=192.0.2.7 user=- login failed: from=<> note=\"\"\n"));
	ck_assert_ptr_nonnull(strstr(capture("bob", "bob@example.org"),
				     " user=bob login failed: from=<bob@example.org> note=bob@example.org\n"));
}
END_TEST

/* A control byte in the server's own text never splits a record or becomes a field separator. */
START_TEST(control_bytes_in_server_text)
{
	const char *out;

	tl_capture();
	log_open("check", LOG_MAIL, true);
	log_msg(LOG_ERR, "a\nb\rc\td");
	out = tl_captured();
	tl_capture_end();
	ck_assert_ptr_nonnull(strstr(out, ": error: a?b?c?d\n"));
}
END_TEST

/* stderr_of - what FN writes to stderr (with log_open to stderr first). */
static const char *stderr_of(void (*fn)(const char *), const char *arg)
{
	const char *out;

	tl_capture();
	log_open("check", LOG_MAIL, true);
	fn(arg);
	out = tl_captured();
	tl_capture_end();
	return out;
}

static void session_and_free_line(const char *id)
{
	log_set_session(id);
	log_session(LOG_INFO, "smtp", "192.0.2.9", "bob", "connect", "port=%d", 4711);
	log_msg(LOG_WARNING, "spool: %s", "full");
	log_set_session(NULL);
	log_msg(LOG_INFO, "after");
}

/* The session id: 12 hex digits, new for each connection, right after the protocol on every line. */
START_TEST(session_id_on_every_line)
{
	char a[LOG_SESSION_ID_MAX], b[LOG_SESSION_ID_MAX], want[128];

	session_make_id(a);
	session_make_id(b);
	ck_assert_uint_eq(strlen(a), 12);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 12);
	ck_assert_str_ne(a, b);
	const char *out = stderr_of(session_and_free_line, a);
	snprintf(want, sizeof(want), ": info: smtp session=%s ip=192.0.2.9 user=bob connect: port=4711\n", a);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	snprintf(want, sizeof(want), ": warning: session=%s spool: full\n", a);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_msg(strstr(out, ": info: after\n") != NULL, "no id once cleared: %s", out);
}
END_TEST

/* The pid a line shows is asked once per process: a fork's child, and its child, still show their own. */
START_TEST(each_process_shows_its_own_pid)
{
	char want[96];
	pid_t child;
	int st;

	tl_capture();
	log_open("check", LOG_MAIL, true);
	log_msg(LOG_INFO, "parent before");
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pid_t grandchild;

		log_msg(LOG_INFO, "child");
		if ((grandchild = fork()) == 0) {
			log_msg(LOG_INFO, "grandchild %ld", (long)getpid());
			fflush(stderr);
			_exit(0);
		}
		waitpid(grandchild, NULL, 0);
		fflush(stderr);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	log_msg(LOG_INFO, "parent after");
	const char *out = tl_captured();
	snprintf(want, sizeof(want), "check[%ld]: info: parent before\n", (long)getpid());
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	snprintf(want, sizeof(want), "check[%ld]: info: parent after\n", (long)getpid());
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	snprintf(want, sizeof(want), "check[%ld]: info: child\n", (long)child);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	const char *g = strstr(out, "info: grandchild ");
	long gpid = -1;
	ck_assert_msg(g != NULL && sscanf(g, "info: grandchild %ld", &gpid) == 1, "%s", out);
	snprintf(want, sizeof(want), "check[%ld]: info: grandchild %ld\n", gpid, gpid);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	tl_capture_end();
}
END_TEST

/* JOURNAL_STREAM names stderr's device and inode when systemd connected it to the journal. */
START_TEST(journal_stream_must_be_stderr)
{
	struct stat st;
	char env[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	unsetenv("JOURNAL_STREAM");
	ck_assert(!journal_stream_is_stderr());
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	ck_assert(journal_stream_is_stderr());
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	ck_assert(!journal_stream_is_stderr()); /* inherited by a program whose stderr went elsewhere */
	setenv("JOURNAL_STREAM", "garbage", 1);
	ck_assert(!journal_stream_is_stderr());
	unsetenv("JOURNAL_STREAM");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("quote");

	tcase_add_loop_test(tc, quote_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, null_path_is_empty);
	tcase_add_test(tc, random_values_round_trip);
	tcase_add_test(tc, truncation_keeps_the_form);
	tcase_add_test(tc, session_line_has_only_the_servers_fields);
	tcase_add_test(tc, control_bytes_in_server_text);
	tcase_add_test(tc, session_id_on_every_line);
	tcase_add_test(tc, each_process_shows_its_own_pid);
	tcase_add_test(tc, journal_stream_must_be_stderr);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(log_suite());
}
