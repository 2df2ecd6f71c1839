/* loopback-floor.c - the least a request/reply over loopback costs on this machine, with and without a hop. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * usage: loopback-floor [-n COUNT] [-h HOPS]
 *
 * bench/run's RCPT row is a client that sends a line over TCP on 127.0.0.1 and waits for the
 * reply, and a server that asks a second process over a unix socket before it answers. This
 * program does exactly those wake-ups and nothing else: a client, a server that answers each line
 * at once, and with -h 1 a helper process the server asks first over a SOCK_SEQPACKET pair, as a
 * session asks popgate's relay lookup worker. Its p99 is the floor under any server built that
 * way on this machine: what the scheduler and the hypervisor cost, not what popgate does.
 * Prints "hops=H samples=N p50_us= p99_us=".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_time.h"

static const char request[] = "RCPT TO:<someone@relay.example.net>\r\n";
static const char reply[] = "250 2.1.5 Ok\r\n";

static void die(const char *what)
{
	fprintf(stderr, "loopback-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("TCP_NODELAY");
}

/* helper - answer every record on FD with the same bytes until the server hangs up. */
static void helper(int fd)
{
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	_exit(0);
}

/* server - accept one client on LISTENER and answer each line, asking HOP first when it is open. */
static void server(int listener, int hop)
{
	char buf[512], answer[512];
	int c = accept(listener, NULL, NULL);
	ssize_t n;

	if (c < 0)
		die("accept");
	nodelay(c);
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		if (hop >= 0 && (write(hop, buf, (size_t)n) != n || read(hop, answer, sizeof(answer)) <= 0))
			break;
		if (write(c, reply, sizeof(reply) - 1) < 0)
			break;
	}
	_exit(0);
}

/* start - the server (and its helper for HOPS > 0) on a fresh listener; the port to connect to. */
static struct sockaddr_in start(int hops)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int listener = socket(AF_INET, SOCK_STREAM, 0), sv[2] = { -1, -1 };

	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listener, 1) < 0 ||
	    getsockname(listener, (struct sockaddr *)&sa, &len) < 0)
		die("listening on 127.0.0.1");
	if (hops > 0 && socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("socketpair");
	if (hops > 0 && fork() == 0) {
		close(listener);
		close(sv[0]);
		helper(sv[1]);
	}
	if (fork() == 0) {
		if (sv[1] >= 0)
			close(sv[1]);
		server(listener, sv[0]);
	}
	close(listener);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return sa;
}

int main(int argc, char **argv)
{
	long count = 20000, hops = 0;
	struct sockaddr_in sa;
	double *lat;
	char buf[512];
	int c, opt;

	while ((opt = getopt(argc, argv, "n:h:")) != -1) {
		if (opt == 'n')
			count = strtol(optarg, NULL, 10);
		else if (opt == 'h')
			hops = strtol(optarg, NULL, 10);
		else
			return fprintf(stderr, "usage: loopback-floor [-n COUNT] [-h 0|1]\n"), 64;
	}
	if (count < 100 || hops < 0 || hops > 1)
		return fprintf(stderr, "loopback-floor: -n at least 100, -h 0 or 1\n"), 64;
	if ((lat = calloc((size_t)count, sizeof(*lat))) == NULL)
		die("calloc");
	sa = start((int)hops);
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connecting");
	nodelay(c);
	for (long i = 0; i < count; i++) {
		double t = bench_now_us();

		if (write(c, request, sizeof(request) - 1) < 0 || read(c, buf, sizeof(buf)) <= 0)
			die("the round trip");
		lat[i] = bench_now_us() - t;
	}
	close(c);
	while (wait(NULL) > 0)
		;
	qsort(lat, (size_t)count, sizeof(*lat), bench_cmp_double);
	printf("hops=%ld samples=%ld p50_us=%.1f p99_us=%.1f\n", hops, count, lat[count / 2], lat[count * 99 / 100]);
	free(lat);
	return 0;
}
