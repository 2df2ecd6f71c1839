/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_spool.h - one message held between the client's final dot and the next hop's answer:
 * in memory while small, in an unlinked temporary file beyond that, so nothing grows unbounded
 * in memory and nothing is left on disk if the process dies.
 */
#ifndef POPGATE_SMTP_SPOOL_H
#define POPGATE_SMTP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smtp_spool;

/* smtp_spool_new - an empty spool keeping up to MEM_MAX bytes in memory, spilling into TMPDIR. */
struct smtp_spool *smtp_spool_new(size_t mem_max, const char *tmpdir);

/* smtp_spool_free - release memory and the temporary file; sets *sp to NULL. */
void smtp_spool_free(struct smtp_spool **sp);

/* smtp_spool_reset - empty the spool for the next message. */
void smtp_spool_reset(struct smtp_spool *sp);

/* smtp_spool_write - append LEN bytes. 0, or -1 (logged) when the temporary file fails. */
int smtp_spool_write(struct smtp_spool *sp, const void *buf, size_t len);

/* smtp_spool_size - bytes written since the last reset. */
uint64_t smtp_spool_size(const struct smtp_spool *sp);

/* smtp_spool_rewind - start reading from the beginning. 0 or -1. */
int smtp_spool_rewind(struct smtp_spool *sp);

/*
 * smtp_spool_next - the next piece of the message: up to and including the next LF, or fewer
 * bytes when a line is longer than the internal buffer (*EOL then false). 1 with a piece,
 * 0 at the end, -1 on a read error. The piece stays valid until the next call.
 */
int smtp_spool_next(struct smtp_spool *sp, const char **piece, size_t *len, bool *eol);

#endif
