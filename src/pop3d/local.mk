# SPDX-License-Identifier: GPL-2.0-or-later
# src/pop3d/local.mk - the POP3 protocol: commands, SASL, the session before and after login.
noinst_LIBRARIES += src/pop3d/libpop3d.a
POPGATE_LIBS += src/pop3d/libpop3d.a

src_pop3d_libpop3d_a_SOURCES = \
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
