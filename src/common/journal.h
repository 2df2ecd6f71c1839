/* journal.h - log lines to systemd's journal over its native protocol. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_COMMON_JOURNAL_H
#define POPGATE_COMMON_JOURNAL_H

#include <stdbool.h>

/* journal_stream_is_stderr - whether systemd connected our stderr to the journal (JOURNAL_STREAM). */
bool journal_stream_is_stderr(void);

/* journal_open - make the socket now (before a chroot or sandbox); 0 or -1. Later sends reuse it. */
int journal_open(void);

/* journal_send - one entry: MESSAGE with PRIORITY, SYSLOG_FACILITY (a LOG_* facility), the ident. 0 or -1. */
int journal_send(int priority, int facility, const char *ident, const char *message);

#endif
