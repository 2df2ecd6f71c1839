/* fuzz_spool.h - reading a whole SMTP spool back, as the next hop would. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_FUZZ_SPOOL_H
#define POPGATE_FUZZ_SPOOL_H

#include <stddef.h>

#include "smtpd/smtp_spool.h"

/*
 * fuzz_spool_read - rewind SP and read every piece into a new buffer (*TEXT, NUL-terminated,
 * free() it) of *LEN octets; checks that pieces end at line ends as smtp_spool_next promises.
 */
void fuzz_spool_read(struct smtp_spool *sp, char **text, size_t *len);

/* fuzz_check_no_bare_cr - every CR in TEXT[0..LEN) is followed by LF (the next hop's smuggling guard). */
void fuzz_check_no_bare_cr(const char *what, const char *text, size_t len);

#endif
