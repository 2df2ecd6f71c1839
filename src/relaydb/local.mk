# SPDX-License-Identifier: GPL-2.0-or-later
# src/relaydb/local.mk - the relay authorization database, its policy, sweeper and export map.
noinst_LIBRARIES += src/relaydb/librelaydb.a
POPGATE_LIBS += src/relaydb/librelaydb.a
src_relaydb_librelaydb_a_SOURCES = \
	src/relaydb/relaydb.h src/relaydb/relaydb_int.h \
	src/relaydb/env.c src/relaydb/record.c src/relaydb/relaydb.c src/relaydb/scan.c \
	src/relaydb/policy.c src/relaydb/login.c src/relaydb/export_map.c src/relaydb/map_update.c \
	src/relaydb/sweeper.c src/relaydb/drac_import.c src/relaydb/drac_import.h \
	src/relaydb/space.c src/relaydb/unrecorded.c src/relaydb/revoke.c src/relaydb/watchdog.c \
	src/relaydb/explain.c src/relaydb/explain.h \
	src/relaydb/bdb_backend.c src/relaydb/pg_int.h src/relaydb/pg_store.h src/relaydb/pg_sql.c \
	src/relaydb/pg_conn.c src/relaydb/pg_queue.c src/relaydb/pg_backend.c src/relaydb/pg_admin.c \
	src/relaydb/pg_lib.h src/relaydb/pg_lib.c \
	src/relaydb/pg_cache.h src/relaydb/pg_cache.c src/relaydb/pg_cache_sync.c
src_relaydb_librelaydb_a_SOURCES += src/relaydb/lookup.h src/relaydb/lookup_wire.h \
	src/relaydb/lookup_client.c src/relaydb/lookup_server.c \
	src/relaydb/login_channel.h src/relaydb/login_channel.c \
	src/relaydb/socketmap.h src/relaydb/socketmap.c src/relaydb/socketmap_server.c

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

# A process killed -9 while it holds a record locked (tests/integration/relaydb_holder.c holds
# it still): the lookup worker does not wait for good, and lookups come back.
check_PROGRAMS += tests/integration/relaydb_holder
tests_integration_relaydb_holder_LDADD = $(POPGATE_LINK)
TESTS += tests/integration/test_relaydb_stuck.py
EXTRA_DIST += tests/integration/test_relaydb_stuck.py

# relay.backend = postgresql against a real PostgreSQL cluster the test starts (tests/lib/pg_cluster.py).
TESTS += tests/integration/test_relay_postgresql.py
EXTRA_DIST += tests/integration/test_relay_postgresql.py tests/lib/pg_cluster.py docs/CLUSTER.md
