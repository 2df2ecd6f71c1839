/* smtp_parse.c - syntax checks of SMTP commands and their arguments, before any handler acts. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>
#include <strings.h>

#include "smtpd/smtp_parse.h"

static bool ascii_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* literal_ok - "[...]" holding only address-literal characters; the address itself is not checked. */
static bool literal_ok(const char *arg, size_t len)
{
	if (len < 3 || arg[0] != '[' || arg[len - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		int c = (unsigned char)arg[i];

		if (!(ascii_alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == ':'))
			return false;
	}
	return true;
}

bool smtp_helo_valid(const char *arg)
{
	size_t len = strlen(arg);

	if (len == 0 || len > SMTP_HELO_MAX)
		return false;
	if (arg[0] == '[')
		return literal_ok(arg, len);
	/*
	 * Lenient about underscores and trailing dots (common in Windows and appliance host names);
	 * strict about anything that could break the Received: header we build from it.
	 */
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)arg[i];

		if (!(ascii_alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return arg[0] != '.' && arg[0] != '-' && strstr(arg, "..") == NULL;
}

/* path_after - skip "FROM:" / "TO:" (case-insensitive) and tolerate spaces before the '<'. */
static const char *path_after(const char *args, const char *word)
{
	size_t wl = strlen(word);

	if (strncasecmp(args, word, wl) != 0 || args[wl] != ':')
		return NULL;
	args += wl + 1;
	while (*args == ' ')
		args++;
	return args;
}

/* parse_size_value - 1..20 decimal digits without overflow. */
static int parse_size_value(const char *v, size_t len, uint64_t *out)
{
	uint64_t x = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* is_xdigit_upper - a hex digit as xtext writes them (RFC 3461 4: upper case). */
static bool is_xdigit_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* xtext_ok - RFC 3461 4 xtext: printable ASCII but '+' and '=', or "+XX" hex. "<>" is allowed too. */
static bool xtext_ok(const char *v, size_t len)
{
	if (len == 2 && memcmp(v, "<>", 2) == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)v[i];

		if (c == '+') {
			if (i + 2 >= len || !is_xdigit_upper(v[i + 1]) || !is_xdigit_upper(v[i + 2]))
				return false;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		}
	}
	return len > 0;
}

/* mail_param - one "KEY[=VALUE]" of MAIL FROM. */
static enum smtp_arg_error mail_param(const char *kw, size_t len, struct smtp_mail_params *mp)
{
	const char *eq = memchr(kw, '=', len);
	size_t kl = eq != NULL ? (size_t)(eq - kw) : len;
	const char *v = eq != NULL ? eq + 1 : NULL;
	size_t vl = eq != NULL ? len - kl - 1 : 0;

	if (kl == 4 && strncasecmp(kw, "SIZE", 4) == 0 && v != NULL && !mp->size_given) {
		if (parse_size_value(v, vl, &mp->size) < 0)
			return SMTP_ARG_PARAM;
		mp->size_given = true;
		return SMTP_ARG_OK;
	}
	if (kl == 4 && strncasecmp(kw, "BODY", 4) == 0 && v != NULL) {
		if (vl == 4 && strncasecmp(v, "7BIT", 4) == 0)
			mp->body_8bit = false;
		else if (vl == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
			mp->body_8bit = true;
		else
			return SMTP_ARG_PARAM;
		return SMTP_ARG_OK;
	}
	if (kl == 4 && strncasecmp(kw, "AUTH", 4) == 0 && v != NULL && xtext_ok(v, vl)) {
		mp->auth_given = true;
		return SMTP_ARG_OK;
	}
	return SMTP_ARG_PARAM;
}

enum smtp_arg_error smtp_parse_mail(const char *args, bool esmtp, struct smtp_addr *from,
				    struct smtp_mail_params *params, enum smtp_addr_error *ae)
{
	const char *p = path_after(args, "FROM");

	memset(params, 0, sizeof(*params));
	if (p == NULL || *p != '<')
		return SMTP_ARG_SYNTAX;
	if ((*ae = smtp_addr_parse(&p, from)) != SMTP_ADDR_OK)
		return SMTP_ARG_ADDRESS;
	while (*p == ' ') {
		const char *kw;
		size_t len;
		enum smtp_arg_error e;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (!esmtp)
			return SMTP_ARG_NO_PARAMS;
		kw = p;
		len = strcspn(p, " ");
		if ((e = mail_param(kw, len, params)) != SMTP_ARG_OK)
			return e;
		p += len;
	}
	return *p == '\0' ? SMTP_ARG_OK : SMTP_ARG_SYNTAX;
}

enum smtp_arg_error smtp_parse_rcpt(const char *args, struct smtp_addr *to, enum smtp_addr_error *ae)
{
	const char *p = path_after(args, "TO");

	if (p == NULL || *p != '<')
		return SMTP_ARG_SYNTAX;
	if ((*ae = smtp_addr_parse(&p, to)) != SMTP_ADDR_OK)
		return SMTP_ARG_ADDRESS;
	while (*p == ' ')
		p++;
	return *p == '\0' ? SMTP_ARG_OK : SMTP_ARG_PARAM;
}
