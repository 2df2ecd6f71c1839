# SPDX-License-Identifier: GPL-2.0-or-later
# src/mailbox/local.mk - mailbox storage: mbox and Maildir drivers, their index and UIDLs, the QUIT rewrite.
noinst_LIBRARIES += src/mailbox/libmailbox.a
POPGATE_LIBS += src/mailbox/libmailbox.a

# Mailbox drivers: the API in mailbox.h, the shared POP3 formatter, mbox and Maildir.
src_mailbox_libmailbox_a_SOURCES = \
	src/mailbox/mailbox.c src/mailbox/mailbox.h src/mailbox/mailbox_impl.h \
	src/mailbox/mailbox_uidl.c \
	src/mailbox/pop3fmt.c src/mailbox/pop3fmt.h \
	src/mailbox/mbox.c src/mailbox/mbox.h \
	src/mailbox/mbox_lock.c src/mailbox/mbox_lock.h \
	src/mailbox/mbox_parse.c \
	src/mailbox/mbox_index.c \
	src/mailbox/mbox_commit.c \
	src/mailbox/mbox_drop.c \
	src/mailbox/maildir.c \
	src/mailbox/maildir_sizes.c src/mailbox/maildir_sizes.h
