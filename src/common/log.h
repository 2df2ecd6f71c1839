/* log.h - logging to syslog (daemon), the journal or stderr (foreground), one line per event. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_LOG_H
#define POPGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/*
 * log_open - start logging as IDENT to syslog FACILITY, or to stderr when TO_STDERR; when systemd
 * connected stderr to the journal (JOURNAL_STREAM), each line goes to the journal natively
 * instead, with its PRIORITY, SYSLOG_FACILITY=FACILITY, SYSLOG_IDENTIFIER and SYSLOG_PID.
 */
void log_open(const char *ident, int facility, bool to_stderr);

/* Room for a session id with its NUL (session_make_id writes 12 hex digits). */
#define LOG_SESSION_ID_MAX 16

/*
 * log_set_session - ID (the server's own text, e.g. hex digits) goes into every later
 * log_session line of this process as "session=ID"; NULL or "" for none. A forked process
 * inherits it, so each process serving one connection logs the same id.
 */
void log_set_session(const char *id);

/* log_get_session - the id log_set_session gave into ID ("" for none), to put it back after another's lines. */
void log_get_session(char id[LOG_SESSION_ID_MAX]);

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
 *   "<proto>[ session=<id>] ip=<ip> user=<user or -> <event>[: detail]"
 * e.g. "pop3 session=1f0c3a9e27b4 ip=192.0.2.7 user=alice login ok: mech=USER tls=yes"; the
 * session= field is there when log_set_session gave one. PROTO, IP and USER go through
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
