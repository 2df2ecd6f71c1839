/* fuzz_smtp.c - libFuzzer harness: a whole SMTP session through smtp_session_main, up to the next hop. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input is everything a client sends to the real smtp_session_main: greeting, HELO/EHLO,
 * AUTH, MAIL/RCPT with the relay decision, DATA with dot-unstuffing and line-end checks, RSET,
 * pipelining, error counting. Two parts are stood in: the privileged monitor (privsep_fork says
 * "you are the protocol child"; privsep_check accepts alice/secret) and the sendmail hand-off,
 * which becomes the next hop that checks every message it is given.
 *
 * Invariants: replies are CRLF lines of at most 512 octets that start with a reply code; no more
 * replies than command lines; a message handed on has CRLF lines only (no bare CR or LF, which
 * SMTP smuggling needs), no line over 1000 octets, the size the session claims, at most
 * max_message_size of client text, and only recipients without routing tricks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep/privsep.h"
#include "fuzz_spool.h"
#include "fuzz_util.h"
#include "smtpd/smtp_forward.h"
#include "smtpd/smtpd.h"

#define MAX_SIZE 8192
#define MAX_RCPTS 5

struct privsep {
	unsigned requests;
};

static struct config *cfg;
static struct privsep channel;
static unsigned messages;

/* privsep_fork - stood in: this process is the protocol child, already unprivileged. */
int privsep_fork(struct session_ctx *c, struct privsep **ps)
{
	*ps = &channel;
	return 0;
}

void privsep_free(struct privsep **ps)
{
	*ps = NULL;
}

int privsep_serve(struct privsep *ps, bool stop_on_success, struct auth_user *user)
{
	fuzz_fail(__FILE__, __LINE__, "privsep_serve", "the monitor side must not run in the child");
}

pid_t privsep_child_pid(const struct privsep *ps)
{
	fuzz_fail(__FILE__, __LINE__, "privsep_child_pid", "the monitor side must not run in the child");
}

#define terminated(f) (memchr((f), '\0', sizeof(f)) != NULL)

/* privsep_check - the monitor, stood in: a well-formed record; alice/secret is right, "tempfail" fails over. */
enum auth_result privsep_check(struct privsep *ps, const struct privsep_request *req, struct auth_user *user)
{
	FUZZ_CHECK(ps == &channel, "privsep_check on an unknown channel");
	FUZZ_CHECK(terminated(req->user) && terminated(req->secret) && terminated(req->challenge) &&
		   terminated(req->proto), "a request field is not NUL-terminated");
	FUZZ_CHECK(req->mech == PRIVSEP_PASSWORD, "SMTP asked for mechanism %d", req->mech);
	FUZZ_CHECK(strcmp(req->proto, "smtp") == 0, "proto \"%s\"", req->proto);
	ps->requests++;
	if (strcmp(req->user, "tempfail") == 0)
		return AUTH_TEMPFAIL;
	if (strcmp(req->user, "alice") != 0 || strcmp(req->secret, "secret") != 0)
		return AUTH_FAIL;
	memset(user, 0, sizeof(*user));
	snprintf(user->name, sizeof(user->name), "alice");
	return AUTH_OK;
}

/* check_envelope - what the next hop is told: real paths, no tricks, within the limits. */
static void check_envelope(const struct smtp_envelope *env)
{
	FUZZ_CHECK(env->nrcpts >= 1 && env->nrcpts <= MAX_RCPTS, "%zu recipients", env->nrcpts);
	FUZZ_CHECK(strlen(env->from->text) <= SMTP_PATH_MAX, "sender of %zu octets", strlen(env->from->text));
	FUZZ_CHECK(!(env->from->flags & SMTP_ADDR_SOURCE_ROUTE), "sender with a source route: %s", env->from->text);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct smtp_addr *r = &env->rcpts[i];

		FUZZ_CHECK(r->text[0] != '\0' && !(r->flags & SMTP_ADDR_NULL), "recipient %zu is the null path", i);
		FUZZ_CHECK(!(r->flags & SMTP_ADDR_TRICKS), "recipient %s has routing tricks 0x%x", r->text, r->flags);
		FUZZ_CHECK(strlen(r->text) <= SMTP_PATH_MAX, "recipient of %zu octets", strlen(r->text));
		FUZZ_CHECK(strpbrk(r->text, " \t\r\n<>") == NULL || (r->flags & SMTP_ADDR_QUOTED),
			   "unquoted recipient with a delimiter: \"%s\"", r->text);
	}
}

