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

# Unit tests of the mailbox drivers.
check_PROGRAMS += tests/unit/check_pop3fmt tests/unit/check_mbox tests/unit/check_mbox_index \
	tests/unit/check_maildir tests/unit/check_mbox_crash tests/unit/check_mbox_qpopper
TESTS += tests/unit/check_pop3fmt tests/unit/check_mbox tests/unit/check_mbox_index \
	tests/unit/check_maildir tests/unit/check_mbox_crash tests/unit/check_mbox_qpopper

tests_unit_check_pop3fmt_SOURCES = tests/unit/check_pop3fmt.c
tests_unit_check_pop3fmt_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_pop3fmt_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_pop3fmt_DEPENDENCIES = $(POPGATE_LIBS)

tests_unit_check_mbox_SOURCES = tests/unit/check_mbox.c tests/unit/mbox_fixture.c \
	tests/unit/mbox_fixture.h tests/unit/mailbox_testutil.c tests/unit/mailbox_testutil.h
tests_unit_check_mbox_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_mbox_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_mbox_DEPENDENCIES = $(POPGATE_LIBS)

tests_unit_check_mbox_index_SOURCES = tests/unit/check_mbox_index.c tests/unit/mbox_fixture.c \
	tests/unit/mbox_fixture.h tests/unit/mailbox_testutil.c tests/unit/mailbox_testutil.h
tests_unit_check_mbox_index_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_mbox_index_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_mbox_index_DEPENDENCIES = $(POPGATE_LIBS)

tests_unit_check_mbox_qpopper_SOURCES = tests/unit/check_mbox_qpopper.c tests/unit/mbox_fixture.c \
	tests/unit/mbox_fixture.h tests/unit/mailbox_testutil.c tests/unit/mailbox_testutil.h
tests_unit_check_mbox_qpopper_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_mbox_qpopper_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_mbox_qpopper_DEPENDENCIES = $(POPGATE_LIBS)

tests_unit_check_maildir_SOURCES = tests/unit/check_maildir.c tests/unit/mailbox_testutil.c \
	tests/unit/mailbox_testutil.h
tests_unit_check_maildir_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_maildir_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_maildir_DEPENDENCIES = $(POPGATE_LIBS)

tests_unit_check_mbox_crash_SOURCES = tests/unit/check_mbox_crash.c tests/unit/mailbox_testutil.c \
	tests/unit/mailbox_testutil.h
tests_unit_check_mbox_crash_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_mbox_crash_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_mbox_crash_DEPENDENCIES = $(POPGATE_LIBS)
