/* check_pop3_session.c - the AUTHORIZATION state through the real pop3_session_main. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The AUTHORIZATION state through the real pop3_session_main (privilege
 * split, monitor, file backend) driven over a socketpair by a scripted client: the dispatcher,
 * the plaintext policy, bad-command counting, over-long lines, USER/PASS, APOP and AUTH.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pop3test.h"
#include "check_run.h"

typedef struct pop3test_step step;
#define END { NULL, NULL, false }

/* run - one scripted session from CLIENT_IP under [pop3] KEYS; returns the session's exit status. */
static int run(const char *keys, const char *client_ip, const step *steps)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(keys);
	int rc;

	pop3test_start(&s, cfg, client_ip);
	pop3test_script(&s, steps);
	rc = pop3test_finish(&s);
	config_free(&cfg);
	return rc;
}

static const step prelogin[] = {
	{ NULL, "+OK popgate ready <", false },
	{ "CAPA", "+OK Capability list follows", true },
	{ "capa", "+OK Capability list follows", true },
	{ "NOOP", "-ERR Command not valid in this state", false },
	{ "RETR 1", "-ERR Command not valid in this state", false },
	{ "STAT", "-ERR Command not valid in this state", false },
	{ "XYZZY", "-ERR Unknown command", false },
	{ "", "-ERR Unknown command", false },
	{ " USER alice", "-ERR Unknown command", false },
	{ "USER", "-ERR Wrong number of arguments", false },
	{ "USER a b", "-ERR Wrong number of arguments", false },
	{ "CAPA now", "-ERR Wrong number of arguments", false },
	{ "PASS secret", "-ERR No user name given", false },
	{ "STLS", "-ERR STLS not available", false },
	{ "AUTH", "+OK", true },
	{ "AUTH CRAM-MD5", "-ERR Unsupported authentication mechanism", false },
	{ "APOP alice 0123", "-ERR [AUTH] Authentication failed", false },
	{ "USER alice", "+OK", false },
	{ "PASS wrong", "-ERR [AUTH] Authentication failed", false },
	{ "PASS " PT_ALICE_PASS, "-ERR No user name given", false }, /* a failed PASS forgets USER */
	{ "quit", "+OK popgate signing off", false },
	END,
};

START_TEST(test_prelogin)
{
	ck_assert_int_eq(run("max_bad_commands = 50\n", "127.0.0.1", prelogin), 0);
}
END_TEST

/* From an untrusted network without TLS, passwords are refused before they are sent; APOP is fine. */
static const step untrusted[] = {
	{ NULL, "+OK popgate ready <", false },
	{ "USER alice", "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections", false },
	{ "PASS " PT_ALICE_PASS, "-ERR [AUTH] Plaintext authentication disallowed", false },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "-ERR [AUTH] Plaintext authentication disallowed", false },
	{ "AUTH LOGIN", "-ERR [AUTH] Plaintext authentication disallowed", false },
	{ "AUTH", "+OK", true },
	{ "QUIT", "+OK", false },
	END,
};

START_TEST(test_untrusted)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);
	char body[2048];

	ck_assert_int_eq(run(NULL, "192.0.2.7", untrusted), 0);
	/* The capability list must not offer what would be refused. */
	pop3test_start(&s, cfg, "2001:db8::7");
	pop3test_expect(&s, "+OK popgate ready");
	pop3test_send(&s, "CAPA\r\nAUTH\r\n");
	pop3test_expect(&s, "+OK Capability list follows");
	pop3test_body(&s, body, sizeof(body));
	ck_assert_ptr_null(strstr(body, "USER"));
	ck_assert_ptr_null(strstr(body, "SASL"));
	ck_assert_ptr_nonnull(strstr(body, "RESP-CODES\r\n"));
	pop3test_expect(&s, "+OK");
	ck_assert_uint_eq(pop3test_body(&s, body, sizeof(body)), 0); /* no mechanism offered */
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_trusted_capa)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);
	char body[2048];

	pop3test_start(&s, cfg, "::1");
	pop3test_expect(&s, "+OK popgate ready");
	pop3test_send(&s, "CAPA\r\nAUTH\r\n");
	pop3test_expect(&s, "+OK Capability list follows");
	pop3test_body(&s, body, sizeof(body));
	ck_assert_str_eq(body, "TOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\nPIPELINING\r\nSASL PLAIN LOGIN\r\n"
			       "EXPIRE NEVER\r\nAUTH-RESP-CODE\r\nIMPLEMENTATION popgate\r\n");
	pop3test_expect(&s, "+OK");
	pop3test_body(&s, body, sizeof(body));
	ck_assert_str_eq(body, "PLAIN\r\nLOGIN\r\n");
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

