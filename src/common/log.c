/* log.c - syslog or stderr logging shared by every popgate process. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static struct {
	bool to_stderr;
	int level;
	int facility;
	char ident[32];
} logstate = { true, LOG_INFO, LOG_MAIL, "popgate" };

void log_open(const char *ident, int facility, bool to_stderr)
{
	logstate.to_stderr = to_stderr;
	logstate.facility = facility;
	snprintf(logstate.ident, sizeof(logstate.ident), "%s", ident);
	if (!to_stderr)
		openlog(logstate.ident, LOG_PID | LOG_NDELAY, facility);
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

static const char *priority_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: case LOG_INFO: return "info";
	default: return "debug";
	}
}

/* log_vline - format and emit one line; a line never spans more than one record. */
static void log_vline(int priority, const char *fmt, va_list ap)
{
	char line[1024];

	if (priority > logstate.level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (logstate.to_stderr)
		fprintf(stderr, "%s[%ld]: %s: %s\n", logstate.ident, (long)getpid(),
			priority_name(priority), line);
	else
		syslog(priority, "%s", line);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(priority, fmt, ap);
	va_end(ap);
}

/* clean_user - keep a client-supplied name from forging log fields. */
static void clean_user(const char *user, char *out, size_t cap)
{
	size_t i = 0;

	if (user == NULL || *user == '\0')
		user = "-";
	for (; *user != '\0' && i + 1 < cap; user++)
		out[i++] = (*user > ' ' && *user < 0x7f) ? *user : '?';
	out[i] = '\0';
}

void log_session(int priority, const char *proto, const char *ip, const char *user,
		 const char *event, const char *fmt, ...)
{
	char detail[768] = "", name[128];
	va_list ap;

	if (priority > logstate.level)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	clean_user(user, name, sizeof(name));
	log_msg(priority, "%s ip=%s user=%s %s%s%s", proto, ip != NULL ? ip : "-", name, event,
		detail[0] != '\0' ? ": " : "", detail);
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
