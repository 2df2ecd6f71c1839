/* pgload_proto.c - the load client's workloads: POP3 sessions, RETR, login, TLS, RCPT, idle sessions. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Each function here is one dialogue a real client has with the server, written out in full so
 * that both servers get exactly the same commands. Results go to stdout as one "key=value ..."
 * line that bench/run parses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgload.h"

int pgl_step_pop3(const struct pgl_opts *o, struct pgl_conn *c, int worker, long iteration)
{
	long user = worker;
	int rc = -1;

	/*
	 * Each worker has users of its own, as each real client has its own maildrop. With more users
	 * than workers a worker walks through its share (every conc-th user), so that a server sees
	 * many different users as an ISP does, and no two workers ever share a mailbox.
	 */
	if (o->users > o->conc) {
		long span = o->users - o->users % o->conc;
		user = (worker + (long)o->conc * iteration) % span;
	}
	if (pgl_connect(c, o) < 0)
		return -1;
	if (pgl_pop3_login(c, o, user) == 0 && pgl_send(c, "STAT") == 0 && pgl_ok(c) == 0 &&
	    pgl_send(c, "RETR 1") == 0 && pgl_ok(c) == 0 && pgl_body(c) > 0 && pgl_send(c, "QUIT") == 0 &&
	    pgl_ok(c) == 0)
		rc = 0;
	pgl_close(c);
	return rc;
}

int pgl_step_tls(const struct pgl_opts *o, struct pgl_conn *c, int worker, long iteration)
{
	int rc = -1;

	(void)worker, (void)iteration;
	if (pgl_connect(c, o) < 0)
		return -1;
	if (pgl_ok(c) == 0 && pgl_send(c, "QUIT") == 0 && pgl_ok(c) == 0)
		rc = 0;
	pgl_close(c);
	return rc;
}

/* stat_count - STAT's message count, or -1. */
static long stat_count(struct pgl_conn *c)
{
	const char *l;

	if (pgl_send(c, "STAT") < 0 || (l = pgl_line(c)) == NULL || strncmp(l, "+OK ", 4) != 0)
		return -1;
	return strtol(l + 4, NULL, 10);
}

int pgl_run_retr(const struct pgl_opts *o)
{
	static struct pgl_conn c;
	long long bytes = 0;
	long n;
	double t0, t1;

	if (pgl_connect(&c, o) < 0 || pgl_pop3_login(&c, o, 0) < 0 || (n = stat_count(&c)) < 0) {
		fprintf(stderr, "pgload: retr: login failed\n");
		return 1;
	}
	if (o->count > 0 && n > o->count)
		n = o->count;
	t0 = pgl_now();
	for (long i = 1; i <= n; i++) {
		long long b;

		if (pgl_send(&c, "RETR %ld", i) < 0 || pgl_ok(&c) < 0 || (b = pgl_body(&c)) < 0) {
			fprintf(stderr, "pgload: retr: RETR %ld failed\n", i);
			return 1;
		}
		bytes += b;
	}
	t1 = pgl_now();
	printf("messages=%ld bytes=%lld seconds=%.4f mbps=%.1f cipher=%s\n", n, bytes, t1 - t0,
	       (double)bytes / 1e6 / (t1 - t0), c.ssl != NULL ? SSL_get_cipher_name(c.ssl) : "none");
	(void)pgl_send(&c, "QUIT");
	(void)pgl_ok(&c);
	pgl_close(&c);
	return 0;
}

