/* fuzz_json.h - an independent RFC 8259 syntax check for what the admin API reads and writes. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_FUZZ_JSON_H
#define POPGATE_FUZZ_JSON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * fuzz_check_json - TEXT[0..LEN) is one JSON value (RFC 8259) in valid UTF-8, or the harness
 * fails. HTML_SAFE also demands no raw '<', '>' or '&' (the writer escapes them).
 */
void fuzz_check_json(const char *text, size_t len, bool html_safe);

#endif
