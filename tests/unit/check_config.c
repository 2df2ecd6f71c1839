/* check_config.c - unit tests of the config registry: types, defaults, FILE:LINE errors, docs. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "check_run.h"
#include "testlib.h"

static struct config *load(const char *text, struct cfg_error *err)
{
	return config_load_string("test.conf", text, err);
}

START_TEST(defaults_are_filled_in)
{
	struct cfg_error err;
	struct config *cfg = load("", &err);

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(conf(cfg)->relay.timeout, 30 * 60);
	ck_assert_str_eq(conf(cfg)->auth.backend, "system");
	ck_assert_int_eq(conf(cfg)->pop3.listen_tls.n, 1);
	ck_assert_str_eq(conf(cfg)->pop3.listen_tls.v[0].port, "995");
	ck_assert_str_eq(conf(cfg)->pop3.listen_tls.v[0].host, "");
	ck_assert_int_eq(conf(cfg)->smtp.listen.n, 2);
	ck_assert_uint_eq(conf(cfg)->smtp.max_message_size, 25u << 20);
	ck_assert_int_eq(cfg_line(cfg, "relay.timeout"), 0);
	ck_assert(!cfg_is_set(cfg, "relay.timeout"));
	config_free(&cfg);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(typed_values_parse)
{
	struct cfg_error err;
	struct config *cfg = load("[relay]\ntimeout = 2h\nallow = 10.0.0.0/8, 2001:db8::/32 192.0.2.1\n"
				  "deny =\n[smtp]\nmax_message_size = 10M\nrelay_domains = example.org example.net\n"
				  "listen = [::1]:2525, *:25\n[admin]\ntls = On\n[server]\nmax_connections = 7\n", &err);

	ck_assert_msg(cfg != NULL, "%s", err.msg);
	ck_assert_int_eq(conf(cfg)->relay.timeout, 7200);
	ck_assert_int_eq(cfg_line(cfg, "relay.timeout"), 2);
	const struct cidr_list *allow = &conf(cfg)->relay.allow;
	ck_assert_int_eq(allow->n, 3);
	ck_assert_uint_eq(allow->v[1].prefix, 32);
	ck_assert_uint_eq(allow->v[2].prefix, 32);
	ck_assert_int_eq(conf(cfg)->relay.deny.n, 0);
	ck_assert_uint_eq(conf(cfg)->smtp.max_message_size, 10u << 20);
	ck_assert_int_eq(conf(cfg)->smtp.relay_domains.n, 2);
	ck_assert_str_eq(conf(cfg)->smtp.relay_domains.v[1], "example.net");
	ck_assert_str_eq(conf(cfg)->smtp.listen.v[0].host, "::1");
	ck_assert_str_eq(conf(cfg)->smtp.listen.v[0].port, "2525");
	ck_assert(conf(cfg)->admin.tls);
	ck_assert_int_eq(conf(cfg)->server.max_connections, 7);
	config_free(&cfg);
}
END_TEST

START_TEST(empty_listen_disables)
{
	struct cfg_error err;
	struct config *cfg = load("[pop3]\nlisten_tls =\n", &err);

	ck_assert_msg(cfg != NULL, "%s", err.msg);
	ck_assert_int_eq(conf(cfg)->pop3.listen_tls.n, 0);
	config_free(&cfg);
}
END_TEST

START_TEST(list_continuation_lines_append)
{
	struct cfg_error err;
	struct config *cfg = load("[relay]\nallow = 10.0.0.0/8\n  192.168.0.0/16\n", &err);

	ck_assert_msg(cfg != NULL, "%s", err.msg);
	ck_assert_int_eq(conf(cfg)->relay.allow.n, 2);
	config_free(&cfg);
}
END_TEST

/* Each bad input and the exact error it must produce. */
static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "[nosuch]\nx = 1\n", "test.conf:1: unknown section [nosuch]" },
	{ "[server]\n[bogus]\n", "test.conf:2: unknown section [bogus]" },
	{ "[server]\nfoo = 1\n", "test.conf:2: unknown key 'foo' in section [server]" },
	{ "timeout = 1\n", "test.conf:1: 'timeout' is outside any section" },
	{ "[relay]\n\ntimeout = soon\n", "test.conf:3: relay.timeout: 'soon': not a number (expected a duration like 30m)" },
	{ "[relay]\ntimeout = 5x\n", "test.conf:2: relay.timeout: '5x': unknown unit" },
	{ "[relay]\ntimeout = 0\n", "test.conf:2: relay.timeout: '0': value out of range" },
	{ "[admin]\ntls = maybe\n", "test.conf:2: admin.tls: 'maybe': not a boolean (expected yes or no)" },
	{ "[auth]\nbackend = ldap\n", "test.conf:2: auth.backend: 'ldap': expected one of system|file" },
	{ "[server]\nmax_connections = 12abc\n", "test.conf:2: server.max_connections: '12abc': not an integer (expected an integer)" },
	{ "[smtp]\nmax_message_size = 3T\n", "test.conf:2: smtp.max_message_size: '3T': unknown unit" },
	{ "[pop3]\nlisten = 127.0.0.1\n", "test.conf:2: pop3.listen: '127.0.0.1': expected host:port" },
	{ "[pop3]\nlisten = 127.0.0.1:0\n", "test.conf:2: pop3.listen: '127.0.0.1:0': port must be a number from 1 to 65535" },
	{ "[pop3]\nlisten = ::1:110\n", "test.conf:2: pop3.listen: '::1:110': write IPv6 addresses in brackets" },
	{ "[relay]\nallow = 10.0.0.1/8\n", "test.conf:2: relay.allow: '10.0.0.1/8': host bits set beyond the prefix length" },
	{ "[relay]\ndeny = 10.0.0.0/33\n", "test.conf:2: relay.deny: '10.0.0.0/33': prefix length out of range" },
	{ "[relay]\ndeny = example.com\n", "test.conf:2: relay.deny: 'example.com': not an IPv4 or IPv6 address" },
	{ "[relay]\ntimeout = 1m\ntimeout = 2m\n", "test.conf:3: relay.timeout: set twice (first on line 2)" },
	{ "[server]\nthis line has no equals sign\n", "test.conf:2: syntax error" },
	/* Values that parse but would break every session. */
	{ "[smtp]\nrelay_domains = net\n", "test.conf:2: smtp.relay_domains: 'net': not a domain of two labels" },
	{ "[smtp]\nrelay_domains = example.org, net\n", "test.conf:2: smtp.relay_domains: 'net': not a domain" },
	{ "[smtp]\nrelay_domains = *\n", "test.conf:2: smtp.relay_domains: '*': only letters, digits" },
	{ "[smtp]\nrelay_domains = .\n", "test.conf:2: smtp.relay_domains: '.': empty host name" },
	{ "[smtp]\nrelay_domains = .net\n", "test.conf:2: smtp.relay_domains: '.net': not a domain" },
	{ "[smtp]\nrelay_domains = [127.0.0.1]\n", "test.conf:2: smtp.relay_domains: '[127.0.0.1]': an address literal" },
	{ "[smtp]\nrelay_domains = 192.0.2.1\n", "test.conf:2: smtp.relay_domains: '192.0.2.1': an address, not a host name" },
	{ "[smtp]\nrelay_domains = exa mple.net\n", "test.conf:2: smtp.relay_domains: 'exa': not a domain" },
	{ "[smtp]\nrelay_domains = example..net\n", "test.conf:2: smtp.relay_domains: 'example..net': empty label" },
	{ "[smtp]\nrelay_domains = -example.net\n", "test.conf:2: smtp.relay_domains: '-example.net': a label may not" },
	{ "[smtp]\nrelay_domains = example.org\n  net\n", "test.conf:3: smtp.relay_domains: 'net': not a domain" },
	{ "[server]]\n", "test.conf:1: ']' after the section header [server]" },
	{ "[server] hostname = a.example\n", "test.conf:1: 'hostname = a.example' after the section header [server]" },
	{ "[server]\nhostname = mail example.net\n", "test.conf:2: server.hostname: 'mail example.net': space in a host name" },
	{ "[server]\nhostname = mail\x1b[2Jexample.net\n", "test.conf:2: server.hostname: 'mail?[2Jexample.net': contains a control character" },
	{ "[server]\nhostname = mail_1.example.net\n", "test.conf:2: server.hostname: 'mail_1.example.net': only letters" },
	{ "[auth]\nsystem_mailbox = /var/mail/%u\n", "test.conf:2: auth.system_mailbox: '/var/mail/%u': must start with mbox: or maildir:" },
	{ "[auth]\nsystem_mailbox = mbox:%u\n", "test.conf:2: auth.system_mailbox: 'mbox:%u': the mailbox path must be absolute" },
	{ "[auth]\nsystem_mailbox = maildir:%h/%d\n", "test.conf:2: auth.system_mailbox: 'maildir:%h/%d': unknown % escape" },
	{ "[pop3]\nexpire = 30 days\n", "test.conf:2: pop3.expire: '30 days': expected NEVER or a number of days" },
	{ "[auth]\npasswd_file = users.passwd\n", "test.conf:2: auth.passwd_file: 'users.passwd': not an absolute path" },
	{ "[server]\nuser = pop\tgate\n", "test.conf:2: server.user: 'pop?gate': contains a control character" },
};

