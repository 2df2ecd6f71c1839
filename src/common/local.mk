# SPDX-License-Identifier: GPL-2.0-or-later
# src/common/local.mk - config, logging, line I/O, TLS, networking: depends on no room above it.
noinst_LIBRARIES += src/common/libcommon.a
POPGATE_LIBS += src/common/libcommon.a
src_common_libcommon_a_SOURCES = \
	src/common/cidr.c src/common/cidr.h \
	src/common/clock.c src/common/clock.h \
	src/common/config.c src/common/config.h src/common/config_int.h \
	src/common/config_values.c src/common/config_checks.c \
	src/common/config_keys.h src/common/config_struct.h src/common/config_sections.c \
	src/common/keys_server.c src/common/keys_tls.c src/common/keys_auth.c \
	src/common/keys_pop3.c src/common/keys_smtp.c src/common/keys_relay.c \
	src/common/keys_admin.c \
	src/common/fileio.c src/common/fileio.h src/common/ipc.c src/common/ipc.h \
	src/common/ipc_reply.c src/common/ipc_reply.h \
	src/common/session_conn.c src/common/session_conn.h \
	src/common/session_tls.c src/common/session_tls.h \
	src/common/journal.c src/common/journal.h \
	src/common/lifeline.c src/common/lifeline.h \
	src/common/lineio.c src/common/lineio.h \
	src/common/memtrim.c src/common/memtrim.h \
	src/common/log.c src/common/log.h \
	src/common/mailbox_spec.c src/common/mailbox_spec.h \
	src/common/net.c src/common/net.h \
	src/common/penalty.c src/common/penalty.h \
	src/common/plaintext_policy.c src/common/plaintext_policy.h \
	src/common/proxy_proto.c src/common/proxy_proto.h \
	src/common/report_budget.c src/common/report_budget.h \
	src/common/sasl.c src/common/sasl.h \
	src/common/session.c src/common/session.h src/common/session_wire.h \
	src/common/session_cmd.c src/common/session_cmd.h \
	src/common/session_proxy.c \
	src/common/stats.c src/common/stats.h \
	src/common/stats_report.c src/common/stats_report.h \
	src/common/tls.c src/common/tls.h

# What the one command dispatcher (session_cmd.c) answers over POP3 and SMTP, against the real popgated.
TESTS += tests/integration/test_cmd_replies.py
EXTRA_DIST += tests/integration/test_cmd_replies.py
