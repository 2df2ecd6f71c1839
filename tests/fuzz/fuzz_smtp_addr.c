/* fuzz_smtp_addr.c - libFuzzer harness: SMTP paths, MAIL/RCPT arguments, HELO, command lines, base64, relay decision. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input (up to its first NUL) is given to every SMTP argument parser as a command's
 * arguments would be. A parsed path must be bounded, printable, consistent (text is
 * local@domain) and parse again to itself. A parsed recipient goes through smtp_policy_rcpt for
 * a client of each kind (denied, allowed, authorized and expired in a real relay database,
 * unknown), with and without SMTP AUTH, and the verdict must be the one the relay rules give:
 * tricks never relay, relay.deny wins, then postmaster, our domains, AUTH, and the lists. The
 * database is read by a real relay lookup worker, forked at start, as in popgated: a session
 * never opens it itself.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "common/sasl.h"
#include "common/session_cmd.h"
#include "smtpd/smtp_limits.h"
#include "smtpd/smtp_parse.h"
#include "relaydb/lookup.h"
#include "smtpd/smtp_policy.h"
#include "smtpd/smtp_session.h"

/* The clients the relay decision is asked about, and what the lists and database say of each. */
static const struct {
	const char *ip;
	enum smtp_verdict alone;   /* the verdict without AUTH for a recipient outside our domains */
} clients[] = {
	{ "192.0.2.25", SMTP_VERDICT_DENY_LIST },
	{ "10.1.2.3", SMTP_VERDICT_ALLOW_LIST },
	{ "198.51.100.7", SMTP_VERDICT_AUTHORIZED },
	{ "198.51.100.8", SMTP_VERDICT_EXPIRED },
	{ "203.0.113.9", SMTP_VERDICT_UNKNOWN },
	{ "2001:db8::25", SMTP_VERDICT_DENY_LIST },
};

static const char *const our_domains[] = { "example.org", "fuzz.test" };

static struct config *cfg;
static struct smtp_policy policy;   /* one connection to the lookup worker for the whole run */
static time_t now;

/* start_worker - the relay lookup worker in a child that ends with us; wait (up to 60 s) for its socket. */
static void start_worker(void)
{
	static volatile sig_atomic_t never;
	char path[512], dir[512];
	struct stat st;
	pid_t pid;

	FUZZ_CHECK(relay_lookup_path(cfg, path, sizeof(path)) == 0 && relay_lookup_dir(cfg, dir, sizeof(dir)) == 0,
		   "relay_lookup_path");
	FUZZ_CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir); /* popgated's master makes it */
	pid = fork();
	FUZZ_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(relaydb_lookupd_run(cfg, -1, -1, &never));
	}
	for (int i = 0; i < 6000 && stat(path, &st) < 0; i++)
		(void)poll(NULL, 0, 10);
	FUZZ_CHECK(stat(path, &st) == 0, "the lookup worker never listened on %s", path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[1024], state[512], err[256];
	struct relaydb *db;

	fuzz_setup();
	fuzz_path("state", state, sizeof(state));
	snprintf(text, sizeof(text),
		 "[server]\nstate_dir = %s\n[relay]\ndb_dir = %s/relay\nallow = 10.0.0.0/8\n"
		 "deny = 192.0.2.0/24, 2001:db8::/32\ntimeout = 30m\n"
		 "[smtp]\nrelay_domains = example.org, fuzz.test\n", state, state);
	cfg = fuzz_config(text);
	FUZZ_CHECK(mkdir(state, 0700) == 0, "mkdir %s", state);
	now = time(NULL);
	FUZZ_CHECK(relaydb_open(cfg, &db, err, sizeof(err)) == 0, "relaydb_open: %s", err);
	FUZZ_CHECK(relaydb_authorize(db, "198.51.100.7", "alice", "pop3", 1800, now - 60) == 0 &&
			   relaydb_authorize(db, "198.51.100.8", "bob", "pop3", 1800, now - 7200) == 0,
		   "relaydb_authorize");
	relaydb_close(&db);
	start_worker();
	smtp_policy_init(&policy, cfg, clients[0].ip);
	return 0;
}

