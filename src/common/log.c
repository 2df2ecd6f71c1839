/* log.c - syslog, journal or stderr logging shared by every popgate process. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/journal.h"
#include "common/log.h"

static struct {
	bool to_stderr;
	bool journal;      /* stderr is systemd's journal: send entries with priority and facility */
	int level;
	int facility;
	char ident[32];
	char session[LOG_SESSION_ID_MAX]; /* this process's connection, or "" */
} logstate = { true, false, LOG_INFO, LOG_MAIL, "popgate", "" };

void log_open(const char *ident, int facility, bool to_stderr)
{
	logstate.to_stderr = to_stderr;
	logstate.facility = facility;
	snprintf(logstate.ident, sizeof(logstate.ident), "%s", ident);
	/*
	 * Under systemd the stream would reach the journal as text at the unit's one priority, and
	 * rsyslog would file it under facility daemon: sent natively, each line keeps its own priority
	 * (journalctl -p err) and facility (mail.log). The socket is opened now, while this process
	 * may still reach /run; every process forked later inherits it.
	 */
	logstate.journal = to_stderr && journal_stream_is_stderr() && journal_open() == 0;
	if (!to_stderr)
		openlog(logstate.ident, LOG_PID | LOG_NDELAY, facility);
}

void log_set_session(const char *id)
{
	snprintf(logstate.session, sizeof(logstate.session), "%s", id != NULL ? id : "");
}

void log_get_session(char id[LOG_SESSION_ID_MAX])
{
	snprintf(id, LOG_SESSION_ID_MAX, "%s", logstate.session);
}

bool log_to_stderr(void)
{
	return logstate.to_stderr;
}

void log_set_level(int level)
{
	logstate.level = level;
}

void log_set_ident(const char *ident)
{
	snprintf(logstate.ident, sizeof(logstate.ident), "%s", ident);
	if (!logstate.to_stderr) {
		closelog();
		openlog(logstate.ident, LOG_PID | LOG_NDELAY, logstate.facility);
	}
}

/* The pid a stderr line shows, asked of the kernel once per process rather than once per line. */
static pid_t logged_pid;

static void forget_pid(void)
{
	logged_pid = 0;
}

/* own_pid - this process's pid; a fork's child asks again (every process is forked with fork(3)). */
static long own_pid(void)
{
	static bool watching;

	if (!watching) {
		watching = pthread_atfork(NULL, NULL, forget_pid) == 0;
		if (!watching)
			return (long)getpid();
	}
	if (logged_pid == 0)
		logged_pid = getpid();
	return (long)logged_pid;
}

static const char *priority_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: case LOG_INFO: return "info";
	default: return "debug";
	}
}

/*
 * emit - send one formatted line; a line never spans more than one record. Client values reach
 * here already escaped (log_quote); a control byte left is the server's own text, and it becomes
 * '?' rather than a space, so that not even a missed value could open a new field.
 */
static void emit(int priority, char *line)
{
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	if (logstate.journal && journal_send(priority, logstate.facility, logstate.ident, line) == 0)
		return;
	if (logstate.to_stderr)
		fprintf(stderr, "%s[%ld]: %s: %s\n", logstate.ident, own_pid(),
			priority_name(priority), line);
	else
		syslog(priority, "%s", line);
}

/* log_vline - one free-form line; in a session's processes it starts with "session=ID". */
static void log_vline(int priority, const char *fmt, va_list ap)
{
	char line[1024];
	int n = 0;

	if (priority > logstate.level)
		return;
	if (logstate.session[0] != '\0')
		n = snprintf(line, sizeof(line), "session=%s ", logstate.session);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	emit(priority, line);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(priority, fmt, ap);
	va_end(ap);
}

/*
 * plain_byte - a byte that stands for itself in a bare value: printable ASCII but space, '"', '\\'
 * and '=', so that every '=' in a line is a separator the server wrote: `grep ip=192.0.2.7` finds
 * the address's own lines, never a client's "ip=192.0.2.7@example.com".
 */
static bool plain_byte(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

/* escape_byte - C as it is written inside a quoted value (1 to 4 characters into OUT); the length. */
static size_t escape_byte(unsigned char c, char out[4])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\' || c == '"') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c >= ' ' && c < 0x7f && c != '=') {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 0xf];
	return 4;
}

/*
 * quoted - VALUE in double quotes, escaped, into BUF. A value that does not fit ends in "..."
 * inside the quotes, never in half an escape, so what is logged still parses.
 */
static const char *quoted(const char *value, char *buf, size_t cap)
{
	size_t i = 1, end = cap - 2, need = 1; /* room before the closing quote and the NUL */
	const unsigned char *v;
	char esc[4];

	for (v = (const unsigned char *)value; *v != '\0'; v++)
		need += escape_byte(*v, esc);
	buf[0] = '"';
	for (v = (const unsigned char *)value; *v != '\0'; v++) {
		size_t n = escape_byte(*v, esc);
		if (need > end && i + n + 3 > end) {
			memcpy(buf + i, "...", 3);
			i += 3;
			break;
		}
		memcpy(buf + i, esc, n);
		i += n;
	}
	buf[i++] = '"';
	buf[i] = '\0';
	return buf;
}

const char *log_quote(const char *value, char *buf, size_t cap)
{
	size_t n;

	if (value == NULL)
		value = "-";
	else if (*value == '\0' || strcmp(value, "-") == 0)
		return quoted(value, buf, cap);
	for (n = 0; value[n] != '\0'; n++)
		if (!plain_byte((unsigned char)value[n]))
			return quoted(value, buf, cap);
	if (n >= cap)
		return quoted(value, buf, cap);
	memcpy(buf, value, n + 1);
	return buf;
}

const char *log_quote_path(const char *addr, char *buf, size_t cap)
{
	if (addr != NULL && *addr == '\0') {
		buf[0] = '\0';
		return buf;
	}
	return log_quote(addr, buf, cap);
}

void log_session(int priority, const char *proto, const char *ip, const char *user,
		 const char *event, const char *fmt, ...)
{
	char detail[768] = "", line[1024];
	va_list ap;

	if (priority > logstate.level)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (ip == NULL || *ip == '\0')
		ip = "-";
	/* The id is the server's (hex), so it needs no quoting and comes before every client value. */
	snprintf(line, sizeof(line), "%s%s%s ip=%s user=%s %s%s%s", LOG_Q(proto),
		 logstate.session[0] != '\0' ? " session=" : "", logstate.session,
		 strcmp(ip, "-") == 0 ? ip : LOG_Q(ip), user == NULL || *user == '\0' ? "-" : LOG_Q(user),
		 event, detail[0] != '\0' ? ": " : "", detail);
	emit(priority, line);
}

int log_facility_from_name(const char *name)
{
	static const struct { const char *n; int f; } tab[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].n, name) == 0)
			return tab[i].f;
	return -1;
}

int log_level_from_name(const char *name)
{
	static const struct { const char *n; int l; } tab[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].n, name) == 0)
			return tab[i].l;
	return -1;
}
