# SPDX-License-Identifier: GPL-2.0-or-later
# tests/unit/local.mk - the Check programs, one per module or area, and the helpers they share.
#
# A Check program is one line in UNIT_TESTS: tests/unit/NAME is built from tests/unit/NAME.c
# (automake's default source) and linked with the global LDADD (Makefile.am): the helpers below,
# every room's library and Check. `make check TESTS=tests/unit/NAME` runs one alone.

# The helpers: scratch directories, files, configs from a string, log capture (testlib), and the
# fixtures of some areas. A program links only the members it uses.
check_LIBRARIES = tests/unit/libunittest.a
tests_unit_libunittest_a_SOURCES = tests/unit/check_run.h tests/unit/testlib.c tests/unit/testlib.h \
	tests/unit/authtest.c tests/unit/authtest.h \
	tests/unit/mailbox_testutil.c tests/unit/mailbox_testutil.h \
	tests/unit/mbox_fixture.c tests/unit/mbox_fixture.h \
	tests/unit/pop3test.c tests/unit/pop3test.h \
	tests/unit/relaydb_fixture.c tests/unit/relaydb_fixture.h

UNIT_TESTS = \
	tests/unit/check_config tests/unit/check_config_lookups tests/unit/check_config_struct \
	tests/unit/check_cidr tests/unit/check_stats \
	tests/unit/check_report_budget tests/unit/check_passed_sessions \
	tests/unit/check_session_cmd \
	tests/unit/check_sasl tests/unit/check_fileio tests/unit/check_ipc tests/unit/check_ipc_calls tests/unit/check_log tests/unit/check_memtrim tests/unit/check_proxy_proto \
	tests/unit/check_auth tests/unit/check_auth_burn tests/unit/check_auth_system tests/unit/check_sha512_crypt tests/unit/check_auth_blocks tests/unit/check_auth_wire \
	tests/unit/check_relaydb tests/unit/check_relaydb_concurrency tests/unit/check_relaydb_space \
	tests/unit/check_socketmap tests/unit/check_relaydb_pg tests/unit/check_relaydb_pg_cache \
	tests/unit/check_login_channel \
	tests/unit/check_pop3fmt tests/unit/check_mbox tests/unit/check_mbox_index tests/unit/check_maildir \
	tests/unit/check_mbox_crash tests/unit/check_mbox_qpopper \
	tests/unit/check_pop3_parse tests/unit/check_pop3_session tests/unit/check_pop3_transaction \
	tests/unit/check_smtp_addr tests/unit/check_smtp_policy tests/unit/check_smtp_data \
	tests/unit/check_smtp_forward tests/unit/check_smtp_clientinfo \
	tests/unit/check_admin_json tests/unit/check_admin_session tests/unit/check_admin_users \
	tests/unit/check_admin_http
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