START_TEST(bad_input_names_file_and_line)
{
	struct cfg_error err = { "" };
	struct config *cfg = load(bad[_i].text, &err);

	ck_assert_ptr_null(cfg);
	ck_assert_msg(strncmp(err.msg, bad[_i].error, strlen(bad[_i].error)) == 0,
		      "input %d: got \"%s\", want prefix \"%s\"", _i, err.msg, bad[_i].error);
}
END_TEST

/* Values near the refused ones that must still load, and what they mean. */
START_TEST(checked_values_accept_what_works)
{
	struct cfg_error err;
	struct config *cfg = load("[smtp]\nrelay_domains = example.org, .backup.example, mail.example.net.,"
				  " xn--bcher-kva.example, 3com.example\n[server]\nhostname = mail\n"
				  "[auth]\nsystem_mailbox = maildir:%h/Maildir\n[pop3]\nexpire = 30 USER\n"
				  "[server] ; the server's identity\n", &err);

	ck_assert_msg(cfg != NULL, "%s", err.msg);
	ck_assert_int_eq(conf(cfg)->smtp.relay_domains.n, 5);
	config_free(&cfg);
	cfg = load("[auth]\nsystem_mailbox = mbox:/var/spool/mail/%u%%\n[pop3]\nexpire =\n"
		   "[server]\nhostname =\n", &err);
	ck_assert_msg(cfg != NULL, "%s", err.msg);
	config_free(&cfg);
}
END_TEST

