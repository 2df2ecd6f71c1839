# SPDX-License-Identifier: GPL-2.0-or-later
# src/smtpd/local.mk - the SMTP listener: protocol, relay policy, DATA reader and hand-off to the next hop.
noinst_LIBRARIES += src/smtpd/libsmtpd.a
POPGATE_LIBS += src/smtpd/libsmtpd.a
src_smtpd_libsmtpd_a_SOURCES = \
	src/smtpd/smtpd.h src/smtpd/smtp_limits.h \
	src/smtpd/smtp_session.c src/smtpd/smtp_session.h src/smtpd/smtp_commands.c \
	src/smtpd/smtp_auth.c src/smtpd/smtp_message.c \
	src/smtpd/smtp_addr.c src/smtpd/smtp_addr.h src/smtpd/smtp_parse.c src/smtpd/smtp_parse.h \
	src/smtpd/smtp_policy.c src/smtpd/smtp_policy.h \
	src/smtpd/smtp_spool.c src/smtpd/smtp_spool.h src/smtpd/smtp_data.c src/smtpd/smtp_data.h \
	src/smtpd/smtp_received.c src/smtpd/smtp_received.h \
	src/smtpd/smtp_forward.c src/smtpd/smtp_forward.h \
	src/smtpd/smtp_forward_sendmail.c src/smtpd/smtp_forward_smtp.c \
	src/smtpd/smtp_client.c src/smtpd/smtp_client.h \
	src/smtpd/smtp_clientinfo.c src/smtpd/smtp_clientinfo.h

# Integration tests: the real daemon on 127.0.0.1 with a sendmail stand-in and real smarthosts.
TESTS += tests/integration/test_smtp_protocol.py tests/integration/test_smtp_relay.py \
	tests/integration/test_smtp_forward.py tests/integration/test_smtp_tls.py
EXTRA_DIST += tests/integration/test_smtp_protocol.py tests/integration/test_smtp_relay.py \
	tests/integration/test_smtp_forward.py tests/integration/test_smtp_tls.py \
	tests/lib/smtp_helpers.py tests/lib/fake_sendmail.py tests/lib/smarthost.py
