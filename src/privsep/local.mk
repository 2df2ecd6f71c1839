# SPDX-License-Identifier: GPL-2.0-or-later
# src/privsep/local.mk - privilege separation of a session: the unprivileged protocol child asks, the monitor checks passwords and records logins.
noinst_LIBRARIES += src/privsep/libprivsep.a
POPGATE_LIBS += src/privsep/libprivsep.a
src_privsep_libprivsep_a_SOURCES = src/privsep/privsep.c src/privsep/privsep.h \
	src/privsep/privsep_int.h src/privsep/reuse.c src/privsep/member.c src/privsep/member.h \
	src/privsep/monitor_watch.c src/privsep/monitor_watch.h
