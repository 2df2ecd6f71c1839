/* drac_allow.c - read rpc.dracd's dracd.allow ("netmask netaddr" lines) as popgate networks. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/cidr.h"
#include "drac/drac.h"

/* mask_prefix - the prefix length of a contiguous IPv4 netmask, or -1. */
static int mask_prefix(const struct in_addr *mask)
{
	uint32_t m = ntohl(mask->s_addr);
	int n = 0;

	while (n < 32 && (m & (0x80000000u >> n)) != 0)
		n++;
	return (n == 32 || (m << n) == 0) ? n : -1;
}

int drac_allow_line(const char *line, char *out, size_t cap, const char **why)
{
	char mask_text[64], net_text[64], extra[2];
	struct in_addr mask, net;
	const char *hash = strchr(line, '#');
	size_t len = hash != NULL ? (size_t)(hash - line) : strlen(line);
	char copy[256];
	int prefix, n;

	if (len >= sizeof(copy))
		return *why = "line too long", -1;
	memcpy(copy, line, len);
	copy[len] = '\0';
	n = sscanf(copy, "%63s %63s %1s", mask_text, net_text, extra);
	if (n <= 0)
		return 0;
	if (n != 2)
		return *why = "expected: netmask netaddr", -1;
	if (inet_pton(AF_INET, mask_text, &mask) != 1 || (prefix = mask_prefix(&mask)) < 0)
		return *why = "the netmask is not a contiguous IPv4 netmask", -1;
	if (inet_pton(AF_INET, net_text, &net) != 1)
		return *why = "the network address is not an IPv4 address", -1;
	/* rpc.dracd compares (caller & mask) == netaddr: host bits set there never matched anything. */
	if ((net.s_addr & mask.s_addr) != net.s_addr)
		return *why = "the network address has bits outside the netmask", -1;
	if ((size_t)snprintf(out, cap, "%s/%d", net_text, prefix) >= cap)
		return *why = "network too long", -1;
	return 1;
}
