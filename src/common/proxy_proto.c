/* proxy_proto.c - HAProxy's PROXY protocol header, v1 (text) and v2 (binary), parsed strictly. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/proxy_proto.h"

static const uint8_t v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char v1_sig[] = "PROXY ";

#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
#define V2_FAM_UNSPEC 0x00
#define V2_TCP4 0x11
#define V2_TCP6 0x21
#define PP2_TYPE_SSL 0x20
#define PP2_CLIENT_SSL 0x01
/* PP2_TYPE_SSL's value: client (1 byte) and verify (4 bytes), then sub-TLVs. */
#define PP2_SSL_FIXED 5

/* set_ip - *IP from a raw address of FAMILY; an IPv4-mapped IPv6 address becomes IPv4. */
static int set_ip(struct ip_addr *ip, int family, const uint8_t *raw)
{
	if (family == AF_INET) {
		memset(ip, 0, sizeof(*ip));
		ip->family = AF_INET;
		memcpy(ip->addr, raw, 4);
		return 0;
	}
	struct sockaddr_in6 sin6;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, raw, 16);
	memset(ip, 0, sizeof(*ip));
	return ip_from_sockaddr((const struct sockaddr *)&sin6, ip);
}

/* v1_port - a decimal port 0..65535 without sign or leading zero; -1 otherwise. */
static long v1_port(const char *s)
{
	long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : -1;
}

