# src/master/local.mk - popgated: the supervisor that binds, drops privileges and runs workers.
sbin_PROGRAMS += src/popgated
src_popgated_SOURCES = src/master/main.c
src_popgated_LDADD = $(POPGATE_LINK)
EXTRA_src_popgated_DEPENDENCIES = $(POPGATE_LIBS)
