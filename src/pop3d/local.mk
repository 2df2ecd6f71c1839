# SPDX-License-Identifier: GPL-2.0-or-later
# src/pop3d/local.mk - the POP3 server: mailbox drivers (mbox, Maildir) and, later, the protocol.
noinst_LIBRARIES += src/pop3d/libpop3d.a
POPGATE_LIBS += src/pop3d/libpop3d.a

# Mailbox drivers: the API in mailbox.h, the shared POP3 formatter, mbox and Maildir.
src_pop3d_libpop3d_a_SOURCES = \
	src/pop3d/mailbox.c src/pop3d/mailbox.h src/pop3d/mailbox_impl.h \
	src/pop3d/mailbox_uidl.c \
	src/pop3d/pop3fmt.c src/pop3d/pop3fmt.h \
	src/pop3d/mbox.c src/pop3d/mbox.h \
	src/pop3d/mbox_lock.c src/pop3d/mbox_lock.h \
	src/pop3d/mbox_parse.c \
	src/pop3d/mbox_index.c \
	src/pop3d/mbox_commit.c \
	src/pop3d/mbox_drop.c \
	src/pop3d/maildir.c \
	src/pop3d/maildir_sizes.c src/pop3d/maildir_sizes.h

# POP3 protocol: append its files with "src_pop3d_libpop3d_a_SOURCES += src/pop3d/pop3_x.c ...".

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

# --- POP3 protocol engine (pop3_*.c, owned by the protocol engineer; committed in dbbebdf) ---
# Please keep this section when rewriting the file: popgated does not link without it.
src_pop3d_libpop3d_a_SOURCES += \
	src/pop3d/pop3.h src/pop3d/pop3_int.h src/pop3d/pop3_limits.h \
	src/pop3d/pop3_capa.c src/pop3d/pop3_cmd.c \
	src/pop3d/pop3_postlogin.c src/pop3d/pop3_prelogin.c \
	src/pop3d/pop3_privs.c src/pop3d/pop3_sasl.c \
	src/pop3d/pop3_session.c src/pop3d/pop3_session_end.c

# Unit tests of the POP3 engine: parsers and policy; dialogues through the real session entry.
check_PROGRAMS += tests/unit/check_pop3_parse tests/unit/check_pop3_session \
	tests/unit/check_pop3_transaction
TESTS += tests/unit/check_pop3_parse tests/unit/check_pop3_session \
	tests/unit/check_pop3_transaction
tests_unit_check_pop3_parse_SOURCES = tests/unit/check_pop3_parse.c
tests_unit_check_pop3_parse_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_pop3_parse_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_pop3_parse_DEPENDENCIES = $(POPGATE_LIBS)
tests_unit_check_pop3_session_SOURCES = tests/unit/check_pop3_session.c tests/unit/pop3test.c \
	tests/unit/pop3test.h
tests_unit_check_pop3_session_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_pop3_session_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_pop3_session_DEPENDENCIES = $(POPGATE_LIBS)
tests_unit_check_pop3_transaction_SOURCES = tests/unit/check_pop3_transaction.c tests/unit/pop3test.c \
	tests/unit/pop3test.h
tests_unit_check_pop3_transaction_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_pop3_transaction_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_pop3_transaction_DEPENDENCIES = $(POPGATE_LIBS)

# Integration tests of the POP3 engine against the real popgated.
TESTS += tests/integration/test_pop3_protocol.py tests/integration/test_pop3_tls.py \
	tests/integration/test_pop3_fetchmail.py tests/integration/test_pop3_crash.py \
	tests/integration/test_pop3_system.py
EXTRA_DIST += tests/integration/test_pop3_protocol.py tests/integration/test_pop3_tls.py \
	tests/integration/test_pop3_fetchmail.py tests/integration/test_pop3_crash.py \
	tests/integration/test_pop3_system.py
# The relay authorization slides from the session's end (pop3_session_end.c).
TESTS += tests/integration/test_pop3_session_end.py
EXTRA_DIST += tests/integration/test_pop3_session_end.py
