/* cidr.c - IP address canonicalisation and CIDR matching for relay lists and client limits. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* unmap - turn ::ffff:a.b.c.d into plain IPv4 so both spellings are one key. */
static void unmap(struct ip_addr *ip)
{
	if (ip->family == AF_INET6 && memcmp(ip->addr, v4mapped_prefix, 12) == 0) {
		memmove(ip->addr, ip->addr + 12, 4);
		memset(ip->addr + 4, 0, 12);
		ip->family = AF_INET;
	}
}

int ip_parse(const char *text, struct ip_addr *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, text, ip->addr) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip->addr) == 1) {
		ip->family = AF_INET6;
		unmap(ip);
		return 0;
	}
	return -1;
}

int ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		ip->family = AF_INET;
		memcpy(ip->addr, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		ip->family = AF_INET6;
		memcpy(ip->addr, &sin6->sin6_addr, 16);
		unmap(ip);
		return 0;
	}
	return -1;
}

void ip_format(const struct ip_addr *ip, char out[IP_TEXT_MAX])
{
	/* glibc's inet_ntop already writes RFC 5952 form (lower case, longest zero run compressed). */
	if (inet_ntop(ip->family, ip->addr, out, IP_TEXT_MAX) == NULL)
		snprintf(out, IP_TEXT_MAX, "?");
}

int ip_canonical(const char *text, char out[IP_TEXT_MAX])
{
	struct ip_addr ip;

	if (ip_parse(text, &ip) < 0)
		return -1;
	ip_format(&ip, out);
	return 0;
}

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* host_bits_zero - whether every bit of ADDR after PREFIX is clear. */
static bool host_bits_zero(const struct ip_addr *a, unsigned prefix)
{
	unsigned bits = family_bits(a->family);

	for (unsigned i = prefix; i < bits; i++)
		if (a->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

int cidr_parse(const char *text, struct cidr *c, const char **why)
{
	char buf[IP_TEXT_MAX + 8];
	char *slash, *end;
	size_t len = strlen(text);

	memset(c, 0, sizeof(*c));
	if (len == 0 || len >= sizeof(buf)) {
		*why = "not a network address";
		return -1;
	}
	memcpy(buf, text, len + 1);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (ip_parse(buf, &c->net) < 0) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	/* An IPv4-mapped network ::ffff:a.b.c.d/n was unmapped: shift its prefix accordingly. */
	bool was_mapped = c->net.family == AF_INET && strchr(buf, ':') != NULL;
	c->prefix = family_bits(c->net.family);
	if (slash != NULL) {
		long p = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || p < 0) {
			*why = "bad prefix length";
			return -1;
		}
		if (was_mapped)
			p -= 96;
		if (p < 0 || (unsigned long)p > family_bits(c->net.family)) {
			*why = "prefix length out of range";
			return -1;
		}
		c->prefix = (unsigned)p;
	}
	if (!host_bits_zero(&c->net, c->prefix)) {
		*why = "host bits set beyond the prefix length";
		return -1;
	}
	return 0;
}

bool cidr_contains(const struct cidr *c, const struct ip_addr *ip)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->net.family != ip->family)
		return false;
	if (memcmp(c->net.addr, ip->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->net.addr[full] & mask) == (ip->addr[full] & mask);
}

const struct cidr *cidr_list_match(const struct cidr_list *list, const struct ip_addr *ip)
{
	for (size_t i = 0; list != NULL && i < list->n; i++)
		if (cidr_contains(&list->v[i], ip))
			return &list->v[i];
	return NULL;
}

void cidr_format(const struct cidr *c, char out[IP_TEXT_MAX + 4])
{
	char ip[IP_TEXT_MAX];

	ip_format(&c->net, ip);
	snprintf(out, IP_TEXT_MAX + 4, "%s/%u", ip, c->prefix);
}
