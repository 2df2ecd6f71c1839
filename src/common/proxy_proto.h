/* proxy_proto.h - a strict parser of HAProxy's PROXY protocol header, versions 1 and 2. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PROXY_PROTO_H
#define POPGATE_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cidr.h"

/* The spec's bound on a version 1 line, "PROXY TCP6 <39> <39> 65535 65535\r\n". */
#define PROXY_V1_MAX 107
/* A version 2 header's fixed part: signature, version and command, family, length. */
#define PROXY_V2_FIXED 16
/*
 * What popgate takes of a version 2 header's variable part: the largest address block (216
 * bytes, AF_UNIX) plus room for TLVs. HAProxy's send-proxy-v2-ssl adds about a hundred bytes
 * (SSL version, cipher, key and signature algorithms); anything longer is no balancer of ours.
 */
#define PROXY_V2_MAX_LEN 1024
/* The most bytes a header may take. */
#define PROXY_HEADER_MAX (PROXY_V2_FIXED + PROXY_V2_MAX_LEN)

enum proxy_status {
	PROXY_DONE,  /* a whole header: its length is in *need */
	PROXY_MORE,  /* a prefix of a header: read until there are *need bytes, then ask again */
	PROXY_BAD,   /* no header, or a malformed one */
};

/* What a header says about the connection. */
struct proxy_info {
	int version;              /* 1 or 2 */
	bool local;               /* v2 LOCAL, v2 UNSPEC or v1 UNKNOWN: keep the connection's own endpoints */
	struct ip_addr src, dst;  /* the client and the address it connected to (not when local) */
	uint16_t src_port, dst_port;
	bool client_ssl;          /* v2 PP2_TYPE_SSL with PP2_CLIENT_SSL: the client spoke TLS to the balancer */
};

/*
 * proxy_parse - look at the LEN bytes read so far from a connection. PROXY_MORE asks for more
 * (never past the header's end, so that a reader taking exactly *need bytes never reads the
 * protocol after it); PROXY_DONE fills *OUT and sets *need to the header's length.
 */
enum proxy_status proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out, size_t *need);

#endif
