/* smtp_received.c - build the trace header and the transaction id. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "smtpd/smtp_received.h"

const char *smtp_with_keyword(bool esmtp, bool tls, bool auth)
{
	if (!esmtp)
		return "SMTP";
	if (tls)
		return auth ? "ESMTPSA" : "ESMTPS";
	return auth ? "ESMTPA" : "ESMTP";
}

/* comment_safe - copy TEXT for use inside a header comment: no parentheses, escapes or controls. */
static void comment_safe(const char *text, char *out, size_t cap)
{
	size_t n = 0;

	for (; *text != '\0' && n + 1 < cap; text++) {
		unsigned char c = (unsigned char)*text;

		out[n++] = (c < 32 || c > 126 || c == '(' || c == ')' || c == '\\') ? '?' : (char)c;
	}
	out[n] = '\0';
}

/* rfc5322_date - "Sat, 22 Nov 2025 04:15:00 +0000" in the C locale's names. */
static void rfc5322_date(time_t when, char *out, size_t cap)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&when, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, cap, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}

long smtp_received_format(const struct smtp_received *r, char *out, size_t cap)
{
	char user[160], tls[160], date[64], forpart[300] = "";
	bool auth = r->auth_user != NULL && r->auth_user[0] != '\0';
	int n;

	comment_safe(auth ? r->auth_user : "", user, sizeof(user));
	comment_safe(r->tls_info != NULL ? r->tls_info : "", tls, sizeof(tls));
	rfc5322_date(r->when, date, sizeof(date));
	if (r->for_rcpt != NULL)
		snprintf(forpart, sizeof(forpart), "\r\n\tfor <%s>", r->for_rcpt);
	n = snprintf(out, cap,
		     "Received: from %s ([%s])\r\n"
		     "%s%s%s"
		     "\t(relay=%s%s%s)\r\n"
		     "\tby %s (popgate) with %s id %s%s;\r\n"
		     "\t%s\r\n",
		     r->helo, r->client_ip,
		     r->tls && tls[0] != '\0' ? "\t(using " : "", r->tls && tls[0] != '\0' ? tls : "",
		     r->tls && tls[0] != '\0' ? ")\r\n" : "",
		     r->reasons, auth ? " user=" : "", user,
		     r->hostname, smtp_with_keyword(r->esmtp, r->tls, auth), r->id, forpart, date);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

void smtp_new_id(char *out, size_t cap)
{
	unsigned char raw[6];
	size_t n = 0;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		struct timespec ts;

		/* Only for telling transactions apart in logs: a clock fallback is good enough. */
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)((unsigned long)ts.tv_nsec >> (i * 5) ^ (unsigned long)ts.tv_sec >> i);
	}
	for (size_t i = 0; i < sizeof(raw) && n + 2 < cap; i++, n += 2)
		snprintf(out + n, cap - n, "%02X", raw[i]);
	out[n < cap ? n : cap - 1] = '\0';
}