static char scratch[TL_PATH_MAX];

/* write_temp - TEXT (LEN bytes, NULs included) as popgate.conf in a new scratch directory; its path. */
static const char *write_temp(const char *text, size_t len)
{
	static char path[TL_PATH_MAX];

	tl_scratch(scratch, sizeof(scratch), "check_config");
	tl_write(tl_pathbuf(path, sizeof(path), scratch, "popgate.conf"), text, len);
	return path;
}

/* A NUL byte must not cut the line there: "mail.example.net\0junk" is not mail.example.net. */
START_TEST(nul_byte_in_the_file_is_refused_with_its_line)
{
	static const char text[] = "[server]\n; identity\nhostname = mail.example.net\0junk\n";
	struct cfg_error err = { "" };
	const char *path = write_temp(text, sizeof(text) - 1);
	char want[TL_PATH_MAX + 64];
	struct config *cfg;

	cfg = config_load(path, &err);
	tl_rm_rf(scratch);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "%s:3: NUL byte in the line", path);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got \"%s\", want \"%s\"", err.msg, want);
}
END_TEST

/* The file reader takes CRLF line ends and a last line without a newline. */
START_TEST(file_reader_takes_crlf_and_an_unterminated_line)
{
	static const char text[] = "[server]\r\nhostname = mail.example.net\r\n[relay]\ntimeout = 2h";
	struct cfg_error err = { "" };
	const char *path = write_temp(text, sizeof(text) - 1);
	struct config *cfg;

	cfg = config_load(path, &err);
	tl_rm_rf(scratch);
	ck_assert_msg(cfg != NULL, "%s", err.msg);
	ck_assert_str_eq(conf(cfg)->server.hostname, "mail.example.net");
	ck_assert_int_eq(conf(cfg)->relay.timeout, 7200);
	ck_assert_int_eq(cfg_line(cfg, "relay.timeout"), 4);
	config_free(&cfg);
}
END_TEST

START_TEST(missing_file_is_reported)
{
	struct cfg_error err;
	struct config *cfg = config_load("/nonexistent/popgate.conf", &err);

	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err.msg, "/nonexistent/popgate.conf: cannot open: No such file or directory");
}
END_TEST

START_TEST(semantic_errors_point_at_the_key)
{
	struct cfg_error err;
	struct config *cfg = load("[server]\n\nuser = nosuchuser\n", &err);

	ck_assert_ptr_nonnull(cfg);
	cfg_fail(cfg, "server.user", &err, "no such user '%s'", conf(cfg)->server.user);
	ck_assert_str_eq(err.msg, "test.conf:3: server.user: no such user 'nosuchuser'");
	cfg_fail(cfg, "tls.cert_file", &err, "needed");
	ck_assert_str_eq(err.msg, "test.conf: tls.cert_file (default): needed");
	config_free(&cfg);
}
END_TEST

