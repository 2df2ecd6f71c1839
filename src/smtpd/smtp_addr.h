/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_addr.h - RFC 5321 paths: "<local@domain>", "<>" and "<postmaster>", with the address tricks
 * that must never relay (percent hack, bang paths, source routes, quoted "@", trailing dots) noted.
 */
#ifndef POPGATE_SMTP_ADDR_H
#define POPGATE_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "smtpd/smtp_limits.h"

/* What a parsed address is or holds. */
#define SMTP_ADDR_NULL 0x001          /* "<>": the null reverse-path */
#define SMTP_ADDR_POSTMASTER 0x002    /* "<postmaster>" without a domain (RFC 5321 4.5.1) */
#define SMTP_ADDR_QUOTED 0x004        /* the local part is a quoted string */
#define SMTP_ADDR_LITERAL 0x008       /* the domain is an address literal "[...]" */
#define SMTP_ADDR_SOURCE_ROUTE 0x010  /* "<@relay,@relay:user@domain>" */
#define SMTP_ADDR_PERCENT 0x020       /* "user%other@domain" */
#define SMTP_ADDR_BANG 0x040          /* "host!user@domain" */
#define SMTP_ADDR_QUOTED_AT 0x080     /* "\"user@other\"@domain" */
#define SMTP_ADDR_TRAILING_DOT 0x100  /* "user@domain." */

/* Flags that make an address a routing trick: such a recipient is never accepted. */
#define SMTP_ADDR_TRICKS (SMTP_ADDR_SOURCE_ROUTE | SMTP_ADDR_PERCENT | SMTP_ADDR_BANG | \
			  SMTP_ADDR_QUOTED_AT | SMTP_ADDR_TRAILING_DOT)

/* Why a path did not parse. */
enum smtp_addr_error {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ESYNTAX,     /* not an RFC 5321 path */
	SMTP_ADDR_ETOOLONG,    /* local part, domain or path over the RFC 5321 4.5.3.1 limits */
	SMTP_ADDR_ENODOMAIN,   /* a mailbox without a domain (other than postmaster) */
	SMTP_ADDR_E8BIT,       /* non-ASCII: SMTPUTF8 is not offered */
};

/* A parsed path. TEXT is what goes to the next hop: "local@domain", "postmaster", or "" for <>. */
struct smtp_addr {
	char local[SMTP_LOCAL_MAX + 1];     /* as written, quotes included */
	char domain[SMTP_DOMAIN_MAX + 1];   /* as written, trailing dot removed; "" when none */
	char text[SMTP_PATH_MAX + 1];
	unsigned flags;
};

/*
 * smtp_addr_parse - parse the path starting at *P ('<' expected); on success *P points just
 * past the closing '>'. Tricks are reported in a->flags, not as errors.
 */
enum smtp_addr_error smtp_addr_parse(const char **p, struct smtp_addr *a);

/* smtp_addr_error_text - a short reason for logs and replies. */
const char *smtp_addr_error_text(enum smtp_addr_error e);

/* smtp_addr_trick_text - the first trick in FLAGS as text ("percent hack", ...), or NULL. */
const char *smtp_addr_trick_text(unsigned flags);

/* smtp_domain_valid - whether TEXT[0..LEN) is a dot-separated RFC 5321 domain (no literal). */
bool smtp_domain_valid(const char *text, size_t len);

/* smtp_domain_in - whether DOMAIN equals PARENT or is a subdomain of it (case-insensitive). */
bool smtp_domain_in(const char *domain, const char *parent);

#endif