static const step bad_limit[] = {
	{ NULL, "+OK popgate ready", false },
	{ "HELO", "-ERR Unknown command", false },
	{ "CAPA", "+OK", true }, /* good commands do not reset the count */
	{ "LIST", "-ERR Command not valid in this state", false },
	{ "USER", "-ERR Too many bad commands, closing connection", false },
	END,
};

START_TEST(test_bad_limit)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config("max_bad_commands = 3\n");

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_script(&s, bad_limit);
	pop3test_eof(&s);
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

/* over-long lines: refused once each, and the session goes on. */
START_TEST(test_long_lines)
{
	static struct pop3test_session s;
	static char line[40000];
	struct config *cfg = pop3test_config(NULL);

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_expect(&s, "+OK popgate ready");
	memset(line, 'A', 513);
	memcpy(line + 513, "\r\n", 3);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR Line too long");
	memset(line, 'B', sizeof(line) - 3); /* more than lio's whole input buffer */
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR Line too long");
	/* 512 octets is still a line; its 41-character argument is not. */
	snprintf(line, sizeof(line), "LIST %0507d\r\n", 1);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR Command not valid in this state");
	snprintf(line, sizeof(line), "APOP alice %041d\r\n", 1);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR Argument too long");
	pop3test_send(&s, "QUIT\r\n");
	pop3test_expect(&s, "+OK");
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_nul_byte)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_expect(&s, "+OK popgate ready");
	ck_assert_int_eq(write(s.fd, "CAPA\0x\r\nQUIT\r\n", 14), 14);
	pop3test_expect(&s, "-ERR NUL byte in command");
	pop3test_expect(&s, "+OK");
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

/* sasl - a PLAIN response of LEN bytes, base64-encoded, after PREFIX ("AUTH PLAIN " or ""). */
static void sasl(char *out, size_t cap, const char *prefix, const char *raw, size_t len)
{
	char b64[1024];

	pop3test_b64(raw, len, b64, sizeof(b64));
	snprintf(out, cap, "%s%s\r\n", prefix, b64);
}

START_TEST(test_auth_plain)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);
	char line[1200];

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_expect(&s, "+OK popgate ready");
	pop3test_send(&s, "AUTH PLAIN !!!!\r\n");
	pop3test_expect(&s, "-ERR Invalid base64 data");
	pop3test_send(&s, "AUTH PLAIN\r\n");
	ck_assert_str_eq(pop3test_expect(&s, "+ "), "+ ");
	pop3test_send(&s, "*\r\n");
	pop3test_expect(&s, "-ERR Authentication cancelled");
	pop3test_send(&s, "AUTH PLAIN =\r\n");
	pop3test_expect(&s, "-ERR malformed PLAIN response");
	sasl(line, sizeof(line), "AUTH PLAIN ", "bob\0alice\0" PT_ALICE_PASS, 16);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR [AUTH] Authentication failed: authorization identity");
	sasl(line, sizeof(line), "auth plain ", "\0alice\0wrong", 12);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR [AUTH] Authentication failed");
	/* The response on a continuation line, with an authzid equal to the user. */
	pop3test_send(&s, "AUTH PLAIN\r\n");
	pop3test_expect(&s, "+ ");
	sasl(line, sizeof(line), "", "alice\0alice\0" PT_ALICE_PASS, 18);
	pop3test_send(&s, line);
	pop3test_expect(&s, "+OK 3 messages (");
	pop3test_send(&s, "QUIT\r\n");
	pop3test_expect(&s, "+OK");
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_auth_login)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);
	char line[512], b64[256];

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_expect(&s, "+OK popgate ready");
	pop3test_send(&s, "AUTH LOGIN\r\n");
	pop3test_expect(&s, "+ VXNlcm5hbWU6");
	pop3test_send(&s, "*\r\n");
	pop3test_expect(&s, "-ERR Authentication cancelled");
	pop3test_b64("bob", 3, b64, sizeof(b64));
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n", b64); /* user name as initial response */
	pop3test_send(&s, line);
	pop3test_expect(&s, "+ UGFzc3dvcmQ6");
	pop3test_send(&s, "not base64\r\n");
	pop3test_expect(&s, "-ERR Invalid base64 data");
	pop3test_send(&s, "AUTH LOGIN\r\n");
	pop3test_expect(&s, "+ VXNlcm5hbWU6");
	pop3test_send(&s, "Ym9i\r\n");
	pop3test_expect(&s, "+ UGFzc3dvcmQ6");
	pop3test_b64(PT_BOB_PASS, strlen(PT_BOB_PASS), b64, sizeof(b64));
	snprintf(line, sizeof(line), "%s\r\n", b64);
	pop3test_send(&s, line);
	pop3test_expect(&s, "+OK 3 messages (");
	pop3test_send(&s, "QUIT\r\n");
	pop3test_expect(&s, "+OK");
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