START_TEST(dump_reloads_to_the_same_settings)
{
	struct cfg_error err;
	struct config *a = load("[relay]\ntimeout = 45m\nallow = 10.0.0.0/8\n[pop3]\nlisten_tls =\n", &err), *b;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(a);
	config_dump(a, f);
	fclose(f);
	b = load(text, &err);
	ck_assert_msg(b != NULL, "dump does not reload: %s\n%s", err.msg, text);
	ck_assert_int_eq(conf(b)->relay.timeout, 45 * 60);
	ck_assert_int_eq(conf(b)->relay.allow.n, 1);
	ck_assert_int_eq(conf(b)->pop3.listen_tls.n, 0);
	config_free(&a);
	config_free(&b);
	free(text);
}
END_TEST

START_TEST(duration_and_size_parsers)
{
	long long s;
	uint64_t b;
	const char *why;

	ck_assert_int_eq(cfg_parse_duration("90", &s, &why), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(cfg_parse_duration("3d", &s, &why), 0);
	ck_assert_int_eq(s, 3 * 86400);
	ck_assert_int_eq(cfg_parse_duration("-1", &s, &why), -1);
	ck_assert_int_eq(cfg_parse_duration("99999999999999999999", &s, &why), -1);
	ck_assert_int_eq(cfg_parse_size("4k", &b, &why), 0);
	ck_assert_uint_eq(b, 4096);
	ck_assert_int_eq(cfg_parse_size("1G", &b, &why), 0);
	ck_assert_uint_eq(b, 1u << 30);
	ck_assert_int_eq(cfg_parse_size("", &b, &why), -1);
}
END_TEST

/* every_key_is_documented - each declared key appears in the sample config and the man page. */
static char *slurp(const char *rel)
{
	const char *src = getenv("POPGATE_SRCDIR");
	char *text = tl_read(tl_path(src != NULL ? src : ".", rel), NULL);

	ck_assert_msg(text != NULL, "cannot open %s", rel);
	return text;
}

static bool documented_in(const char *text, const char *section, const char *key, bool man)
{
	char head[64], line[128];
	const char *sec;

	snprintf(head, sizeof(head), man ? ".SS [%s]" : "[%s]", section);
	sec = strstr(text, head);
	if (sec == NULL)
		return false;
	const char *next = strstr(sec + 1, man ? ".SS [" : "\n[");
	snprintf(line, sizeof(line), man ? "\n.B %s\n" : "\n%s =", key);
	const char *hit = strstr(sec, line);
	if (hit == NULL && !man) {
		snprintf(line, sizeof(line), "\n;%s =", key); /* commented-out default */
		hit = strstr(sec, line);
	}
	return hit != NULL && (next == NULL || hit < next);
}

START_TEST(every_key_is_documented)
{
	char *sample = slurp("etc/popgate.conf"), *man = slurp("man/popgate.conf.5");
	int missing = 0;

	for (const struct cfg_section *s = cfg_sections; s->name != NULL; s++) {
		for (const struct cfg_key *k = s->keys; k->name != NULL; k++) {
			if (!documented_in(sample, s->name, k->name, false)) {
				fprintf(stderr, "etc/popgate.conf lacks %s.%s\n", s->name, k->name);
				missing++;
			}
			if (!documented_in(man, s->name, k->name, true)) {
				fprintf(stderr, "man/popgate.conf.5 lacks %s.%s\n", s->name, k->name);
				missing++;
			}
		}
	}
	free(sample);
	free(man);
	ck_assert_int_eq(missing, 0);
}
END_TEST

START_TEST(sample_config_loads)
{
	const char *src = getenv("POPGATE_SRCDIR");
	char path[4096];
	struct cfg_error err;
	struct config *cfg;

	snprintf(path, sizeof(path), "%s/etc/popgate.conf", src != NULL ? src : ".");
	cfg = config_load(path, &err);
	ck_assert_msg(cfg != NULL, "%s", err.msg);
	config_free(&cfg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("registry");

	tcase_add_test(tc, defaults_are_filled_in);
	tcase_add_test(tc, typed_values_parse);
	tcase_add_test(tc, empty_listen_disables);
	tcase_add_test(tc, list_continuation_lines_append);
	tcase_add_loop_test(tc, bad_input_names_file_and_line, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, checked_values_accept_what_works);
	tcase_add_test(tc, nul_byte_in_the_file_is_refused_with_its_line);
	tcase_add_test(tc, file_reader_takes_crlf_and_an_unterminated_line);
	tcase_add_test(tc, missing_file_is_reported);
	tcase_add_test(tc, semantic_errors_point_at_the_key);
	tcase_add_test(tc, dump_reloads_to_the_same_settings);
	tcase_add_test(tc, duration_and_size_parsers);
	suite_add_tcase(s, tc);
	tc = tcase_create("documentation");
	tcase_add_test(tc, every_key_is_documented);
	tcase_add_test(tc, sample_config_loads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(config_suite());
}
