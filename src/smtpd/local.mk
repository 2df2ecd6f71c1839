# src/smtpd/local.mk - the SMTP listener: protocol, relay policy, DATA reader and hand-off to the next hop.
noinst_LIBRARIES += src/smtpd/libsmtpd.a
POPGATE_LIBS += src/smtpd/libsmtpd.a
src_smtpd_libsmtpd_a_SOURCES = \
	src/smtpd/smtpd.h src/smtpd/smtp_limits.h \
	src/smtpd/smtp_session.c src/smtpd/smtp_session.h src/smtpd/smtp_commands.c \
	src/smtpd/smtp_auth.c src/smtpd/smtp_message.c \
	src/smtpd/smtp_addr.c src/smtpd/smtp_addr.h src/smtpd/smtp_parse.c src/smtpd/smtp_parse.h \
	src/smtpd/smtp_b64.c src/smtpd/smtp_b64.h \
	src/smtpd/smtp_policy.c src/smtpd/smtp_policy.h \
	src/smtpd/smtp_spool.c src/smtpd/smtp_spool.h src/smtpd/smtp_data.c src/smtpd/smtp_data.h \
	src/smtpd/smtp_received.c src/smtpd/smtp_received.h \
	src/smtpd/smtp_forward.c src/smtpd/smtp_forward.h \
	src/smtpd/smtp_forward_sendmail.c src/smtpd/smtp_forward_smtp.c \
	src/smtpd/smtp_client.c src/smtpd/smtp_client.h
