/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_data.h - read the message after DATA's 354: CRLF-only lines, dot-unstuffed, size-bounded,
 * into a spool. The one terminator is CRLF "." CRLF; bare LF and bare CR poison the message so
 * that no other reading of its end (SMTP smuggling) can reach the next hop.
 */
#ifndef POPGATE_SMTP_DATA_H
#define POPGATE_SMTP_DATA_H

#include <stdint.h>
#include <time.h>

#include "common/lineio.h"
#include "smtpd/smtp_spool.h"

enum smtp_data_result {
	SMTP_DATA_OK,          /* the message is in the spool */
	SMTP_DATA_TOO_BIG,     /* over the size limit; read to its end and dropped (552) */
	SMTP_DATA_BARE_EOL,    /* a bare LF or CR; read to the real end and dropped (554) */
	SMTP_DATA_BARE_DOT,    /* a lone dot after a bare or unknown line end: refused, and the session must end */
	SMTP_DATA_LONG_LINE,   /* a line over SMTP_TEXT_LINE_MAX; read to its end and dropped (554) */
	SMTP_DATA_SPOOL_ERROR, /* our temporary storage failed; read to its end (451) */
	SMTP_DATA_TIMEOUT,     /* the client stalled: end the session (421) */
	SMTP_DATA_EOF,         /* the client went away */
	SMTP_DATA_IO_ERROR,    /* the connection broke */
};

/*
 * smtp_data_read - read message lines from LIO until CRLF.CRLF and append them, unstuffed and
 * CRLF-terminated, to SP. Only CRLF "." CRLF ends it; a lone dot with a bare line end ends the
 * session instead (SMTP_DATA_BARE_DOT), since what follows it could be read two ways. MAX_SIZE bounds the message text (not counting what SP held before).
 * *RECEIVED gets the octets the message had, also when it was dropped.
 */
enum smtp_data_result smtp_data_read(struct lio *lio, struct smtp_spool *sp, uint64_t max_size,
				     uint64_t *received);

/* How long each message line may take, beyond the lio's own per-wait timeout and deadline. */
struct smtp_data_pace {
	int line_timeout;   /* seconds from starting to read a line to its end; 0: no such limit */
	time_t deadline;    /* the session's deadline (CLOCK_MONOTONIC), restored on return; 0: none */
};

/*
 * smtp_data_read_paced - smtp_data_read, each line within PACE's line_timeout (a DATA begun under
 * stress: a client trickling bytes cannot hold its slot). A line over it ends the read with
 * SMTP_DATA_TIMEOUT. PACE NULL is smtp_data_read.
 */
enum smtp_data_result smtp_data_read_paced(struct lio *lio, struct smtp_spool *sp, uint64_t max_size,
					   uint64_t *received, const struct smtp_data_pace *pace);

/* smtp_data_result_text - a short description for the log. */
const char *smtp_data_result_text(enum smtp_data_result r);

#endif
