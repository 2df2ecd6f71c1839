/* mbox_lock.h - the spool locks Debian's delivery agents honour: the PATH.lock dotlock and fcntl. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MBOX_LOCK_H
#define POPGATE_MBOX_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "mailbox/mailbox.h"

/* What one reader or updater of an mbox holds; zero-initialise with mbox_lock_init. */
struct mbox_lock {
	char path[4200];     /* the dotlock: "<mbox>.lock" */
	const char *mbox;    /* for log lines */
	bool dotlocked;      /* we created path and must remove it */
	int fd;              /* descriptor holding our fcntl lock, or -1 */
	int64_t touched_ms;  /* when the dotlock was last created or touched */
};

/* Dotlocks older than this are stale (liblockfile, procmail and mutt use 5 minutes). */
#define MBOX_DOTLOCK_STALE 300

/* mbox_lock_init - an empty lock for the mbox at MBOX (which must outlive L). */
void mbox_lock_init(struct mbox_lock *l, const char *mbox);

/*
 * mbox_dotlock - create MBOX.lock with O_EXCL, removing stale ones, waiting up to the lock
 * timeout (then MAILBOX_IN_USE). If the directory refuses us (EACCES), fall back to fcntl
 * alone: return MAILBOX_OK without the dotlock, logged once per process.
 */
enum mailbox_status mbox_dotlock(struct mbox_lock *l);

/* mbox_fcntl_lock - an fcntl lock of TYPE (F_RDLCK/F_WRLCK) on all of FD, waiting up to the timeout. */
enum mailbox_status mbox_fcntl_lock(struct mbox_lock *l, int fd, short type);

/* mbox_lock_touch - refresh the dotlock's mtime now and then so long work does not look stale. */
void mbox_lock_touch(struct mbox_lock *l);

/* mbox_unlock - release the fcntl lock, then the dotlock (the reverse of taking them). */
void mbox_unlock(struct mbox_lock *l);

#endif
