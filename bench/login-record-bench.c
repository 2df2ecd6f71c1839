/* login-record-bench.c - what a POP login waits for in the relay lookup worker, with and without the MTA map. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * usage: login-record-bench -n N [-a PREFIX] CONFIG...
 *
 * A session records its login by asking the relay lookup worker over the login channel
 * (relaydb_session_login -> relay_login_send) and says +OK only after the answer: the worker
 * authorizes the address in the relay database and, when relay.export_map is set, puts it into
 * the map. Only popgated's own processes hold that channel, so this program, run as root, takes a
 * copy of the master's sending end (pidfd_getfd, the master's pid from server.pid_file) and
 * makes that same call N times against each running popgated named by a CONFIG (one with the
 * map, one without), alternating between them call by call so that other load on the machine falls
 * on each alike, every call from a new address PREFIX.x.y. It prints, for each CONFIG in order, one
 * line "config=I calls=N p50_us= p90_us= p99_us= max_us=". The difference between the two p50s is
 * what the map adds to a login, without the password check, fork and network that make the PASS
 * round trip noisy. Exits 1 when a call was not answered by the worker.
 */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "relaydb/login_channel.h"
#include "bench/bench_time.h"

/* Descriptors of the master looked at for the login channel. */
#define MAX_MASTER_FDS 4096

/* is_login_end - whether FD is a unix datagram socket shut for reading: the channel's sending end. */
static int is_login_end(int fd)
{
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return 0;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM)
		return 0;
	return poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP) != 0;
}

/* login_channel - a copy of the login channel's sending end of CFG's running master; -1 logged. */
static int login_channel(const struct config *cfg)
{
	const char *pidfile = conf(cfg)->server.pid_file;
	FILE *f = fopen(pidfile, "r");
	long pid = 0;
	int pidfd, found = -1;

	if (f == NULL || fscanf(f, "%ld", &pid) != 1 || pid <= 0) {
		fprintf(stderr, "login-record-bench: %s: no master pid\n", pidfile);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	if ((pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0) {
		perror("login-record-bench: pidfd_open");
		return -1;
	}
	for (int fd = 0; fd < MAX_MASTER_FDS && found < 0; fd++) {
		int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

		if (got >= 0 && is_login_end(got))
			found = got;
		else if (got >= 0)
			close(got);
	}
	close(pidfd);
	if (found < 0)
		fprintf(stderr, "login-record-bench: no login channel in popgated %ld (run as root)\n", pid);
	return found;
}

/* Daemons compared in one run: the one with the map and the one without. */
#define MAX_CONFIGS 2

/* Addresses under one /16 prefix: 250 x 250. */
#define MAX_CALLS 62500

static double pct(const double *sorted, long n, double p)
{
	long i = (long)(p * (double)n);

	return sorted[i < n ? i : n - 1];
}

/* record - one login from address I of daemon C's range over CHAN; its round trip in µs, or -1. */
static double record(int chan, const char *prefix, int c, long i)
{
	char ip[64];
	double t0;
	int rc;

	snprintf(ip, sizeof(ip), "%s.%ld.%ld", prefix, 1 + c * 125 + i / 250, 1 + i % 250);
	t0 = bench_now_us();
	rc = relay_login_send(chan, ip, "bench", "pop3", RELAY_LOGIN_WAIT_MS);
	if (rc != 0) {
		fprintf(stderr, "login-record-bench: %s: %s\n", ip,
			rc == RELAY_LOGIN_NO_ANSWER ? "the lookup worker did not answer" : "not recorded");
		return -1;
	}
	return bench_now_us() - t0;
}

int main(int argc, char **argv)
{
	struct config *cfg[MAX_CONFIGS];
	int chan[MAX_CONFIGS];
	double *lat[MAX_CONFIGS];
	const char *prefix = "127.5";
	struct cfg_error err;
	long n = 1000;
	int opt, nc;

	while ((opt = getopt(argc, argv, "n:a:")) != -1) {
		if (opt == 'n')
			n = strtol(optarg, NULL, 10);
		else if (opt == 'a')
			prefix = optarg;
		else
			return 2;
	}
	nc = argc - optind;
	/* Each daemon gets half the /16: 125 x 250 addresses. */
	if (nc < 1 || nc > MAX_CONFIGS || n < 1 || n > MAX_CALLS / 2) {
		fprintf(stderr, "usage: login-record-bench [-n 1..%d] [-a PREFIX] CONFIG [CONFIG]\n", MAX_CALLS / 2);
		return 2;
	}
	for (int c = 0; c < nc; c++) {
		if ((cfg[c] = config_load(argv[optind + c], &err)) == NULL) {
			fprintf(stderr, "login-record-bench: %s\n", err.msg);
			return 1;
		}
		if ((chan[c] = login_channel(cfg[c])) < 0)
			return 1;
		if ((lat[c] = malloc((size_t)n * sizeof(double))) == NULL)
			return 1;
	}
	for (long i = 0; i < n; i++)
		for (int c = 0; c < nc; c++)
			if ((lat[c][i] = record(chan[c], prefix, c, i)) < 0)
				return 1;
	for (int c = 0; c < nc; c++) {
		qsort(lat[c], (size_t)n, sizeof(double), bench_cmp_double);
		printf("config=%d calls=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n", c, n,
		       pct(lat[c], n, 0.5), pct(lat[c], n, 0.9), pct(lat[c], n, 0.99), lat[c][n - 1]);
		free(lat[c]);
		close(chan[c]);
		config_free(&cfg[c]);
	}
	return 0;
}