/* apop_digest - hex MD5(challenge secret) computed here, independently of the auth module. */
static void apop_digest(const char *greeting, const char *secret, char out[33])
{
	const char *lt = strchr(greeting, '<'), *gt = strchr(greeting, '>');
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char text[512];

	ck_assert_ptr_nonnull(lt);
	ck_assert_ptr_nonnull(gt);
	snprintf(text, sizeof(text), "%.*s%s", (int)(gt - lt + 1), lt, secret);
	ck_assert_int_eq(EVP_Digest(text, strlen(text), md, &mdlen, EVP_md5(), NULL), 1);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

START_TEST(test_apop)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);
	char greeting[512], digest[33], line[512];
	int pid = 0;
	long long t = 0;

	pop3test_start(&s, cfg, "192.0.2.9"); /* APOP is allowed without TLS from anywhere */
	snprintf(greeting, sizeof(greeting), "%s", pop3test_expect(&s, "+OK popgate ready <"));
	ck_assert_int_eq(sscanf(greeting, "+OK popgate ready <%d.%lld@pop.test>", &pid, &t), 2);
	ck_assert_int_gt(pid, 0);
	ck_assert(t > time(NULL) - 60 && t <= time(NULL));
	apop_digest(greeting, "not-the-secret", digest);
	snprintf(line, sizeof(line), "APOP alice %s\r\n", digest);
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR [AUTH] Authentication failed");
	apop_digest(greeting, PT_ALICE_APOP, digest);
	snprintf(line, sizeof(line), "APOP bob %s\r\n", digest); /* bob has no APOP secret */
	pop3test_send(&s, line);
	pop3test_expect(&s, "-ERR [AUTH] Authentication failed");
	snprintf(line, sizeof(line), "APOP alice %s\r\n", digest);
	pop3test_send(&s, line);
	pop3test_expect(&s, "+OK 3 messages (");
	pop3test_send(&s, "QUIT\r\n");
	pop3test_expect(&s, "+OK");
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

/* Without pop3.apop the greeting carries no challenge and APOP is refused. */
static const step apop_off[] = {
	{ "APOP alice 0123456789abcdef0123456789abcdef", "-ERR APOP not available", false },
	{ "QUIT", "+OK", false },
	END,
};

START_TEST(test_apop_off)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config("apop = no\n");

	pop3test_start(&s, cfg, "127.0.0.1");
	ck_assert_str_eq(pop3test_expect(&s, "+OK"), "+OK popgate ready");
	pop3test_script(&s, apop_off);
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

/* A password with spaces (RFC 1939: PASS takes the rest of the line) and a pipelined login. */
START_TEST(test_pipelined_login)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config(NULL);

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_expect(&s, "+OK popgate ready");
	pop3test_send(&s, "CAPA\r\nUSER bob\r\nPASS " PT_BOB_PASS "\r\nSTAT\r\nLIST 2\r\nQUIT\r\n");
	pop3test_expect(&s, "+OK Capability");
	char body[1024];
	pop3test_body(&s, body, sizeof(body));
	pop3test_expect(&s, "+OK");
	pop3test_expect(&s, "+OK 3 messages (");
	pop3test_expect(&s, "+OK 3 ");
	pop3test_expect(&s, "+OK 2 ");
	pop3test_expect(&s, "+OK popgate signing off");
	pop3test_eof(&s);
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_idle_timeout_prelogin)
{
	static struct pop3test_session s;
	struct config *cfg = pop3test_config("idle_timeout = 1s\n");
	time_t t0 = time(NULL);

	pop3test_start(&s, cfg, "127.0.0.1");
	pop3test_expect(&s, "+OK popgate ready");
	pop3test_eof(&s); /* RFC 1939 autologout: no reply, just the close */
	ck_assert(time(NULL) - t0 <= 5);
	ck_assert_int_eq(pop3test_finish(&s), 0);
	config_free(&cfg);
}
END_TEST

static Suite *pop3_session_suite(void)
{
	Suite *s = suite_create("pop3_session");
	TCase *tc = tcase_create("authorization");

	tcase_add_checked_fixture(tc, pop3test_setup, pop3test_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_prelogin);
	tcase_add_test(tc, test_untrusted);
	tcase_add_test(tc, test_trusted_capa);
	tcase_add_test(tc, test_bad_limit);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_auth_plain);
	tcase_add_test(tc, test_auth_login);
	tcase_add_test(tc, test_apop);
	tcase_add_test(tc, test_apop_off);
	tcase_add_test(tc, test_pipelined_login);
	tcase_add_test(tc, test_idle_timeout_prelogin);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(pop3_session_suite());
}
