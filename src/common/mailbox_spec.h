/* mailbox_spec.h - the one parser of mailbox specifications, "mbox:/path" and "maildir:/path", and their templates. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MAILBOX_SPEC_H
#define POPGATE_MAILBOX_SPEC_H

#include <stddef.h>

/* The storage formats a specification can name. */
enum mailbox_format { MAILBOX_FORMAT_MBOX, MAILBOX_FORMAT_MAILDIR };

/*
 * mailbox_spec_split - the format named by SPEC's "mbox:" or "maildir:" prefix and the text after it.
 * 0, or -1 when SPEC has neither prefix.
 */
int mailbox_spec_split(const char *spec, enum mailbox_format *format, const char **path);

/* mailbox_spec_check - NULL when SPEC names a format and an absolute, clean path; else why not. */
const char *mailbox_spec_check(const char *spec);

/*
 * mailbox_spec_check_template - NULL when TEMPLATE (a spec with %u = user, %h = home, %% = %) can
 * expand to a valid spec; else why not. For auth.system_mailbox, checked when the config loads.
 */
const char *mailbox_spec_check_template(const char *tmpl);

/*
 * mailbox_spec_expand - TEMPLATE with %u = USER, %h = HOME, %% = % into OUT, which must then pass
 * mailbox_spec_check. 0, or -1 with *WHY.
 */
int mailbox_spec_expand(const char *tmpl, const char *user, const char *home, char *out, size_t cap,
			const char **why);

#endif
