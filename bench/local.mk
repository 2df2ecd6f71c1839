# SPDX-License-Identifier: GPL-2.0-or-later
# bench/local.mk - the benchmark against Dovecot and Postfix (bench/run) and its load client.
#
# The full benchmark is run by hand (bench/run, see BENCHMARKS.md), never by make check or CI.
# Its smoke mode (bench/run --quick, well under a minute) is a test, so the script cannot rot; it
# skips (77) when Dovecot or Postfix are not installed or when not run as root.

# The load client: built for make check (the smoke test drives it) and by bench/run, not by make.
# (relaydb-bench is declared in src/relaydb/local.mk.)
check_PROGRAMS += bench/pgload
bench_pgload_SOURCES = bench/pgload.c bench/pgload_conn.c bench/pgload_proto.c bench/pgload.h
bench_pgload_LDADD = $(OPENSSL_LIBS)

# What a login waits for in the relay lookup worker, with the MTA map and without (bench/run's
# mapkey workload, through bench/map_latency.py): built for make check too, as pgload is.
check_PROGRAMS += bench/login-record-bench
bench_login_record_bench_SOURCES = bench/login-record-bench.c bench/bench_time.h
bench_login_record_bench_LDADD = $(POPGATE_LINK)
EXTRA_bench_login_record_bench_DEPENDENCIES = $(POPGATE_LIBS)

# The least a request/reply over loopback costs on this machine, with and without one unix-socket
# hop (bench/run's rcpt workload shows it beside the RCPT round trip).
check_PROGRAMS += bench/loopback-floor
bench_loopback_floor_SOURCES = bench/loopback-floor.c bench/bench_time.h

TESTS += bench/run-quick.sh
# bench/run's own restart of a peer (the old server gone before the new one counts as started).
TESTS += bench/test_peers.py
EXTRA_DIST += bench/run bench/run-quick.sh bench/test_peers.py bench/benchlib.py bench/peers.py bench/workloads.py \
	bench/map_latency.py bench/drac_bench.py bench/relay_backends.py
