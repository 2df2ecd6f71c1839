/* pop3fmt.h - formatting message bytes for POP3 (CRLF, dot-stuffing, TOP) and sizing them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_POP3FMT_H
#define POPGATE_POP3FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The rules, shared by every mailbox driver so that LIST sizes and RETR output agree:
 *  - a LF not preceded by CR becomes CRLF; an existing CRLF is kept; a lone CR is kept;
 *  - a line starting with "." gets another "." (RFC 1939 byte-stuffing);
 *  - a last line without LF gets one: "\r\n", or just "\n" when it ends in CR.
 * The size (LIST, STAT) counts the line-end changes but not the stuffed dots.
 */

/* Output bytes pop3fmt_run may produce from N input bytes (each byte grows to at most 2). */
#define POP3FMT_OUT_MAX(n) (2 * (n))

/* Streaming formatter state; chunks may split lines anywhere. */
struct pop3fmt {
	bool bol;          /* the next byte starts a line */
	bool cr;           /* the last byte seen was CR */
	size_t linelen;    /* bytes of the current line so far (saturates at 2) */
	bool in_body;      /* the blank line after the headers has been passed */
	long lines_left;   /* TOP: body lines still to send; < 0 means no limit */
	bool done;         /* TOP limit reached: nothing more will be produced */
};

/* pop3fmt_init - start a message; BODY_LINES < 0 for the whole message, else TOP's limit. */
void pop3fmt_init(struct pop3fmt *f, long body_lines);

/*
 * pop3fmt_run - format IN[0..LEN) into OUT, which has room for POP3FMT_OUT_MAX(LEN) bytes.
 * Returns the bytes written; *USED gets the input consumed (less than LEN only once F->done).
 */
size_t pop3fmt_run(struct pop3fmt *f, const char *in, size_t len, char *out, size_t *used);

/* pop3fmt_finish - the missing line end of the last line into OUT (room for 2); returns 0..2. */
size_t pop3fmt_finish(struct pop3fmt *f, char *out);

/* Streaming size counter, for messages read in chunks. */
struct pop3size {
	uint64_t octets;   /* formatted octets so far, without the final line end */
	bool any;          /* at least one byte seen */
	bool cr;           /* the last byte seen was CR */
	bool lf;           /* the last byte seen was LF */
};

/* pop3size_init - start counting a message. */
void pop3size_init(struct pop3size *s);

/* pop3size_add - count the next LEN bytes of the message. */
void pop3size_add(struct pop3size *s, const char *buf, size_t len);

/* pop3size_result - the message's POP3 size, final line end included. */
uint64_t pop3size_result(const struct pop3size *s);

/* pop3fmt_size - the POP3 size of a whole message held in memory. */
uint64_t pop3fmt_size(const char *msg, size_t len);

#endif