/* v1_split - cut LINE at single spaces into at most MAX fields; the count, or -1 on an empty field. */
static int v1_split(char *line, char **f, int max)
{
	int n = 0;

	for (char *p = line;; p++) {
		if (n == max)
			return -1;
		f[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p = '\0';
	}
	for (int i = 0; i < n; i++)
		if (f[i][0] == '\0')
			return -1;
	return n;
}

/* v1_line - the fields of "PROXY ..." (without CRLF, NUL-terminated) into *OUT. */
static enum proxy_status v1_line(char *line, struct proxy_info *out)
{
	char *f[6];
	int n = v1_split(line, f, 6), family;
	uint8_t raw[16];
	long sp, dp;

	if (n < 2 || strcmp(f[0], "PROXY") != 0)
		return PROXY_BAD;
	if (strcmp(f[1], "UNKNOWN") == 0) {
		out->local = true; /* the spec: whatever follows is to be ignored */
		return PROXY_DONE;
	}
	if (n != 6)
		return PROXY_BAD;
	if (strcmp(f[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return PROXY_BAD;
	if (inet_pton(family, f[2], raw) != 1 || set_ip(&out->src, family, raw) < 0 ||
	    inet_pton(family, f[3], raw) != 1 || set_ip(&out->dst, family, raw) < 0)
		return PROXY_BAD;
	if ((sp = v1_port(f[4])) < 0 || (dp = v1_port(f[5])) < 0)
		return PROXY_BAD;
	out->src_port = (uint16_t)sp;
	out->dst_port = (uint16_t)dp;
	return PROXY_DONE;
}

/* parse_v1 - a text header: printable ASCII up to CRLF, at most PROXY_V1_MAX bytes in all. */
static enum proxy_status parse_v1(const uint8_t *buf, size_t len, struct proxy_info *out, size_t *need)
{
	char line[PROXY_V1_MAX];
	size_t i;

	if (memcmp(buf, v1_sig, len < 6 ? len : 6) != 0)
		return PROXY_BAD;
	for (i = 0; i < len && buf[i] != '\r'; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return PROXY_BAD;
	if (i == len) {
		if (len >= PROXY_V1_MAX - 1)
			return PROXY_BAD; /* no room left for CRLF */
		*need = len + 1;
		return PROXY_MORE;
	}
	if (i + 1 == len) {
		*need = len + 1;
		return PROXY_MORE;
	}
	if (buf[i + 1] != '\n' || i < 6)
		return PROXY_BAD;
	memcpy(line, buf, i);
	line[i] = '\0';
	out->version = 1;
	*need = i + 2;
	return v1_line(line, out);
}

static int walk_tlvs(const uint8_t *p, size_t len, struct proxy_info *out, int depth);

/* ssl_tlv - PP2_TYPE_SSL's value: its client flags, then sub-TLVs (one level only) that must fit exactly. */
static int ssl_tlv(const uint8_t *v, size_t len, struct proxy_info *out, int depth)
{
	if (len < PP2_SSL_FIXED || depth > 0)
		return -1;
	if (v[0] & PP2_CLIENT_SSL)
		out->client_ssl = true;
	return walk_tlvs(v + PP2_SSL_FIXED, len - PP2_SSL_FIXED, out, depth + 1);
}

/* walk_tlvs - type, 16-bit length, value, back to back to the end of P; -1 when one overruns. */
static int walk_tlvs(const uint8_t *p, size_t len, struct proxy_info *out, int depth)
{
	while (len > 0) {
		if (len < 3)
			return -1;
		size_t vlen = (size_t)p[1] << 8 | p[2];
		if (vlen > len - 3)
			return -1;
		if (p[0] == PP2_TYPE_SSL && ssl_tlv(p + 3, vlen, out, depth) < 0)
			return -1;
		p += 3 + vlen;
		len -= 3 + vlen;
	}
	return 0;
}

/* v2_addresses - the address block of a PROXY command and the TLVs after it. */
static enum proxy_status v2_addresses(const uint8_t *b, size_t len, uint8_t fam, struct proxy_info *out)
{
	size_t alen = fam == V2_TCP4 ? 12 : 36, asz = fam == V2_TCP4 ? 4 : 16;
	int family = fam == V2_TCP4 ? AF_INET : AF_INET6;

	if (fam == V2_FAM_UNSPEC) {
		out->local = true; /* the spec: use the connection's own endpoints */
		return PROXY_DONE;
	}
	if ((fam != V2_TCP4 && fam != V2_TCP6) || len < alen)
		return PROXY_BAD;
	if (set_ip(&out->src, family, b) < 0 || set_ip(&out->dst, family, b + asz) < 0)
		return PROXY_BAD;
	out->src_port = (uint16_t)(b[2 * asz] << 8 | b[2 * asz + 1]);
	out->dst_port = (uint16_t)(b[2 * asz + 2] << 8 | b[2 * asz + 3]);
	return walk_tlvs(b + alen, len - alen, out, 0) < 0 ? PROXY_BAD : PROXY_DONE;
}

/* parse_v2 - the binary header: signature, version 2, LOCAL or PROXY, a bounded length. */
static enum proxy_status parse_v2(const uint8_t *buf, size_t len, struct proxy_info *out, size_t *need)
{
	if (memcmp(buf, v2_sig, len < sizeof(v2_sig) ? len : sizeof(v2_sig)) != 0)
		return PROXY_BAD;
	if (len < PROXY_V2_FIXED) {
		*need = PROXY_V2_FIXED;
		return PROXY_MORE;
	}
	uint8_t ver = buf[12] >> 4, cmd = buf[12] & 0x0f;
	size_t vlen = (size_t)buf[14] << 8 | buf[15];
	if (ver != 2 || (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY) || vlen > PROXY_V2_MAX_LEN)
		return PROXY_BAD;
	*need = PROXY_V2_FIXED + vlen;
	if (len < *need)
		return PROXY_MORE;
	out->version = 2;
	if (cmd == V2_CMD_LOCAL) {
		out->local = true; /* the balancer's own connection (a health check): nothing else counts */
		return PROXY_DONE;
	}
	return v2_addresses(buf + PROXY_V2_FIXED, vlen, buf[13], out);
}

enum proxy_status proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out, size_t *need)
{
	memset(out, 0, sizeof(*out));
	if (len == 0) {
		*need = 1;
		return PROXY_MORE;
	}
	if (buf[0] == (uint8_t)v1_sig[0])
		return parse_v1(buf, len, out, need);
	if (buf[0] == v2_sig[0])
		return parse_v2(buf, len, out, need);
	return PROXY_BAD;
}
