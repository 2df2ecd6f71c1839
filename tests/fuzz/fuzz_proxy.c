/* fuzz_proxy.c - libFuzzer harness: the PROXY protocol header parser (v1 and v2), read as a session reads it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The input is what a balancer sent. It is fed to proxy_parse the way session_proxy.c reads a
 * connection: exactly the bytes the parser asks for, no more. Invariants: each request asks for
 * more than it has and never past PROXY_HEADER_MAX (a v1 line never past PROXY_V1_MAX); a
 * finished header is a prefix of the input whose verdict does not change when the parser sees
 * the whole input at once, or the header alone; a v1 header ends in CRLF, a v2 header's length is
 * its fixed part plus its length field; a non-LOCAL header's addresses are IPv4 or IPv6 and their
 * canonical text parses back to them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/proxy_proto.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

static void check_addr(const struct ip_addr *ip)
{
	char text[IP_TEXT_MAX];
	struct ip_addr back;

	FUZZ_CHECK(ip->family == AF_INET || ip->family == AF_INET6, "family %d", ip->family);
	ip_format(ip, text);
	FUZZ_CHECK(ip_parse(text, &back) == 0, "%s does not parse back", text);
	FUZZ_CHECK(back.family == ip->family && memcmp(back.addr, ip->addr, sizeof(back.addr)) == 0,
		   "%s parses back to another address", text);
}

/* same_info - whether two results of proxy_parse agree. */
static int same_info(const struct proxy_info *a, const struct proxy_info *b)
{
	return a->version == b->version && a->local == b->local && a->client_ssl == b->client_ssl &&
	       a->src_port == b->src_port && a->dst_port == b->dst_port &&
	       (a->local || (memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
			     memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0));
}

/* check_done - the invariants of a header found in DATA, USED bytes long. */
static void check_done(const uint8_t *data, size_t size, size_t used, const struct proxy_info *info)
{
	struct proxy_info again;
	size_t need = 0;

	FUZZ_CHECK(used > 0 && used <= size && used <= PROXY_HEADER_MAX, "used=%zu size=%zu", used, size);
	FUZZ_CHECK(info->version == 1 || info->version == 2, "used=%zu size=%zu", used, size);
	if (info->version == 1)
		FUZZ_CHECK(used <= PROXY_V1_MAX && data[used - 2] == '\r' && data[used - 1] == '\n',
			   "a v1 header of %zu bytes", used);
	else
		FUZZ_CHECK(used == PROXY_V2_FIXED + ((size_t)data[14] << 8 | data[15]), "a v2 header of %zu bytes", used);
	FUZZ_CHECK(proxy_parse(data, size, &again, &need) == PROXY_DONE && need == used,
		   "used=%zu size=%zu", used, size);
	FUZZ_CHECK(same_info(info, &again), "used=%zu size=%zu", used, size);
	FUZZ_CHECK(proxy_parse(data, used, &again, &need) == PROXY_DONE && need == used,
		   "used=%zu size=%zu", used, size);
	FUZZ_CHECK(same_info(info, &again), "used=%zu size=%zu", used, size);
	if (!info->local) {
		check_addr(&info->src);
		check_addr(&info->dst);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info info;
	size_t have = 0, need = 0;

	for (;;) {
		enum proxy_status st = proxy_parse(data, have, &info, &need);
		if (st == PROXY_DONE) {
			check_done(data, size, need, &info);
			return 0;
		}
		if (st == PROXY_BAD)
			return 0;
		FUZZ_CHECK(need > have && need <= PROXY_HEADER_MAX, "asked for %zu with %zu", need, have);
		if (have > 0 && data[0] == 'P')
			FUZZ_CHECK(need <= PROXY_V1_MAX, "a v1 line asked for %zu bytes", need);
		if (need > size)
			return 0; /* the balancer went silent: the session's deadline ends it */
		have = need;
	}
}
