/* maildir_sizes.h - a cache of Maildir message sizes, so logins need not read every message. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MAILDIR_SIZES_H
#define POPGATE_MAILDIR_SIZES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox/mailbox_impl.h"

struct maildir_sizes;

/* maildir_sizes_load - MB's size cache from its index directory; empty if none (never NULL unless out of memory). */
struct maildir_sizes *maildir_sizes_load(const struct mailbox *mb);

/* maildir_sizes_get - the POP3 size cached for unique name BASE[0..BLEN) whose file has RAW bytes. */
bool maildir_sizes_get(struct maildir_sizes *c, const char *base, size_t blen, uint64_t raw, uint64_t *pop);

/* maildir_sizes_note_miss - a size had to be counted: the cache needs rewriting. */
void maildir_sizes_note_miss(struct maildir_sizes *c);

/* maildir_sizes_save - rewrite the cache from MB's messages if it changed (temp + rename). */
void maildir_sizes_save(struct maildir_sizes *c, const struct mailbox *mb);

/* maildir_sizes_free - release the cache; sets *C to NULL. */
void maildir_sizes_free(struct maildir_sizes **c);

#endif
