/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * drac_client.c - a DRAC client built on rpcgen's stubs (from drac.x), as the mail servers that fed
 * rpc.dracd are: the wire format is rpcgen's and libtirpc's, not popgate's.
 *
 *   drac_client [-s SOURCE_IP] [-r] HOST[:PORT] udp|tcp 1|2 ADDRESS [COUNT]
 *
 * Calls DRACPROC_ADD COUNT times (default 1) for ADDRESS, ADDRESS+1, ... (the last 32 bits count
 * up). Without PORT the server is found through rpcbind, as DRAC's own client does. -s binds the
 * client to SOURCE_IP. -r retries a call answered ADD_SYSERR (the server's rate limit) until it
 * succeeds, up to 60 s. Prints "success N perm N syserr N failed N retries N" and exits 0 when
 * every call succeeded, 1 when some were answered otherwise, 2 when a call failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drac_rpc.h"

struct opts {
	const char *source, *host, *proto;
	int port, version, retry;
	long count;
	unsigned char addr[16];
};

static void usage(void)
{
	fprintf(stderr, "usage: drac_client [-s SOURCE_IP] [-r] HOST[:PORT] udp|tcp 1|2 ADDRESS [COUNT]\n");
	exit(64);
}

/* source_socket - a socket of TYPE bound to O->source (and for TCP connected to SA), or RPC_ANYSOCK. */
static int source_socket(const struct opts *o, int type, const struct sockaddr_in *sa)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd;

	if (o->source == NULL)
		return RPC_ANYSOCK;
	if (inet_pton(AF_INET, o->source, &src.sin_addr) != 1 || (fd = socket(AF_INET, type, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (type == SOCK_STREAM && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)) {
		perror("drac_client: source socket");
		exit(2);
	}
	return fd;
}

/* client - an RPC client handle for O's server, version and transport. */
static CLIENT *client(const struct opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	struct timeval wait = { 1, 0 };
	int udp = strcmp(o->proto, "udp") == 0, fd;
	CLIENT *c;

	if (o->port == 0)
		return clnt_create(o->host, DRACPROG, (unsigned long)o->version, o->proto);
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		usage();
	fd = source_socket(o, udp ? SOCK_DGRAM : SOCK_STREAM, &sa);
	if (udp)
		c = clntudp_create(&sa, DRACPROG, (unsigned long)o->version, wait, &fd);
	else
		c = clnttcp_create(&sa, DRACPROG, (unsigned long)o->version, &fd, 0, 0);
	return c;
}

/* address_n - O's address plus N in its last 32 bits, into OUT (4 or 16 bytes). */
static void address_n(const struct opts *o, long n, unsigned char out[16])
{
	size_t len = o->version == 1 ? 4 : 16;
	uint32_t last;

	memcpy(out, o->addr, 16);
	memcpy(&last, out + len - 4, 4);
	last = htonl(ntohl(last) + (uint32_t)n);
	memcpy(out + len - 4, &last, 4);
}

/* call_one - one DRACPROC_ADD; the addstat, or -1 when the call failed. */
static int call_one(CLIENT *c, const struct opts *o, const unsigned char addr[16])
{
	addstat *res;

	if (o->version == 1) {
		drac_add_parm p;
		uint32_t a;

		memcpy(&a, addr, 4);
		p.ip_addr = ntohl(a); /* as DRAC's dracauth() does: the number, in host order */
		res = dracproc_add_1(&p, c);
	} else {
		drac_add_parm6 p;

		memcpy(p.ip_addr6, addr, 16);
		res = dracproc_add6_2(&p, c);
	}
	if (res == NULL) {
		clnt_perror(c, "drac_client: call failed");
		return -1;
	}
	return (int)*res;
}

static void parse(int argc, char **argv, struct opts *o)
{
	char *colon;
	int c;

	memset(o, 0, sizeof(*o));
	o->count = 1;
	while ((c = getopt(argc, argv, "s:r")) != -1) {
		if (c == 's')
			o->source = optarg;
		else if (c == 'r')
			o->retry = 1;
		else
			usage();
	}
	if (argc - optind < 4 || argc - optind > 5)
		usage();
	o->host = argv[optind];
	if ((colon = strchr(o->host, ':')) != NULL) {
		*colon = '\0';
		o->port = atoi(colon + 1);
	}
	o->proto = argv[optind + 1];
	o->version = atoi(argv[optind + 2]);
	if ((o->version != 1 && o->version != 2) || (strcmp(o->proto, "udp") && strcmp(o->proto, "tcp")) ||
	    inet_pton(o->version == 1 ? AF_INET : AF_INET6, argv[optind + 3], o->addr) != 1)
		usage();
	if (argc - optind == 5 && (o->count = atol(argv[optind + 4])) < 1)
		usage();
}

int main(int argc, char **argv)
{
	long counts[3] = { 0, 0, 0 }, failed = 0, retries = 0;
	unsigned char addr[16];
	struct opts o;
	CLIENT *c;

	parse(argc, argv, &o);
	if ((c = client(&o)) == NULL) {
		clnt_pcreateerror("drac_client");
		return 2;
	}
	for (long i = 0; i < o.count; i++) {
		time_t give_up = time(NULL) + 60;
		int r;

		address_n(&o, i, addr);
		while ((r = call_one(c, &o, addr)) == ADD_SYSERR && o.retry && time(NULL) < give_up) {
			struct timespec pause = { 0, 5 * 1000 * 1000 };

			retries++;
			nanosleep(&pause, NULL);
		}
		if (r < 0 || r > 2)
			failed++;
		else
			counts[r]++;
	}
	clnt_destroy(c);
	printf("success %ld perm %ld syserr %ld failed %ld retries %ld\n", counts[0], counts[1], counts[2],
	       failed, retries);
	return failed > 0 ? 2 : counts[0] == o.count ? 0 : 1;
}
