# SPDX-License-Identifier: GPL-2.0-or-later
# src/pop3d/local.mk - the POP3 protocol: commands, SASL, the session before and after login.
noinst_LIBRARIES += src/pop3d/libpop3d.a
POPGATE_LIBS += src/pop3d/libpop3d.a

src_pop3d_libpop3d_a_SOURCES = \
	src/pop3d/pop3.h src/pop3d/pop3_int.h src/pop3d/pop3_limits.h \
	src/pop3d/pop3_capa.c src/pop3d/pop3_cmd.c \
	src/pop3d/pop3_owner.c src/pop3d/pop3_owner_wire.h src/pop3d/pop3_mailbox_proc.c src/pop3d/pop3_postlogin.c src/pop3d/pop3_prelogin.c \
	src/pop3d/pop3_privs.c src/pop3d/pop3_sasl.c \
	src/pop3d/pop3_session.c src/pop3d/pop3_session_end.c

# Integration tests of the POP3 engine against the real popgated.
TESTS += tests/integration/test_pop3_protocol.py tests/integration/test_pop3_tls.py \
	tests/integration/test_pop3_fetchmail.py tests/integration/test_pop3_crash.py \
	tests/integration/test_pop3_system.py
EXTRA_DIST += tests/integration/test_pop3_protocol.py tests/integration/test_pop3_tls.py \
	tests/integration/test_pop3_fetchmail.py tests/integration/test_pop3_crash.py \
	tests/integration/test_pop3_system.py
# The relay authorization slides from the session's end (pop3_session_end.c).
TESTS += tests/integration/test_pop3_session_end.py
EXTRA_DIST += tests/integration/test_pop3_session_end.py
# The mailbox process a reused pair keeps for the next login (pop3_owner.c).
TESTS += tests/integration/test_pop3_mailbox_reuse.py
EXTRA_DIST += tests/integration/test_pop3_mailbox_reuse.py
# A logged-in session goes on without its pair (pop3_owner.c, monitor_watch.c, the master's accounting).
TESTS += tests/integration/test_pop3_passed_sessions.py
EXTRA_DIST += tests/integration/test_pop3_passed_sessions.py
# What a session no longer asks the kernel: SO_TYPE, SO_RCVTIMEO, mkdir, getsockname (strace).
TESTS += tests/integration/test_pop3_syscalls.py
EXTRA_DIST += tests/integration/test_pop3_syscalls.py
# What an idle session's three processes dirty (lineio.c, pop3_owner.c, mailbox.c).
TESTS += tests/integration/test_pop3_idle_memory.py
EXTRA_DIST += tests/integration/test_pop3_idle_memory.py
