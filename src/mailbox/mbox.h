/* mbox.h - internals shared by the mbox driver's files: parser, index and commit. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MBOX_H
#define POPGATE_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mailbox/mailbox_impl.h"

struct mbox_lock;

/* Bytes from a message's From_ line hashed into from_hash and the index's spot checks. */
#define MBOX_SPOT_BYTES 256

/*
 * mbox_parse - append the messages of MAP[FROM..SIZE) to MB. FROM is 0 or the offset of a
 * From_ line. A file that does not begin with "From " is not an mbox: MAILBOX_PERM, logged.
 */
enum mailbox_status mbox_parse(struct mailbox *mb, const char *map, uint64_t from, uint64_t size);

/*
 * mbox_is_pseudo - whether message M of FD is UW-IMAP's "DON'T DELETE THIS MESSAGE -- FOLDER
 * INTERNAL DATA" (that subject and an X-IMAP header). Only a file's first message can be one.
 */
bool mbox_is_pseudo(int fd, const struct mailbox_msg *m);

/* mbox_spot_hash - checksum32 of the first MBOX_SPOT_BYTES of the span [OFF, END) of FD; 0 on error. */
uint32_t mbox_spot_hash(int fd, uint64_t off, uint64_t end, bool *ok);

/*
 * mbox_index_load - add the messages of MB's index that still describe the open file FD
 * (identity and size in ST) to MB. *RESUME gets the offset where parsing must continue and
 * *EXACT whether nothing needs parsing at all. A missing or stale index adds nothing.
 */
void mbox_index_load(struct mailbox *mb, int fd, const struct stat *st, uint64_t *resume, bool *exact);

/*
 * mbox_xuidl_take - whether an X-UIDL header carrying UIDL may be believed: the mailbox is
 * indexed for the first time (or has no index directory), or its index served UIDL and no other
 * message of this session has taken it yet (it is then taken).
 */
bool mbox_xuidl_take(struct mailbox *mb, const char *uidl);

/* mbox_untake_known - give back every UIDL taken, for a parse that starts over from the first message. */
void mbox_untake_known(struct mailbox *mb);

/* mbox_forget_known - free what mbox_index_load noted for mbox_xuidl_take (once parsing is done). */
void mbox_forget_known(struct mailbox *mb);

/* mbox_index_mark_empty - write an empty index for a missing or empty mbox that has none yet. */
void mbox_index_mark_empty(struct mailbox *mb);

/*
 * mbox_index_save - write MSGS[0..COUNT) as MB's index for the file described by ST
 * (temp file + rename, so a reader never sees half an index); COUNT may be 0 and ST NULL
 * (no file yet). 0, or -1 (logged).
 */
int mbox_index_save(const struct mailbox *mb, const struct mailbox_msg *msgs, size_t count,
		    const struct stat *st);

/* mbox_commit - the mbox driver's commit: see mbox_commit.c. */
enum mailbox_status mbox_commit(struct mailbox *mb);

/* Points in mbox_commit where the crash-safety test kills the process. */
enum mbox_commit_stage {
	MBOX_STAGE_COPY,      /* after each piece copied into the temp file */
	MBOX_STAGE_SYNCED,    /* temp file complete and fsynced, not yet renamed */
	MBOX_STAGE_RENAMED,   /* renamed over the mbox, directory not yet fsynced */
	MBOX_STAGE_DONE,      /* index written, locks about to be released */
};

/*
 * mbox_commit_set_hook - test hook called at each stage with the bytes copied so far (NULL: none);
 * PIECE, if not 0, copies in pieces that small so the hook sees many points.
 */
void mbox_commit_set_hook(void (*hook)(enum mbox_commit_stage stage, uint64_t copied), size_t piece);

/* mbox_commit_tmp_path - the temp file a commit writes beside MBOX: "DIR/.NAME.popgate-new". 0 or -1. */
int mbox_commit_tmp_path(const char *mbox, char *buf, size_t cap);

/*
 * mbox_drop_recover - with MBOX's dotlock held in LK, add the messages of qpopper's leftover drop
 * file (DIR/.NAME.pop) that MBOX lacks and remove the drop file, crash-safely (mbox_drop.c).
 * Always MAILBOX_OK: a drop file that cannot be merged now is logged and kept for a later login.
 */
void mbox_drop_recover(const char *mbox, struct mbox_lock *lk);

/* mbox_drop_path - qpopper's drop file for MBOX: "DIR/.NAME.pop". 0 or -1. */
int mbox_drop_path(const char *mbox, char *buf, size_t cap);

/* Points in mbox_drop_recover where the crash-safety test kills the process. */
enum mbox_drop_stage {
	MBOX_DROP_STAGE_COPY,     /* after each drop message written to the temp file */
	MBOX_DROP_STAGE_SYNCED,   /* temp file complete and fsynced */
	MBOX_DROP_STAGE_RENAMED,  /* renamed over the mbox */
	MBOX_DROP_STAGE_REMOVED,  /* drop file removed */
};

/* mbox_drop_set_hook - test hook called at each stage (NULL: none). */
void mbox_drop_set_hook(void (*hook)(enum mbox_drop_stage stage));

#endif
