# SPDX-License-Identifier: GPL-2.0-or-later
# src/relaydb/local.mk - the relay authorization database, its policy, sweeper and export map.
noinst_LIBRARIES += src/relaydb/librelaydb.a
POPGATE_LIBS += src/relaydb/librelaydb.a
src_relaydb_librelaydb_a_SOURCES = \
	src/relaydb/relaydb.h src/relaydb/relaydb_int.h \
	src/relaydb/env.c src/relaydb/record.c src/relaydb/relaydb.c src/relaydb/scan.c \
	src/relaydb/policy.c src/relaydb/login.c src/relaydb/export_map.c src/relaydb/map_update.c \
	src/relaydb/sweeper.c src/relaydb/drac_import.c src/relaydb/drac_import.h \
	src/relaydb/space.c src/relaydb/unrecorded.c src/relaydb/revoke.c \
	src/relaydb/explain.c src/relaydb/explain.h \
	src/relaydb/bdb_backend.c src/relaydb/pg_int.h src/relaydb/pg_store.h src/relaydb/pg_sql.c \
	src/relaydb/pg_conn.c src/relaydb/pg_queue.c src/relaydb/pg_backend.c src/relaydb/pg_admin.c \
	src/relaydb/pg_lib.h src/relaydb/pg_lib.c \
	src/relaydb/pg_cache.h src/relaydb/pg_cache.c src/relaydb/pg_cache_sync.c
src_relaydb_librelaydb_a_SOURCES += src/relaydb/lookup.h src/relaydb/lookup_wire.h \
	src/relaydb/lookup_client.c src/relaydb/lookup_server.c \
	src/relaydb/login_channel.h src/relaydb/login_channel.c \
	src/relaydb/socketmap.h src/relaydb/socketmap.c src/relaydb/socketmap_server.c

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

check_PROGRAMS += tests/unit/check_relaydb_space
TESTS += tests/unit/check_relaydb_space
tests_unit_check_relaydb_space_SOURCES = tests/unit/check_relaydb_space.c \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h
tests_unit_check_relaydb_space_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_relaydb_space_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_relaydb_space_DEPENDENCIES = $(POPGATE_LIBS)

# The login channel: a login sent, recorded by the worker's side, answered; the worker dying with it, malformed records.
check_PROGRAMS += tests/unit/check_login_channel
TESTS += tests/unit/check_login_channel
tests_unit_check_login_channel_SOURCES = tests/unit/check_login_channel.c \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h
tests_unit_check_login_channel_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_login_channel_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_login_channel_DEPENDENCIES = $(POPGATE_LIBS)

# The benchmark is built on request only: make bench/relaydb-bench
# Makefile.am does not declare EXTRA_PROGRAMS; this is its only user.
EXTRA_PROGRAMS = bench/relaydb-bench
bench_relaydb_bench_SOURCES = bench/relaydb-bench.c
bench_relaydb_bench_LDADD = $(POPGATE_LINK)
EXTRA_bench_relaydb_bench_DEPENDENCIES = $(POPGATE_LIBS)
CLEANFILES += bench/relaydb-bench

# popgatectl's relay commands and the MTA export map, end to end (postmap, db_dump).
TESTS += tests/integration/test_relaydb_ctl.py tests/integration/test_relaydb_export.py \
	tests/integration/test_relaydb_daemon.py tests/integration/test_socketmap.py
EXTRA_DIST += tests/integration/test_relaydb_ctl.py tests/integration/test_relaydb_export.py \
	tests/integration/test_relaydb_daemon.py tests/integration/test_socketmap.py

# The socketmap protocol: framing, requests, replies and answers from a real database.
check_PROGRAMS += tests/unit/check_socketmap
TESTS += tests/unit/check_socketmap
tests_unit_check_socketmap_SOURCES = tests/unit/check_socketmap.c \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h
tests_unit_check_socketmap_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_socketmap_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_socketmap_DEPENDENCIES = $(POPGATE_LIBS)

# relay.backend = postgresql against a real PostgreSQL cluster the test starts (tests/lib/pg_cluster.py).
TESTS += tests/integration/test_relay_postgresql.py
EXTRA_DIST += tests/integration/test_relay_postgresql.py tests/lib/pg_cluster.py docs/CLUSTER.md

# The PostgreSQL backend without a server: queue, SQL parameters, rows, the store away.
check_PROGRAMS += tests/unit/check_relaydb_pg
TESTS += tests/unit/check_relaydb_pg
tests_unit_check_relaydb_pg_SOURCES = tests/unit/check_relaydb_pg.c \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h
tests_unit_check_relaydb_pg_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_relaydb_pg_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_relaydb_pg_DEPENDENCIES = $(POPGATE_LIBS)

# The lookup worker's copy of the PostgreSQL store: answers, changed addresses, growth, the cap.
check_PROGRAMS += tests/unit/check_relaydb_pg_cache
TESTS += tests/unit/check_relaydb_pg_cache
tests_unit_check_relaydb_pg_cache_SOURCES = tests/unit/check_relaydb_pg_cache.c
tests_unit_check_relaydb_pg_cache_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_relaydb_pg_cache_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_relaydb_pg_cache_DEPENDENCIES = $(POPGATE_LIBS)
