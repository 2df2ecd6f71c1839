/* pgload.c - the benchmark load client: options, forked workers with their own timing, percentiles. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * usage: pgload MODE -p PORT [-H ADDR] [-S] [-c WORKERS] [-t SECONDS] [-u PREFIX] [-U USERS]
 *               [-w PASSWORD] [-n COUNT] [-r RCPTS]
 *
 *   pop3       WORKERS processes, each looping connect/USER/PASS/STAT/RETR 1/QUIT as user PREFIX<i>
 *   tls        WORKERS processes, each looping connect/full TLS handshake/greeting/QUIT (use -S)
 *   retr       one session RETRieving every message (at most COUNT) in turn: MB/s
 *   login      one session: time from connect to the STAT reply, then the QUIT reply
 *   rcpt       one SMTP session timing COUNT RCPTs, RCPTS per transaction: p50 and p99
 *   idle-pop3  COUNT logged-in POP3 sessions held open until stdin ends
 *   idle-smtp  COUNT SMTP sessions after EHLO held open until stdin ends
 *
 * Python cannot keep two cores' worth of POP3 sessions in flight, so the load is generated here:
 * forked workers (no threads, no shared state but one results slot each in a shared mapping),
 * released together through a pipe, each timing its own sessions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgload.h"

/* Latency samples one worker keeps (microseconds each); sessions beyond it are counted, not timed. */
#define PGL_SAMPLES (1u << 17)
/* Most concurrent workers. */
#define PGL_MAX_WORKERS 1024

/* One worker's results, in memory shared with the parent. */
struct slot {
	long ok, errors;
	double finished;
	size_t n;
	uint32_t lat[PGL_SAMPLES];
};

static void usage(void)
{
	fprintf(stderr, "usage: pgload pop3|tls|retr|login|rcpt|idle-pop3|idle-smtp -p PORT [-H ADDR] [-S]\n"
			"       [-c WORKERS] [-t SECONDS] [-u PREFIX] [-U USERS] [-w PASSWORD] [-n COUNT] [-r RCPTS]\n");
	exit(64);
}

/* parse - the options into O; exits 64 on a usage error. */
static void parse(int argc, char **argv, struct pgl_opts *o)
{
	const char *host = "127.0.0.1";
	int c, port = 0;

	*o = (struct pgl_opts){ .conc = 1, .seconds = 5, .user_prefix = "u", .users = 0, .pass = "bench",
				.count = 0, .rcpts = 50 };
	if (argc < 2)
		usage();
	o->mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "H:p:Sc:t:u:U:w:n:r:")) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'S': o->tls = true; break;
		case 'c': o->conc = atoi(optarg); break;
		case 't': o->seconds = atof(optarg); break;
		case 'u': o->user_prefix = optarg; break;
		case 'U': o->users = atoi(optarg); break;
		case 'w': o->pass = optarg; break;
		case 'n': o->count = atol(optarg); break;
		case 'r': o->rcpts = atoi(optarg); break;
		default: usage();
		}
	}
	o->addr.sin_family = AF_INET;
	o->addr.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &o->addr.sin_addr) != 1 || o->conc < 1 ||
	    o->conc > PGL_MAX_WORKERS || o->seconds <= 0 || o->rcpts < 1 || o->count < 0)
		usage();
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void pgl_sort(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
}

uint32_t pgl_percentile(const uint32_t *sorted, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)((double)n * p / 100.0);
	return sorted[i >= n ? n - 1 : i];
}

