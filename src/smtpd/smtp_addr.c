/* smtp_addr.c - parse RFC 5321 paths strictly and flag the address tricks that must not relay. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cidr.h"
#include "smtpd/smtp_addr.h"

/* Parse state: the cursor and the address being filled. */
struct addr_parse {
	const char *p;
	struct smtp_addr *a;
};

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* is_atext - RFC 5322 atext, ASCII only (no locale-dependent ctype). */
static bool is_atext(int c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* is_qtext - RFC 5321 qtextSMTP: printable ASCII but '"' and '\\'. */
static bool is_qtext(int c)
{
	return c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126);
}

/* note_local_char - record the routing characters a local part holds. */
static void note_local_char(struct smtp_addr *a, int c, bool quoted)
{
	if (c == '%')
		a->flags |= SMTP_ADDR_PERCENT;
	else if (c == '!')
		a->flags |= SMTP_ADDR_BANG;
	else if (c == '@' && quoted)
		a->flags |= SMTP_ADDR_QUOTED_AT;
}

/* parse_quoted_local - a Quoted-string local part, copied with its quotes. */
static enum smtp_addr_error parse_quoted_local(struct addr_parse *st)
{
	const char *p = st->p + 1;
	size_t n = 0;

	st->a->flags |= SMTP_ADDR_QUOTED;
	st->a->local[n++] = '"';
	for (;;) {
		int c = (unsigned char)*p;

		if (c == '"')
			break;
		if (c == '\\') {
			int q = (unsigned char)p[1];

			if (q < 32 || q > 126)
				return SMTP_ADDR_ESYNTAX;
			if (n + 2 > SMTP_LOCAL_MAX)
				return SMTP_ADDR_ETOOLONG;
			st->a->local[n++] = '\\';
			st->a->local[n++] = (char)q;
			note_local_char(st->a, q, true);
			p += 2;
			continue;
		}
		if (!is_qtext(c))
			return SMTP_ADDR_ESYNTAX;
		if (n + 1 > SMTP_LOCAL_MAX)
			return SMTP_ADDR_ETOOLONG;
		st->a->local[n++] = (char)c;
		note_local_char(st->a, c, true);
		p++;
	}
	if (n + 1 > SMTP_LOCAL_MAX)
		return SMTP_ADDR_ETOOLONG;
	st->a->local[n++] = '"';
	st->a->local[n] = '\0';
	if (n == 2)
		return SMTP_ADDR_ESYNTAX; /* "" names nobody */
	st->p = p + 1;
	return SMTP_ADDR_OK;
}

/* parse_dot_local - a Dot-string local part: atoms joined by single dots. */
static enum smtp_addr_error parse_dot_local(struct addr_parse *st)
{
	const char *p = st->p;
	size_t n = 0;

	for (;;) {
		if (!is_atext((unsigned char)*p))
			return SMTP_ADDR_ESYNTAX;
		while (is_atext((unsigned char)*p)) {
			if (n + 1 > SMTP_LOCAL_MAX)
				return SMTP_ADDR_ETOOLONG;
			note_local_char(st->a, (unsigned char)*p, false);
			st->a->local[n++] = *p++;
		}
		if (*p != '.')
			break;
		if (n + 1 > SMTP_LOCAL_MAX)
			return SMTP_ADDR_ETOOLONG;
		st->a->local[n++] = *p++;
	}
	st->a->local[n] = '\0';
	st->p = p;
	return SMTP_ADDR_OK;
}

/* label_len - length of the RFC 5321 sub-domain (Let-dig [Ldh-str]) at P, 0 if none. */
static size_t label_len(const char *p, size_t avail)
{
	size_t n = 0;

	while (n < avail && (is_alpha((unsigned char)p[n]) || is_digit((unsigned char)p[n]) || p[n] == '-'))
		n++;
	if (n == 0 || p[0] == '-' || p[n - 1] == '-')
		return 0;
	return n;
}

/* domain_span - length of the dotted domain at P (without a trailing dot), 0 if none. */
static size_t domain_span(const char *p, size_t avail)
{
	size_t n = 0;

	for (;;) {
		size_t l = label_len(p + n, avail - n);

		if (l == 0 || l > 63)
			return 0;
		n += l;
		if (n + 1 < avail && p[n] == '.' && label_len(p + n + 1, avail - n - 1) > 0)
			n++;
		else
			return n;
	}
}

bool smtp_domain_valid(const char *text, size_t len)
{
	return len > 0 && len <= SMTP_DOMAIN_MAX && domain_span(text, len) == len;
}

/* literal_valid - the inside of "[...]": an IPv4 dotted quad or "IPv6:" and an IPv6 address. */
static bool literal_valid(const char *in, size_t len)
{
	char buf[IP_TEXT_MAX + 8];
	struct ip_addr ip;
	bool v6 = len > 5 && strncasecmp(in, "IPv6:", 5) == 0;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, in, len);
	buf[len] = '\0';
	if (v6)
		return ip_parse(buf + 5, &ip) == 0 && strchr(buf + 5, ':') != NULL;
	for (size_t i = 0; i < len; i++)
		if (!is_digit((unsigned char)buf[i]) && buf[i] != '.')
			return false;
	return ip_parse(buf, &ip) == 0 && ip.family == AF_INET;
}

/* parse_domain - a domain or address literal at st->p into OUT (cap SMTP_DOMAIN_MAX + 1). */
static enum smtp_addr_error parse_domain(struct addr_parse *st, char *out, bool allow_trailing_dot)
{
	const char *p = st->p;
	size_t n;