/* printable_text - whether S is printable ASCII (a quoted local part may hold spaces). */
static bool printable_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* check_path - what every parsed path must satisfy; END (if not NULL) is where the parser stopped. */
static void check_path(const struct smtp_addr *a, const char *start, const char *end, const char *input_end)
{
	char again_text[SMTP_PATH_MAX + 3];
	struct smtp_addr b;
	const char *q = again_text;
	unsigned lost = SMTP_ADDR_SOURCE_ROUTE | SMTP_ADDR_TRAILING_DOT;

	if (end != NULL)
		FUZZ_CHECK(end > start && end <= input_end && end[-1] == '>', "parser stopped at offset %td",
			   end - start);
	FUZZ_CHECK(strlen(a->local) <= SMTP_LOCAL_MAX && strlen(a->domain) <= SMTP_DOMAIN_MAX &&
			   strlen(a->text) <= SMTP_PATH_MAX, "part too long: %s", a->text);
	FUZZ_CHECK(printable_text(a->text), "unprintable address text");
	if (a->flags & SMTP_ADDR_NULL) {
		FUZZ_CHECK(a->text[0] == '\0' && a->local[0] == '\0' && a->domain[0] == '\0', "<> with text %s", a->text);
		return;
	}
	if (a->domain[0] == '\0') {
		FUZZ_CHECK((a->flags & SMTP_ADDR_POSTMASTER) && strcasecmp(a->local, "postmaster") == 0 &&
				   strcmp(a->text, a->local) == 0, "a path without a domain: \"%s\"", a->text);
	} else {
		FUZZ_CHECK(!(a->flags & SMTP_ADDR_POSTMASTER), "postmaster flag on %s", a->text);
		snprintf(again_text, sizeof(again_text), "%s@%s", a->local, a->domain);
		FUZZ_CHECK(strcmp(again_text, a->text) == 0, "text \"%s\" is not local@domain \"%s\"", a->text,
			   again_text);
	}
	FUZZ_CHECK(((a->flags & SMTP_ADDR_TRICKS) != 0) == (smtp_addr_trick_text(a->flags) != NULL),
		   "trick text disagrees with flags 0x%x", a->flags);
	/* What goes to the next hop must mean the same when it is parsed again. */
	snprintf(again_text, sizeof(again_text), "<%s>", a->text);
	FUZZ_CHECK(smtp_addr_parse(&q, &b) == SMTP_ADDR_OK && *q == '\0', "\"%s\" does not parse again", again_text);
	FUZZ_CHECK(strcmp(a->text, b.text) == 0 && strcmp(a->local, b.local) == 0 && strcmp(a->domain, b.domain) == 0,
		   "\"%s\" parses again as \"%s\"", a->text, b.text);
	FUZZ_CHECK((a->flags & ~lost) == (b.flags & ~lost), "\"%s\": flags 0x%x, again 0x%x", a->text, a->flags,
		   b.flags);
}

/* ours - whether DOMAIN is one of our_domains or below one, case-insensitively (the reference). */
static bool ours(const char *domain)
{
	size_t n = strlen(domain);

	if (domain[0] == '[')
		return false;
	for (size_t i = 0; i < sizeof(our_domains) / sizeof(our_domains[0]); i++) {
		size_t m = strlen(our_domains[i]);
		if (n == m && strcasecmp(domain, our_domains[i]) == 0)
			return true;
		if (n > m && domain[n - m - 1] == '.' && strcasecmp(domain + n - m, our_domains[i]) == 0)
			return true;
	}
	return false;
}

/* expected - the relay rules, written out: what smtp_policy_rcpt must answer. */
static enum smtp_verdict expected(const struct smtp_addr *to, size_t client, const char *auth)
{
	if (to->flags & SMTP_ADDR_TRICKS)
		return SMTP_VERDICT_TRICK;
	if (clients[client].alone == SMTP_VERDICT_DENY_LIST)
		return SMTP_VERDICT_DENY_LIST;
	if (to->flags & SMTP_ADDR_POSTMASTER)
		return SMTP_VERDICT_POSTMASTER;
	if (ours(to->domain))
		return SMTP_VERDICT_RELAY_DOMAIN;
	if (auth != NULL)
		return SMTP_VERDICT_SMTP_AUTH;
	return clients[client].alone;
}

/* check_relay - every client, with and without AUTH, against the rules. */
static void check_relay(const struct smtp_addr *to)
{
	for (size_t c = 0; c < sizeof(clients) / sizeof(clients[0]); c++) {
		for (int a = 0; a < 2; a++) {
			const char *auth = a ? "alice" : NULL;
			enum smtp_verdict v, want = expected(to, c, auth);

			/* Another client is another session: no transaction's answer carries over. */
			smtp_policy_end_transaction(&policy);
			policy.client_ip = clients[c].ip;
			v = smtp_policy_rcpt(&policy, to, auth, now, NULL);
			FUZZ_CHECK(v == want, "RCPT <%s> from %s%s: %s, expected %s", to->text, clients[c].ip,
				   auth ? " with AUTH" : "", smtp_verdict_text(v), smtp_verdict_text(want));
		}
	}
}

