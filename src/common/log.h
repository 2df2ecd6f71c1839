/* log.h - logging to syslog (daemon) or stderr (foreground), one line per event. */
#ifndef POPGATE_LOG_H
#define POPGATE_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* log_open - start logging as IDENT to syslog FACILITY, or to stderr when TO_STDERR. */
void log_open(const char *ident, int facility, bool to_stderr);

/* log_to_stderr - whether lines go to stderr (popgated -F) rather than syslog. */
bool log_to_stderr(void);

/* log_set_level - drop messages less severe than LEVEL (a LOG_* priority). */
void log_set_level(int level);

/* log_set_ident - rename the process in later lines (e.g. "pop3", "smtp"). */
void log_set_ident(const char *ident);

/* log_msg - one line at PRIORITY. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * log_session - one session event in a fixed, grep-friendly form:
 *   "<proto> ip=<ip> user=<user or -> <event>[: detail]"
 * e.g. "pop3 ip=192.0.2.7 user=alice login ok: mech=USER tls=yes".
 */
void log_session(int priority, const char *proto, const char *ip, const char *user,
		 const char *event, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* log_facility_from_name - LOG_MAIL etc. for a server.log_facility value; -1 if unknown. */
int log_facility_from_name(const char *name);

/* log_level_from_name - LOG_ERR etc. for a server.log_level value; -1 if unknown. */
int log_level_from_name(const char *name);

#endif
