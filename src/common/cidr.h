/* cidr.h - IP addresses in canonical text form and CIDR network lists, IPv4 and IPv6. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CIDR_H
#define POPGATE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest canonical text form of an address, with NUL (INET6_ADDRSTRLEN). */
#define IP_TEXT_MAX 46

/* An address: IPv4 is family AF_INET with the 4 bytes in addr[0..3]. */
struct ip_addr {
	int family;
	uint8_t addr[16];
};

struct cidr {
	struct ip_addr net;
	unsigned prefix;
};

struct cidr_list {
	size_t n;
	struct cidr *v;
};

/* ip_parse - parse an IPv4 or IPv6 literal; an IPv4-mapped IPv6 address becomes IPv4. 0 or -1. */
int ip_parse(const char *text, struct ip_addr *ip);

/* ip_from_sockaddr - the peer address of a socket, IPv4-mapped IPv6 unmapped. 0 or -1. */
int ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *ip);

/* ip_format - the canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
void ip_format(const struct ip_addr *ip, char out[IP_TEXT_MAX]);

/* ip_canonical - parse TEXT and write its canonical form; 0 or -1 when it is no address. */
int ip_canonical(const char *text, char out[IP_TEXT_MAX]);

/* cidr_parse - "addr" or "addr/prefix"; host bits must be zero. 0, or -1 with a reason. */
int cidr_parse(const char *text, struct cidr *c, const char **why);

/* cidr_contains - whether IP lies within network C (families must match). */
bool cidr_contains(const struct cidr *c, const struct ip_addr *ip);

/* cidr_list_match - the first network in LIST containing IP, or NULL. */
const struct cidr *cidr_list_match(const struct cidr_list *list, const struct ip_addr *ip);

/* cidr_format - "addr/prefix" text of C. */
void cidr_format(const struct cidr *c, char out[IP_TEXT_MAX + 4]);

#endif
