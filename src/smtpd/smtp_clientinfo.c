/* smtp_clientinfo.c - XFORWARD lines and sendmail -oM arguments naming the real client. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>

#include "common/cidr.h"
#include "smtpd/smtp_clientinfo.h"
#include "smtpd/smtp_limits.h"

#define UNAVAILABLE "[UNAVAILABLE]"

long smtp_xtext(const char *value, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		bool plain = *p >= '!' && *p <= '~' && *p != '+' && *p != '=';

		if (n + (plain ? 1 : 3) >= cap) {
			if (cap > 0)
				out[0] = '\0';
			return -1;
		}
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '+';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0x0f];
		}
	}
	if (n >= cap)
		return -1;
	out[n] = '\0';
	return (long)n;
}

/* attribute - "NAME=xtext(VALUE)" into OUT, [UNAVAILABLE] when VALUE is unknown or cannot fit a line alone. */
static void attribute(const char *name, const char *value, char *out, size_t cap)
{
	/* A line holds "XFORWARD " and the attribute: what is left for the encoded value. */
	char enc[SMTP_XFORWARD_LINE_MAX + 1];
	size_t room = SMTP_XFORWARD_LINE_MAX - strlen("XFORWARD ") - strlen(name) - 1;

	int n = -1;

	if (value != NULL && value[0] != '\0' && smtp_xtext(value, enc, room + 1) >= 0)
		n = snprintf(out, cap, "%s=%s", name, enc);
	if (n < 0 || (size_t)n >= cap)
		snprintf(out, cap, "%s=%s", name, UNAVAILABLE);
}

size_t smtp_xforward_commands(const struct smtp_client_info *ci, char cmds[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1])
{
	char attrs[SMTP_XFORWARD_CMDS_MAX][SMTP_XFORWARD_LINE_MAX + 1], port[16] = "";
	size_t n = 0, len = 0;

	if (ci->port > 0 && ci->port <= 65535)
		snprintf(port, sizeof(port), "%d", ci->port);
	attribute("NAME", ci->name, attrs[0], sizeof(attrs[0]));
	attribute("ADDR", ci->ip, attrs[1], sizeof(attrs[1]));
	attribute("PORT", port, attrs[2], sizeof(attrs[2]));
	attribute("PROTO", ci->helo != NULL && ci->helo[0] != '\0' ? (ci->esmtp ? "ESMTP" : "SMTP") : NULL,
		  attrs[3], sizeof(attrs[3]));
	attribute("HELO", ci->helo, attrs[4], sizeof(attrs[4]));
	attribute("IDENT", ci->ident, attrs[5], sizeof(attrs[5]));
	for (size_t i = 0; i < SMTP_XFORWARD_CMDS_MAX; i++) {
		size_t alen = strlen(attrs[i]);

		/* Start a new line when this attribute would push the current one past the limit. */
		if (n == 0 || len + 1 + alen > SMTP_XFORWARD_LINE_MAX) {
			len = (size_t)snprintf(cmds[n++], SMTP_XFORWARD_LINE_MAX + 1, "XFORWARD");
		}
		len += (size_t)snprintf(cmds[n - 1] + len, SMTP_XFORWARD_LINE_MAX + 1 - len, " %s", attrs[i]);
	}
	return n;
}

/* helo_plain - a HELO name safe on sendmail's command line and in its $s macro. */
static bool helo_plain(const char *h)
{
	size_t n = h != NULL ? strlen(h) : 0;

	if (n == 0 || n > SMTP_HELO_MAX || h[0] == '-')
		return false;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") == n;
}

void smtp_sendmail_client_args(const struct smtp_client_info *ci, struct smtp_sendmail_client_args *out)
{
	char canon[IP_TEXT_MAX];

	out->n = 0;
	if (ci->ip != NULL && ip_canonical(ci->ip, canon) == 0)
		snprintf(out->v[out->n++], sizeof(out->v[0]), "-oM{client_addr}%s", canon);
	if (ci->helo != NULL && ci->helo[0] != '\0')
		snprintf(out->v[out->n++], sizeof(out->v[0]), "-oMr%s", ci->esmtp ? "ESMTP" : "SMTP");
	if (helo_plain(ci->helo))
		snprintf(out->v[out->n++], sizeof(out->v[0]), "-oMs%s", ci->helo);
}