/* worker - run STEP until START + O->seconds, timing each, at least once; never returns. */
static void worker(const struct pgl_opts *o, pgl_step_fn step, struct slot *s, int id, double start)
{
	static struct pgl_conn c;
	double end = start + o->seconds;

	/* At least one step: on a loaded machine a worker may first run after END (seen: 0.3 s
	 * windows that ended before the worker was scheduled, ok=0 errors=0, a failed smoke test). */
	for (long it = 0; it == 0 || pgl_now() < end; it++) {
		double t0 = pgl_now();
		int rc = step(o, &c, id, it);
		double t1 = pgl_now();

		if (rc == 0) {
			s->ok++;
			if (s->n < PGL_SAMPLES)
				s->lat[s->n++] = (uint32_t)((t1 - t0) * 1e6);
		} else {
			s->errors++;
			usleep(1000); /* a refusing server must not be hammered in a tight loop */
		}
	}
	s->finished = pgl_now();
	_exit(0);
}

/* report - add up the slots and print one result line. */
static int report(const struct pgl_opts *o, struct slot *slots, double start)
{
	long ok = 0, errors = 0;
	size_t n = 0, k = 0;
	double end = start;
	uint32_t *all;
	struct rusage ru;

	for (int i = 0; i < o->conc; i++) {
		ok += slots[i].ok;
		errors += slots[i].errors;
		n += slots[i].n;
		end = slots[i].finished > end ? slots[i].finished : end;
	}
	if ((all = malloc((n + 1) * sizeof(*all))) == NULL)
		return 1;
	for (int i = 0; i < o->conc; i++) {
		memcpy(all + k, slots[i].lat, slots[i].n * sizeof(*all));
		k += slots[i].n;
	}
	pgl_sort(all, n);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("mode=%s workers=%d seconds=%.3f ok=%ld errors=%ld rate=%.1f p50_ms=%.3f p99_ms=%.3f client_cpu=%.2f\n",
	       o->mode, o->conc, end - start, ok, errors, (double)ok / (end - start),
	       pgl_percentile(all, n, 50) / 1e3, pgl_percentile(all, n, 99) / 1e3,
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6);
	free(all);
	return ok > 0 ? 0 : 1;
}

/* run_concurrent - fork O->conc workers running STEP, release them together, wait, report. */
static int run_concurrent(const struct pgl_opts *o, pgl_step_fn step)
{
	size_t size = sizeof(double) * 8 + (size_t)o->conc * sizeof(struct slot);
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	volatile double *start = (volatile double *)mem;
	struct slot *slots = (struct slot *)(mem + sizeof(double) * 8);
	int gate[2];
	char b;

	if (mem == MAP_FAILED || pipe(gate) < 0) {
		perror("pgload");
		return 1;
	}
	for (int i = 0; i < o->conc; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("pgload: fork");
			return 1;
		}
		if (pid == 0) {
			close(gate[1]);
			/* Blocks until the parent closes its end: every worker starts at once. */
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				;
			worker(o, step, &slots[i], i, *start);
		}
	}
	close(gate[0]);
	*start = pgl_now();
	close(gate[1]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return report(o, slots, *start);
}

/* run_mode - the workload O names; its exit status. */
static int run_mode(struct pgl_opts *o)
{
	if (strcmp(o->mode, "pop3") == 0)
		return run_concurrent(o, pgl_step_pop3);
	if (strcmp(o->mode, "tls") == 0)
		return run_concurrent(o, pgl_step_tls);
	if (strcmp(o->mode, "retr") == 0)
		return pgl_run_retr(o);
	if (strcmp(o->mode, "login") == 0)
		return pgl_run_login(o);
	if (strcmp(o->mode, "rcpt") == 0)
		return o->count > 0 ? pgl_run_rcpt(o) : (usage(), 64);
	if (strcmp(o->mode, "idle-pop3") == 0 || strcmp(o->mode, "idle-smtp") == 0)
		return pgl_run_idle(o, o->mode[5] == 's');
	usage();
	return 64;
}

int main(int argc, char **argv)
{
	struct pgl_opts o;
	int rc;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (o.tls && (o.ctx = pgl_tls_ctx()) == NULL) {
		fprintf(stderr, "pgload: no TLS context\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = run_mode(&o);
	if (o.ctx != NULL)
		SSL_CTX_free(o.ctx); /* the sanitizer build's leak check reads an unfreed context as a leak */
	return rc;
}
