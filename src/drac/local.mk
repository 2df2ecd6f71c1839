# SPDX-License-Identifier: GPL-2.0-or-later
# src/drac/local.mk - the DRAC RPC server (popgate-dracd) and what popgated and popgatectl share of it.
noinst_LIBRARIES += src/drac/libdrac.a
POPGATE_LIBS += src/drac/libdrac.a
src_drac_libdrac_a_SOURCES = src/drac/drac.h src/drac/drac_listen.c src/drac/drac_allow.c

# The RPC server is its own program, exec'd by popgated's DRAC worker (see dracd_main.c): only it
# links libtirpc.
pkglibexec_PROGRAMS += src/popgate-dracd
src_popgate_dracd_SOURCES = src/drac/dracd_main.c src/drac/dracd.h src/drac/dracd_int.h \
	src/drac/dracd_add.c src/drac/dracd_serve.c
src_popgate_dracd_CFLAGS = $(AM_CFLAGS) $(TIRPC_CFLAGS)
src_popgate_dracd_LDADD = $(POPGATE_MAIL_LINK) $(TIRPC_LIBS)
EXTRA_src_popgate_dracd_DEPENDENCIES = $(POPGATE_LIBS)