int pgl_run_login(const struct pgl_opts *o)
{
	static struct pgl_conn c;
	double t0 = pgl_now(), t1, t2;
	long n;

	if (pgl_connect(&c, o) < 0 || pgl_pop3_login(&c, o, 0) < 0 || (n = stat_count(&c)) < 0) {
		fprintf(stderr, "pgload: login: login or STAT failed\n");
		return 1;
	}
	t1 = pgl_now();
	if (pgl_send(&c, "QUIT") < 0 || pgl_ok(&c) < 0) {
		fprintf(stderr, "pgload: login: QUIT failed\n");
		return 1;
	}
	t2 = pgl_now();
	pgl_close(&c);
	printf("messages=%ld login_stat_ms=%.2f quit_ms=%.2f\n", n, (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	return 0;
}

/* Transactions per SMTP session: Postfix counts RSET as a junk command and slows a client down after 100. */
#define PGL_TRANSACTIONS 20

/* rcpt_session - one SMTP session of up to PGL_TRANSACTIONS transactions timing each RCPT into LAT. */
static long rcpt_session(const struct pgl_opts *o, struct pgl_conn *c, uint32_t *lat, long want, long *errors)
{
	long n = 0;

	if (pgl_connect(c, o) < 0 || pgl_smtp(c) != 220 || pgl_send(c, "EHLO bench.test") < 0 || pgl_smtp(c) != 250)
		return -1;
	for (int t = 0; t < PGL_TRANSACTIONS && n < want; t++) {
		if ((t > 0 && (pgl_send(c, "RSET") < 0 || pgl_smtp(c) != 250)) ||
		    pgl_send(c, "MAIL FROM:<bench@example.org>") < 0 || pgl_smtp(c) != 250)
			return -1;
		for (int r = 0; r < o->rcpts && n < want; r++) {
			double t0 = pgl_now();
			int code;

			if (pgl_send(c, "RCPT TO:<user%ld@relay.example.net>", n) < 0 || (code = pgl_smtp(c)) < 0)
				return -1;
			lat[n++] = (uint32_t)((pgl_now() - t0) * 1e9);
			if (code != 250)
				(*errors)++;
		}
	}
	(void)pgl_send(c, "QUIT");
	(void)pgl_smtp(c);
	pgl_close(c);
	return n;
}

int pgl_run_rcpt(const struct pgl_opts *o)
{
	static struct pgl_conn c;
	uint32_t *lat = calloc((size_t)o->count, sizeof(*lat));
	long errors = 0, n = 0;

	if (lat == NULL)
		return 1;
	while (n < o->count) {
		long got = rcpt_session(o, &c, lat + n, o->count - n, &errors);

		if (got < 0) {
			fprintf(stderr, "pgload: rcpt: SMTP session failed after %ld RCPTs\n", n);
			pgl_close(&c);
			break;
		}
		n += got;
	}
	if (n < o->count)
		errors += o->count - n;
	pgl_sort(lat, (size_t)n);
	printf("samples=%ld errors=%ld p50_us=%.1f p99_us=%.1f\n", n, errors, pgl_percentile(lat, (size_t)n, 50) / 1e3,
	       pgl_percentile(lat, (size_t)n, 99) / 1e3);
	free(lat);
	return errors > 0 ? 1 : 0;
}

/* open_idle - one session brought to where it idles: logged in (POP3) or after EHLO (SMTP). fd or -1,
 * with the step that failed in WHY (the first failure is printed, so that a refusing peer says how). */
static int open_idle(const struct pgl_opts *o, struct pgl_conn *c, long i, bool smtp, const char **why)
{
	static char step[64];
	int code, fd;

	*why = NULL;
	if (pgl_connect(c, o) < 0) {
		/* the errno's name: refused (nothing listens) and timed out (a full backlog) differ */
		const char *name = strerrorname_np(errno);

		(void)snprintf(step, sizeof(step), "connect:%s", name != NULL ? name : "?");
		*why = step;
		return -1;
	}
	if (smtp) {
		if ((code = pgl_smtp(c)) != 220 && snprintf(step, sizeof(step), "greeting:%d", code) > 0)
			*why = step; /* -1: no reply line */
		else if (code == 220 && (pgl_send(c, "EHLO bench.test") != 0 || pgl_smtp(c) != 250))
			*why = "EHLO";
	} else if (pgl_pop3_login(c, o, i) != 0) {
		*why = "login";
	}
	if (*why != NULL) {
		pgl_close(c);
		return -1;
	}
	fd = c->fd;
	c->fd = -1;
	return fd;
}

int pgl_run_idle(const struct pgl_opts *o, bool smtp)
{
	static struct pgl_conn c;
	int *fds = calloc((size_t)o->count, sizeof(*fds));
	long open_n = 0, failed = 0;
	const char *why, *first = NULL;
	char line[64];

	if (fds == NULL)
		return 1;
	for (long i = 0; i < o->count; i++) {
		int fd = open_idle(o, &c, i, smtp, &why);
		if (fd < 0 && first == NULL)
			first = why;
		if (fd < 0)
			failed++;
		else
			fds[open_n++] = fd;
	}
	printf("ready sessions=%ld failed=%ld first_failure=%s\n", open_n, failed, first != NULL ? first : "none");
	fflush(stdout);
	/* Hold the sessions until the caller has measured: a line on stdin or its end. */
	(void)!fgets(line, sizeof(line), stdin);
	for (long i = 0; i < open_n; i++) {
		(void)!write(fds[i], "QUIT\r\n", 6);
		close(fds[i]);
	}
	free(fds);
	return failed > 0 ? 1 : 0;
}
