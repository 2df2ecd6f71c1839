# src/relaydb/local.mk - the relay authorization database, its policy, sweeper and export map.
noinst_LIBRARIES += src/relaydb/librelaydb.a
POPGATE_LIBS += src/relaydb/librelaydb.a
src_relaydb_librelaydb_a_SOURCES = \
	src/relaydb/relaydb.h src/relaydb/relaydb_int.h \
	src/relaydb/env.c src/relaydb/record.c src/relaydb/relaydb.c src/relaydb/scan.c \
	src/relaydb/policy.c src/relaydb/login.c src/relaydb/export_map.c \
	src/relaydb/sweeper.c src/relaydb/drac_import.c

check_PROGRAMS += tests/unit/check_relaydb
TESTS += tests/unit/check_relaydb
tests_unit_check_relaydb_SOURCES = tests/unit/check_relaydb.c \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h
tests_unit_check_relaydb_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_relaydb_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_relaydb_DEPENDENCIES = $(POPGATE_LIBS)

check_PROGRAMS += tests/unit/check_relaydb_concurrency
TESTS += tests/unit/check_relaydb_concurrency
tests_unit_check_relaydb_concurrency_SOURCES = tests/unit/check_relaydb_concurrency.c \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h
tests_unit_check_relaydb_concurrency_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_relaydb_concurrency_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_relaydb_concurrency_DEPENDENCIES = $(POPGATE_LIBS)
