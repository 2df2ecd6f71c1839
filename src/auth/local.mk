# SPDX-License-Identifier: GPL-2.0-or-later
# src/auth/local.mk - user databases (system, passwd file), password hashes and APOP, with their tests.
noinst_LIBRARIES += src/auth/libauth.a
POPGATE_LIBS += src/auth/libauth.a
src_auth_libauth_a_SOURCES = \
	src/auth/auth.c src/auth/auth.h src/auth/auth_int.h \
	src/auth/apop.c src/auth/blocks.c src/auth/blocks.h src/auth/blocks_write.c \
	src/auth/filedb.c src/auth/hash.c src/auth/linefile.c \
	src/auth/name.c src/auth/sysdb.c \
	src/auth/auth_wire.c src/auth/auth_wire.h src/auth/auth_client.c src/auth/auth_client.h \
	src/auth/auth_worker.c src/auth/auth_worker.h

check_PROGRAMS += tests/unit/check_auth
TESTS += tests/unit/check_auth
tests_unit_check_auth_SOURCES = tests/unit/check_auth.c tests/unit/authtest.c tests/unit/authtest.h
tests_unit_check_auth_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_auth_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_auth_DEPENDENCIES = $(POPGATE_LIBS)

check_PROGRAMS += tests/unit/check_auth_system
TESTS += tests/unit/check_auth_system
tests_unit_check_auth_system_SOURCES = tests/unit/check_auth_system.c tests/unit/authtest.c \
	tests/unit/authtest.h
tests_unit_check_auth_system_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_auth_system_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_auth_system_DEPENDENCIES = $(POPGATE_LIBS)

check_PROGRAMS += tests/unit/check_auth_blocks
TESTS += tests/unit/check_auth_blocks
tests_unit_check_auth_blocks_SOURCES = tests/unit/check_auth_blocks.c tests/unit/authtest.c \
	tests/unit/authtest.h
tests_unit_check_auth_blocks_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_auth_blocks_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_auth_blocks_DEPENDENCIES = $(POPGATE_LIBS)

check_PROGRAMS += tests/unit/check_auth_wire
TESTS += tests/unit/check_auth_wire
tests_unit_check_auth_wire_SOURCES = tests/unit/check_auth_wire.c
tests_unit_check_auth_wire_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_auth_wire_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_auth_wire_DEPENDENCIES = $(POPGATE_LIBS)

TESTS += tests/integration/test_auth_worker.py
EXTRA_DIST += tests/integration/test_auth_worker.py