/* smtp_forward_sendmail - the next hop, stood in: it checks the message and takes it (or refuses it). */
enum smtp_forward_status smtp_forward_sendmail(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
					       struct smtp_spool *msg, struct smtp_forward_result *res)
{
	char *text;
	size_t len;
	const char *body;
	const char *local = env->rcpts[0].local;

	FUZZ_CHECK(fc->usable && fc->kind == SMTP_HOP_SENDMAIL, "an unusable next hop was called");
	check_envelope(env);
	fuzz_spool_read(msg, &text, &len);
	FUZZ_CHECK(env->size == len, "envelope size %llu for %zu octets", (unsigned long long)env->size, len);
	FUZZ_CHECK(strncmp(text, "Received: from ", 15) == 0, "the message starts with: %.60s", text);
	fuzz_check_crlf("message", text, len, 1000);
	fuzz_check_no_bare_cr("message", text, len);
	/* The Received: header is ours and ends ";CRLF TAB date CRLF"; the client's text follows. */
	body = strstr(text, ";\r\n\t");
	body = body != NULL ? strstr(body + 4, "\r\n") : NULL;
	FUZZ_CHECK(body != NULL, "no end of the Received: header in %.200s", text);
	FUZZ_CHECK((size_t)(text + len - body - 2) <= MAX_SIZE, "%zu octets of client text",
		   (size_t)(text + len - body - 2));
	free(text);
	messages++;
	snprintf(res->detail, sizeof(res->detail), "fuzz next hop: %zu octets", len);
	if (strcmp(local, "tempfail") == 0)
		return SMTP_FWD_TEMPFAIL;
	if (strcmp(local, "permfail") == 0) {
		snprintf(res->said, sizeof(res->said), "5.1.1 no such user here");
		return SMTP_FWD_PERMFAIL;
	}
	return SMTP_FWD_OK;
}

enum smtp_forward_status smtp_forward_smtp(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
					   struct smtp_spool *msg, struct smtp_forward_result *res)
{
	fuzz_fail(__FILE__, __LINE__, "smtp_forward_smtp", "smtp.forward names sendmail in this harness");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[1024], state[512];

	fuzz_setup();
	fuzz_path("state", state, sizeof(state));
	snprintf(text, sizeof(text),
		 "[server]\nstate_dir = %s\nhostname = smtp.fuzz\n[relay]\ndb_dir = %s/relay\n"
		 "[smtp]\nrelay_domains = example.org, fuzz.test\nforward = sendmail:/usr/sbin/sendmail\n"
		 "max_message_size = %d\nmax_recipients = %d\n", state, state, MAX_SIZE, MAX_RCPTS);
	cfg = fuzz_config(text);
	setenv("TMPDIR", fuzz_dir(), 1); /* where a large message's spool would spill */
	return 0;
}

/* check_replies - reply codes, line ends and lengths, and no more replies than command lines. */
static void check_replies(const char *out, size_t len, size_t lines)
{
	size_t finals = 0;

	FUZZ_CHECK(strncmp(out, "220 smtp.fuzz ESMTP", 19) == 0, "greeting: %.80s", out);
	fuzz_check_crlf("SMTP replies", out, len, 512);
	for (const char *p = out; p < out + len; p = strchr(p, '\n') + 1) {
		FUZZ_CHECK(p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
				   (p[3] == ' ' || p[3] == '-'),
			   "reply line without a code: %.80s", p);
		finals += p[3] == ' ';
	}
	/* The greeting, one final reply per line (DATA's 354 is paid for by its ".") and a 421. */
	FUZZ_CHECK(finals <= lines + 2, "%zu replies to %zu lines", finals, lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conn c;
	struct session_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	fuzz_conn_open(&c, data, size);
	ctx.cfg = cfg;
	ctx.fd = c.server_fd;
	ctx.report_fd = -1;
	ctx.dispatch_fd = -1;
	ctx.login_fd = -1;
	ctx.hostname = "smtp.fuzz";
	ctx.proto = "smtp";
	ctx.client_port = 40000;
	ctx.local_port = 25;
	FUZZ_CHECK(ip_parse("127.0.0.1", &ctx.client) == 0, "ip_parse");
	ip_format(&ctx.client, ctx.client_ip);
	snprintf(ctx.local_ip, sizeof(ctx.local_ip), "127.0.0.1");
	FUZZ_CHECK(smtp_session_main(&ctx) == 0, "smtp_session_main failed");
	FUZZ_CHECK(ctx.fd == -1, "the session left its socket open");
	fuzz_conn_finish(&c);
	FUZZ_CHECK(c.out_total == c.out_len, "%llu octets of replies", (unsigned long long)c.out_total);
	check_replies(c.out, c.out_len, fuzz_count_lines(data, size));
	fuzz_conn_free(&c);
	return 0;
}
