# SPDX-License-Identifier: GPL-2.0-or-later
# src/master/local.mk - popgated: the supervisor that binds, drops privileges and runs sessions.
noinst_LIBRARIES += src/master/libmaster.a
POPGATE_LIBS += src/master/libmaster.a
src_master_libmaster_a_SOURCES = \
	src/master/admission.c \
	src/master/children.c src/master/children.h \
	src/master/control.c src/master/control.h \
	src/master/listeners.c src/master/listeners.h \
	src/master/master.c src/master/master.h src/master/master_int.h \
	src/master/master_reports.c \
	src/master/pidfile.c src/master/pidfile.h \
	src/master/pool.c src/master/pool.h \
	src/master/privdrop.c src/master/privdrop.h \
	src/master/reports.c src/master/reports.h \
	src/master/sdnotify.c src/master/sdnotify.h \
	src/master/services.c src/master/services.h \
	src/master/sessions.c \
	src/master/stress.c src/master/stress.h \
	src/master/tally.c src/master/tally.h \
	src/master/throttle.c src/master/throttle.h \
	src/master/validate.c src/master/validate.h \
	src/master/workers.c src/master/workers.h

sbin_PROGRAMS += src/popgated
src_popgated_SOURCES = src/master/main.c
src_popgated_LDADD = $(POPGATE_MAIL_LINK)
EXTRA_src_popgated_DEPENDENCIES = $(POPGATE_LIBS)

TESTS += tests/integration/test_process_reuse.py
EXTRA_DIST += tests/integration/test_process_reuse.py
