/* log.h - logging to syslog (daemon) or stderr (foreground), one line per event. */
#ifndef POPGATE_LOG_H
#define POPGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>
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
 * e.g. "pop3 ip=192.0.2.7 user=alice login ok: mech=USER tls=yes". PROTO, IP and USER go through
 * log_quote, so a client's name can never add a field; every client value in FMT's arguments must
 * go through LOG_Q or LOG_PATH (see popgated(8), LOG FORMAT).
 */
void log_session(int priority, const char *proto, const char *ip, const char *user,
		 const char *event, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Room for one rendered client value; longer ones are cut, marked with "...". */
#define LOG_QUOTE_MAX 512

/*
 * log_quote - VALUE as one log value that no client byte can end early or fill with fields.
 * Bare when it is printable ASCII other than space, '"', '\\' and '=' (and neither empty nor
 * "-", which means "none"); else in double quotes, with '"' and '\\' backslash-escaped and '=',
 * control, DEL and 8-bit bytes written \xHH: no client value holds a space outside quotes or any
 * '=', so every field "key=" in a line is the server's.
 * A NULL VALUE is -. Writes into BUF (CAP bytes, at least 8) and returns it.
 */
const char *log_quote(const char *value, char *buf, size_t cap);

/* log_quote_path - an address for "<%s>": nothing for the null path "", else log_quote's value. */
const char *log_quote_path(const char *addr, char *buf, size_t cap);

/* LOG_Q / LOG_PATH - the above into a buffer that lives as long as the enclosing block. */
#define LOG_Q(value) log_quote((value), (char[LOG_QUOTE_MAX]){ 0 }, LOG_QUOTE_MAX)
#define LOG_PATH(addr) log_quote_path((addr), (char[LOG_QUOTE_MAX]){ 0 }, LOG_QUOTE_MAX)

/* log_facility_from_name - LOG_MAIL etc. for a server.log_facility value; -1 if unknown. */
int log_facility_from_name(const char *name);

/* log_level_from_name - LOG_ERR etc. for a server.log_level value; -1 if unknown. */
int log_level_from_name(const char *name);

#endif
