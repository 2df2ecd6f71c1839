/* relaydb-bench.c - relay database throughput and check latency from several processes at once. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "relaydb/relaydb.h"

/* Most latency samples one process keeps (uint32 nanoseconds each). */
#define MAX_SAMPLES (4u << 20)

struct opts {
	long entries;
	int procs;
	double seconds;
	char dir[256];
	bool own_dir;    /* made by us, removed at the end */
};

/* What one process measured. */
struct result {
	int kind;        /* 0 checks, 1 refreshes */
	long ops;
	long errors;
	double elapsed;
};

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void ip_of(long i, char *buf, size_t len)
{
	snprintf(buf, len, "10.%ld.%ld.%ld", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static struct config *bench_config(const char *dir)
{
	char text[512];
	struct cfg_error err;
	struct config *cfg;

	snprintf(text, sizeof(text), "[relay]\ndb_dir = %s/relay\nallow =\ntimeout = 1h\n", dir);
	if ((cfg = config_load_string("bench.conf", text, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return cfg;
}

/* worker - check or refresh random entries for the given time; latencies of checks go to a file. */
static struct result worker(const struct opts *o, const struct config *cfg, int id, bool refresh)
{
	struct result r = { refresh ? 1 : 0, 0, 0, 0 };
	struct relaydb *db = NULL;
	uint32_t *lat = refresh ? NULL : malloc(MAX_SAMPLES * sizeof(*lat));
	unsigned seed = (unsigned)getpid();
	char err[256], ip[32], path[300];
	double start, end;
	size_t n = 0;

	if (relaydb_open(cfg, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		exit(1);
	}
	start = mono();
	end = start + o->seconds;
	for (double now = start; now < end; r.ops++) {
		ip_of(rand_r(&seed) % o->entries, ip, sizeof(ip));
		if (refresh) {
			if (relaydb_authorize(db, ip, "bench", "pop3", 3600, time(NULL)) < 0)
				r.errors++;
			now = mono();
		} else {
			double t0 = mono();

			if (relay_check_ip(cfg, db, ip, time(NULL), NULL) != RELAY_AUTHORIZED)
				r.errors++;
			now = mono();
			if (n < MAX_SAMPLES)
				lat[n++] = (uint32_t)((now - t0) * 1e9);
		}
	}
	r.elapsed = mono() - start;
	if (lat != NULL) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/lat.%d", o->dir, id);
		if ((f = fopen(path, "wb")) == NULL || fwrite(lat, sizeof(*lat), n, f) != n || fclose(f) != 0)
			exit(1);
		free(lat);
	}
	relaydb_close(&db);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* percentiles - p50 and p99 of every check latency the workers wrote, in microseconds. */
static void percentiles(const struct opts *o, int nworkers, double *p50, double *p99)
{
	uint32_t *all = NULL;
	size_t n = 0;
	char path[300];

	*p50 = *p99 = 0;
	for (int i = 0; i < nworkers; i++) {
		FILE *f;
		long size;

		snprintf(path, sizeof(path), "%s/lat.%d", o->dir, i);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		rewind(f);
		all = realloc(all, (n + (size_t)size / sizeof(uint32_t)) * sizeof(uint32_t));
		if (all == NULL)
			exit(1);
		n += fread(all + n, sizeof(uint32_t), (size_t)size / sizeof(uint32_t), f);
		fclose(f);
		unlink(path);
	}
	if (n > 0) {
		qsort(all, n, sizeof(*all), cmp_u32);
		*p50 = all[n / 2] / 1000.0;
		*p99 = all[n * 99 / 100] / 1000.0;
	}
	free(all);
}

/*
 * phase - run CHECKERS checking and REFRESHERS refreshing processes at once; print one table row.
 * Each child reports its struct result through a pipe.
 */
static void phase(const struct opts *o, const struct config *cfg, const char *name, int checkers, int refreshers)
{
	int fds[2], total = checkers + refreshers;
	struct result sum[2] = { { 0, 0, 0, 0 }, { 1, 0, 0, 0 } };
	double p50 = 0, p99 = 0;

	if (pipe(fds) < 0)
		exit(1);
	for (int i = 0; i < total; i++) {
		pid_t pid = fork();

		if (pid < 0)
			exit(1);
		if (pid == 0) {
			bool refresh = i >= checkers;
			struct result r = worker(o, cfg, i, refresh);

			/* One write smaller than PIPE_BUF: results of several children never interleave. */
			close(fds[0]);
			if (write(fds[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	for (int i = 0; i < total; i++) {
		struct result r;
		int kind;

		if (read(fds[0], &r, sizeof(r)) != sizeof(r))
			break;
		kind = r.kind != 0;
		sum[kind].ops += r.ops;
		sum[kind].errors += r.errors;
		sum[kind].elapsed = r.elapsed > sum[kind].elapsed ? r.elapsed : sum[kind].elapsed;
	}
	close(fds[0]);
	while (wait(NULL) > 0)
		;
	if (checkers > 0)
		percentiles(o, checkers, &p50, &p99);
	printf("| %-22s | %2d | %2d | %10.0f | %12.0f | %7.1f | %7.1f | %ld |\n", name, checkers, refreshers,
	       checkers ? sum[0].ops / sum[0].elapsed : 0.0, refreshers ? sum[1].ops / sum[1].elapsed : 0.0,
	       p50, p99, sum[0].errors + sum[1].errors);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void usage(void)
{
	fprintf(stderr, "usage: relaydb-bench [-n ENTRIES] [-p PROCS] [-s SECONDS] [-d DIR]\n");
	exit(64);
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	o->entries = 100000;
	o->procs = 4;
	o->seconds = 3;
	o->dir[0] = '\0';
	o->own_dir = false;
	while ((c = getopt(argc, argv, "n:p:s:d:")) != -1) {
		switch (c) {
		case 'n': o->entries = atol(optarg); break;
		case 'p': o->procs = atoi(optarg); break;
		case 's': o->seconds = atof(optarg); break;
		case 'd': snprintf(o->dir, sizeof(o->dir), "%s", optarg); break;
		default: usage();
		}
	}
	if (o->entries < 1 || o->procs < 2 || o->procs > 64 || o->seconds <= 0)
		usage();
	if (o->dir[0] == '\0') {
		snprintf(o->dir, sizeof(o->dir), "/tmp/relaydb-bench.XXXXXX");
		if (mkdtemp(o->dir) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
		o->own_dir = true;
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct config *cfg;
	struct relaydb *db = NULL;
	char err[256], ip[32];
	double t0, load;

	parse(argc, argv, &o);
	cfg = bench_config(o.dir);
	if (relaydb_open(cfg, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	t0 = mono();
	for (long i = 0; i < o.entries; i++) {
		ip_of(i, ip, sizeof(ip));
		if (relaydb_authorize(db, ip, "bench", "pop3", 3600, time(NULL)) < 0)
			return 1;
	}
	load = o.entries / (mono() - t0);
	relaydb_close(&db);
	printf("relaydb-bench: %ld entries (loaded at %.0f/s), %d processes, %.1f s per phase\n\n",
	       o.entries, load, o.procs, o.seconds);
	printf("| %-22s | %2s | %2s | %10s | %12s | %7s | %7s | %s |\n", "phase", "C", "R", "checks/s",
	       "refreshes/s", "p50 us", "p99 us", "errors");
	printf("|------------------------|----|----|------------|--------------|---------|---------|--------|\n");
	fflush(stdout);
	phase(&o, cfg, "checks only", o.procs, 0);
	fflush(stdout);
	phase(&o, cfg, "refreshes only", 0, o.procs);
	fflush(stdout);
	phase(&o, cfg, "checks with refreshes", o.procs / 2, o.procs - o.procs / 2);
	config_free(&cfg);
	if (o.own_dir)
		nftw(o.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
