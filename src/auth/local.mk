# SPDX-License-Identifier: GPL-2.0-or-later
# src/auth/local.mk - user databases (system, passwd file), password hashes and APOP.
noinst_LIBRARIES += src/auth/libauth.a
POPGATE_LIBS += src/auth/libauth.a
src_auth_libauth_a_SOURCES = \
	src/auth/auth.c src/auth/auth.h src/auth/auth_int.h \
	src/auth/apop.c src/auth/blocks.c src/auth/blocks.h src/auth/blocks_write.c \
	src/auth/burn.c src/auth/filedb.c src/auth/hash.c src/auth/linefile.c \
	src/auth/name.c src/auth/sha512_crypt.c src/auth/sha512_crypt.h src/auth/sysdb.c \
	src/auth/auth_wire.c src/auth/auth_wire.h src/auth/auth_client.c src/auth/auth_client.h \
	src/auth/auth_worker.c src/auth/auth_worker.h

TESTS += tests/integration/test_auth_worker.py
EXTRA_DIST += tests/integration/test_auth_worker.py
