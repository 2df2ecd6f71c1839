# SPDX-License-Identifier: GPL-2.0-or-later
# src/common/local.mk - config, logging, line I/O, TLS, networking: depends on no room above it.
noinst_LIBRARIES += src/common/libcommon.a
POPGATE_LIBS += src/common/libcommon.a
src_common_libcommon_a_SOURCES = \
	src/common/cidr.c src/common/cidr.h \
	src/common/config.c src/common/config.h src/common/config_int.h \
	src/common/config_values.c src/common/config_checks.c \
	src/common/config_keys.h src/common/config_sections.c \
	src/common/keys_server.c src/common/keys_tls.c src/common/keys_auth.c \
	src/common/keys_pop3.c src/common/keys_smtp.c src/common/keys_relay.c \
	src/common/keys_admin.c \
	src/common/fileio.c src/common/fileio.h src/common/fdpass.c src/common/fdpass.h \
	src/common/session_conn.c src/common/session_conn.h \
	src/common/session_tls.c src/common/session_tls.h \
	src/common/journal.c src/common/journal.h \
	src/common/lifeline.c src/common/lifeline.h \
	src/common/lineio.c src/common/lineio.h \
	src/common/log.c src/common/log.h \
	src/common/mailbox_spec.c src/common/mailbox_spec.h \
	src/common/net.c src/common/net.h \
	src/common/penalty.c src/common/penalty.h \
	src/common/plaintext_policy.c src/common/plaintext_policy.h \
	src/common/proxy_proto.c src/common/proxy_proto.h \
	src/common/report_budget.c src/common/report_budget.h \
	src/common/sasl.c src/common/sasl.h \
	src/common/session.c src/common/session.h src/common/session_wire.h \
	src/common/session_proxy.c \
	src/common/stats.c src/common/stats.h \
	src/common/stats_report.c src/common/stats_report.h \
	src/common/tls.c src/common/tls.h

check_PROGRAMS += tests/unit/check_config tests/unit/check_cidr tests/unit/check_stats \
	tests/unit/check_report_budget
TESTS += tests/unit/check_config tests/unit/check_cidr tests/unit/check_stats tests/unit/check_report_budget
tests_unit_check_config_SOURCES = tests/unit/check_config.c
tests_unit_check_config_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_config_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_config_DEPENDENCIES = $(POPGATE_LIBS)
tests_unit_check_cidr_SOURCES = tests/unit/check_cidr.c
tests_unit_check_cidr_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_cidr_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_cidr_DEPENDENCIES = $(POPGATE_LIBS)
check_PROGRAMS += tests/unit/check_config_lookups
TESTS += tests/unit/check_config_lookups
tests_unit_check_config_lookups_SOURCES = tests/unit/check_config_lookups.c
tests_unit_check_config_lookups_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_config_lookups_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_config_lookups_DEPENDENCIES = $(POPGATE_LIBS)
check_PROGRAMS += tests/unit/check_sasl tests/unit/check_fileio
TESTS += tests/unit/check_sasl tests/unit/check_fileio
tests_unit_check_fileio_SOURCES = tests/unit/check_fileio.c
tests_unit_check_fileio_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_fileio_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_fileio_DEPENDENCIES = $(POPGATE_LIBS)
tests_unit_check_sasl_SOURCES = tests/unit/check_sasl.c
tests_unit_check_sasl_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_sasl_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_sasl_DEPENDENCIES = $(POPGATE_LIBS)
check_PROGRAMS += tests/unit/check_log
TESTS += tests/unit/check_log
tests_unit_check_log_SOURCES = tests/unit/check_log.c
tests_unit_check_log_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_log_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_log_DEPENDENCIES = $(POPGATE_LIBS)
tests_unit_check_stats_SOURCES = tests/unit/check_stats.c
tests_unit_check_stats_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_stats_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_stats_DEPENDENCIES = $(POPGATE_LIBS)
tests_unit_check_report_budget_SOURCES = tests/unit/check_report_budget.c
tests_unit_check_report_budget_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_report_budget_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_report_budget_DEPENDENCIES = $(POPGATE_LIBS)
check_PROGRAMS += tests/unit/check_proxy_proto
TESTS += tests/unit/check_proxy_proto
tests_unit_check_proxy_proto_SOURCES = tests/unit/check_proxy_proto.c
tests_unit_check_proxy_proto_CFLAGS = $(POPGATE_TEST_CFLAGS)
tests_unit_check_proxy_proto_LDADD = $(POPGATE_TEST_LIBS)
EXTRA_tests_unit_check_proxy_proto_DEPENDENCIES = $(POPGATE_LIBS)