	if (*p == '[') {
		const char *end = strchr(p, ']');

		if (end == NULL || !literal_valid(p + 1, (size_t)(end - p - 1)))
			return SMTP_ADDR_ESYNTAX;
		n = (size_t)(end - p) + 1;
		st->a->flags |= SMTP_ADDR_LITERAL;
	} else {
		n = domain_span(p, strlen(p));
		if (n == 0)
			return SMTP_ADDR_ESYNTAX;
	}
	if (n > SMTP_DOMAIN_MAX)
		return SMTP_ADDR_ETOOLONG;
	memcpy(out, p, n);
	out[n] = '\0';
	st->p = p + n;
	if (allow_trailing_dot && *st->p == '.' && out[0] != '[') {
		st->a->flags |= SMTP_ADDR_TRAILING_DOT;
		st->p++;
	}
	return SMTP_ADDR_OK;
}

/* parse_source_route - the obsolete A-d-l "@one,@two:" (RFC 5321 4.1.2), parsed only to flag it. */
static enum smtp_addr_error parse_source_route(struct addr_parse *st)
{
	char scratch[SMTP_DOMAIN_MAX + 1];
	unsigned keep = st->a->flags;

	for (;;) {
		enum smtp_addr_error e;

		if (*st->p != '@')
			return SMTP_ADDR_ESYNTAX;
		st->p++;
		if ((e = parse_domain(st, scratch, false)) != SMTP_ADDR_OK)
			return e;
		if (*st->p == ':')
			break;
		if (*st->p != ',')
			return SMTP_ADDR_ESYNTAX;
		st->p++;
	}
	st->p++;
	st->a->flags = keep | SMTP_ADDR_SOURCE_ROUTE; /* a literal in the route says nothing of the mailbox */
	return SMTP_ADDR_OK;
}

/* parse_mailbox - Local-part "@" Domain, or the bare "postmaster". */
static enum smtp_addr_error parse_mailbox(struct addr_parse *st)
{
	enum smtp_addr_error e;
	struct smtp_addr *a = st->a;

	e = *st->p == '"' ? parse_quoted_local(st) : parse_dot_local(st);
	if (e != SMTP_ADDR_OK)
		return e;
	if (*st->p != '@') {
		if (*st->p == '>' && !(a->flags & SMTP_ADDR_QUOTED) && strcasecmp(a->local, "postmaster") == 0) {
			a->flags |= SMTP_ADDR_POSTMASTER;
			return SMTP_ADDR_OK;
		}
		return *st->p == '>' ? SMTP_ADDR_ENODOMAIN : SMTP_ADDR_ESYNTAX;
	}
	st->p++;
	return parse_domain(st, a->domain, true);
}

enum smtp_addr_error smtp_addr_parse(const char **pp, struct smtp_addr *a)
{
	struct addr_parse st = { *pp, a };
	enum smtp_addr_error e;
	int n;

	memset(a, 0, sizeof(*a));
	for (const unsigned char *q = (const unsigned char *)*pp; *q != '\0'; q++)
		if (*q >= 0x80)
			return SMTP_ADDR_E8BIT;
	if (*st.p++ != '<')
		return SMTP_ADDR_ESYNTAX;
	if (*st.p == '>') {
		a->flags |= SMTP_ADDR_NULL;
		*pp = st.p + 1;
		return SMTP_ADDR_OK;
	}
	if (*st.p == '@' && (e = parse_source_route(&st)) != SMTP_ADDR_OK)
		return e;
	if ((e = parse_mailbox(&st)) != SMTP_ADDR_OK)
		return e;
	if (*st.p != '>')
		return SMTP_ADDR_ESYNTAX;
	if (a->flags & SMTP_ADDR_POSTMASTER)
		n = snprintf(a->text, sizeof(a->text), "%s", a->local);
	else
		n = snprintf(a->text, sizeof(a->text), "%s@%s", a->local, a->domain);
	if (n < 0 || (size_t)n + 2 > SMTP_PATH_MAX) /* the path counts its angle brackets */
		return SMTP_ADDR_ETOOLONG;
	*pp = st.p + 1;
	return SMTP_ADDR_OK;
}

const char *smtp_addr_error_text(enum smtp_addr_error e)
{
	switch (e) {
	case SMTP_ADDR_OK: return "ok";
	case SMTP_ADDR_ESYNTAX: return "syntax error in address";
	case SMTP_ADDR_ETOOLONG: return "address too long";
	case SMTP_ADDR_ENODOMAIN: return "address has no domain";
	case SMTP_ADDR_E8BIT: return "non-ASCII address (SMTPUTF8 is not offered)";
	}
	return "bad address";
}

const char *smtp_addr_trick_text(unsigned flags)
{
	if (flags & SMTP_ADDR_SOURCE_ROUTE)
		return "source route";
	if (flags & SMTP_ADDR_QUOTED_AT)
		return "quoted local part holding @";
	if (flags & SMTP_ADDR_PERCENT)
		return "percent hack";
	if (flags & SMTP_ADDR_BANG)
		return "bang path";
	if (flags & SMTP_ADDR_TRAILING_DOT)
		return "trailing dot";
	return NULL;
}

bool smtp_domain_in(const char *domain, const char *parent)
{
	size_t dl, pl;

	while (*parent == '.')
		parent++;
	dl = strlen(domain);
	pl = strlen(parent);
	while (pl > 0 && parent[pl - 1] == '.')
		pl--;
	if (pl == 0 || dl < pl)
		return false;
	if (strncasecmp(domain + dl - pl, parent, pl) != 0)
		return false;
	return dl == pl || domain[dl - pl - 1] == '.';
}