/* check_mail_rcpt - the input as MAIL and RCPT arguments. */
static void check_mail_rcpt(const char *in, const char *end)
{
	struct smtp_addr a;
	struct smtp_mail_params mp;
	enum smtp_addr_error ae = SMTP_ADDR_OK;

	for (int esmtp = 0; esmtp < 2; esmtp++) {
		if (smtp_parse_mail(in, esmtp, &a, &mp, &ae) != SMTP_ARG_OK)
			continue;
		FUZZ_CHECK(strncasecmp(in, "FROM:", 5) == 0, "MAIL accepted without FROM: \"%.40s\"", in);
		FUZZ_CHECK(esmtp || (!mp.size_given && !mp.body_8bit && !mp.auth_given), "parameters after HELO");
		check_path(&a, in, NULL, end);
	}
	if (smtp_parse_rcpt(in, &a, &ae) == SMTP_ARG_OK) {
		FUZZ_CHECK(strncasecmp(in, "TO:", 3) == 0, "RCPT accepted without TO: \"%.40s\"", in);
		check_path(&a, in, NULL, end);
		if (!(a.flags & SMTP_ADDR_NULL))
			check_relay(&a);
	}
}

/* check_verb - a command line through the dispatcher with SMTP's table: what it accepts is what the row says. */
static void check_verb(const char *in, size_t n)
{
	char *line = strdup(in);
	const struct session_cmd *cmd;
	struct session_args a;
	size_t vl = strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	enum session_cmd_error e;

	if (line == NULL)
		return;
	e = session_cmd_parse(&smtp_command_table, SMTP_S_READY, line, n, &cmd, &a);
	if (e == SESSION_CMD_VERB_LONG)
		FUZZ_CHECK(vl > SMTP_VERB_MAX, "verb of %zu letters too long: \"%.40s\"", vl, in);
	if (e < SESSION_CMD_UNKNOWN) {
		free(line);
		return;
	}
	FUZZ_CHECK(vl >= 1 && vl <= SMTP_VERB_MAX && (in[vl] == '\0' || in[vl] == ' '), "verb in \"%.40s\"", in);
	FUZZ_CHECK((cmd == NULL) == (e == SESSION_CMD_UNKNOWN), "a row for error %d", (int)e);
	if (cmd != NULL)
		FUZZ_CHECK(strlen(cmd->verb) == vl && strncasecmp(cmd->verb, in, vl) == 0, "row %s for \"%.40s\"",
			   cmd->verb, in);
	if (e == SESSION_CMD_OK) {
		FUZZ_CHECK((cmd->states & SMTP_S_READY) && n + 2 <= cmd->line_max, "%s accepted", cmd->verb);
		FUZZ_CHECK(a.argc >= cmd->min_args && a.argc <= cmd->max_args, "%s with %d arguments", cmd->verb, a.argc);
		if (a.argc == 1)
			FUZZ_CHECK(a.argv[0] > line + vl && a.argv[0] < line + n && a.argv[0][0] != ' ' &&
					   strcmp(a.argv[0], in + (a.argv[0] - line)) == 0,
				   "argument at offset %td", a.argv[0] - line);
	}
	free(line);
}

/* check_words - HELO names and SASL base64. */
static void check_words(const char *in, size_t n)
{
	unsigned char dec[2048];
	char enc[2048 * 4 / 3 + 8];
	size_t d;

	if (smtp_helo_valid(in))
		FUZZ_CHECK(n > 0 && n <= SMTP_HELO_MAX && strpbrk(in, " \t\r\n<>()\"\\") == NULL && printable_text(in),
			   "HELO name accepted: \"%.60s\"", in);
	if (sasl_b64_decode(in, n, dec, sizeof(dec), &d) == 0) {
		/* Only the canonical encoding is accepted, so encoding the result gives the input back. */
		FUZZ_CHECK(sasl_b64_encode(dec, d, enc, sizeof(enc)) == (long)n && strcmp(enc, in) == 0,
			   "base64 \"%.60s\" decodes to %zu octets that encode as \"%.60s\"", in, d, enc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size);
	size_t n = strlen(in);

	if (in[0] == '<') {
		struct smtp_addr a;
		const char *p = in;

		if (smtp_addr_parse(&p, &a) == SMTP_ADDR_OK)
			check_path(&a, in, p, in + n);
	}
	check_mail_rcpt(in, in + n);
	check_words(in, n);
	check_verb(in, n);
	free(in);
	return 0;
}
