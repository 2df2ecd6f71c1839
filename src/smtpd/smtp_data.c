/* smtp_data.c - the DATA phase reader: strict line ends, dot-unstuffing, limits, spooling. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "smtpd/smtp_data.h"
#include "smtpd/smtp_limits.h"

/* Reader state across lines. */
struct data_state {
	enum smtp_data_result verdict; /* the first problem seen; OK while none */
	uint64_t size;
	bool prev_crlf;                /* the previous line ended with CRLF */
};

/* note - keep the first problem: it is what the client is told. */
static void note(struct data_state *ds, enum smtp_data_result r)
{
	if (ds->verdict == SMTP_DATA_OK)
		ds->verdict = r;
}

/* take_line - account for one line and spool it while the message is still acceptable. */
static void take_line(struct data_state *ds, struct smtp_spool *sp, uint64_t max_size,
		      const char *line, size_t len)
{
	if (line[0] == '.') { /* RFC 5321 4.5.2: the client doubled a leading dot */
		line++;
		len--;
	}
	ds->size += len + 2;
	if (ds->size > max_size)
		note(ds, SMTP_DATA_TOO_BIG);
	if (ds->verdict != SMTP_DATA_OK)
		return;
	if (smtp_spool_write(sp, line, len) < 0 || smtp_spool_write(sp, "\r\n", 2) < 0)
		note(ds, SMTP_DATA_SPOOL_ERROR);
}

/* line_deadline - before each line: its own deadline, or the session's if that comes first. */
static void line_deadline(struct lio *lio, const struct smtp_data_pace *pace)
{
	if (pace == NULL || pace->line_timeout <= 0)
		return;
	time_t end = lio_now() + pace->line_timeout;
	lio_set_deadline(lio, pace->deadline > 0 && pace->deadline < end ? pace->deadline : end);
}

/* read_message - the reader's loop; the caller restores the session's deadline. */
static enum smtp_data_result read_message(struct lio *lio, struct smtp_spool *sp, uint64_t max_size,
					  uint64_t *received, const struct smtp_data_pace *pace)
{
	char line[SMTP_TEXT_LINE_MAX - 1]; /* 998 octets of text and the NUL */
	struct data_state ds = { SMTP_DATA_OK, 0, true };

	for (;;) {
		size_t len = 0;
		unsigned flags = 0;

		line_deadline(lio, pace);
		enum lio_status st = lio_read_line(lio, line, sizeof(line), &len, &flags);

		*received = ds.size;
		switch (st) {
		case LIO_OK:
			break;
		case LIO_TOOLONG:
			note(&ds, SMTP_DATA_LONG_LINE);
			ds.prev_crlf = !(flags & LIO_LINE_BARE_LF); /* a CRLF "." CRLF still ends the message */
			continue;
		case LIO_TIMEOUT:
			return SMTP_DATA_TIMEOUT;
		case LIO_EOF:
			return SMTP_DATA_EOF;
		case LIO_ERROR:
			return SMTP_DATA_IO_ERROR;
		}
		if (flags & (LIO_LINE_BARE_LF | LIO_LINE_BARE_CR))
			note(&ds, SMTP_DATA_BARE_EOL);
		if (len == 1 && line[0] == '.') {
			if (flags == 0 && ds.prev_crlf)
				return ds.verdict; /* CRLF "." CRLF: the one end of a message */
			/*
			 * A dot that only a lax reader takes for the end. Going on as if it were would
			 * run what follows as commands with this client's authority (smuggling through
			 * us); reading on might wait for a terminator that never comes. The session ends.
			 */
			return SMTP_DATA_BARE_DOT;
		}
		if (flags != 0) {
			ds.prev_crlf = !(flags & LIO_LINE_BARE_LF);
			continue;
		}
		ds.prev_crlf = true;
		take_line(&ds, sp, max_size, line, len);
	}
}

enum smtp_data_result smtp_data_read_paced(struct lio *lio, struct smtp_spool *sp, uint64_t max_size,
					   uint64_t *received, const struct smtp_data_pace *pace)
{
	enum smtp_data_result r = read_message(lio, sp, max_size, received, pace);

	if (pace != NULL && pace->line_timeout > 0)
		lio_set_deadline(lio, pace->deadline);
	return r;
}

enum smtp_data_result smtp_data_read(struct lio *lio, struct smtp_spool *sp, uint64_t max_size,
				     uint64_t *received)
{
	return smtp_data_read_paced(lio, sp, max_size, received, NULL);
}

const char *smtp_data_result_text(enum smtp_data_result r)
{
	switch (r) {
	case SMTP_DATA_OK: return "ok";
	case SMTP_DATA_TOO_BIG: return "message too big";
	case SMTP_DATA_BARE_EOL: return "bare LF or CR in message data";
	case SMTP_DATA_BARE_DOT: return "ambiguous end of data (a dot after a bare or unknown line end)";
	case SMTP_DATA_LONG_LINE: return "line longer than 998 octets";
	case SMTP_DATA_SPOOL_ERROR: return "spool error";
	case SMTP_DATA_TIMEOUT: return "timeout";
	case SMTP_DATA_EOF: return "connection closed";
	case SMTP_DATA_IO_ERROR: return "connection error";
	}
	return "unknown";
}
