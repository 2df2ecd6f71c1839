# src/ctl/local.mk - popgatectl, the administration tool.
bin_PROGRAMS += src/popgatectl
src_popgatectl_SOURCES = src/ctl/main.c src/ctl/ctl.h \
	src/ctl/ctl_relay.c src/ctl/ctl_relay.h \
	src/ctl/cmd_list.c src/ctl/cmd_relay.c src/ctl/cmd_import.c src/ctl/cmd_drac.c \
	src/ctl/cmd_passwd.c
src_popgatectl_LDADD = $(POPGATE_MAIL_LINK)
EXTRA_src_popgatectl_DEPENDENCIES = $(POPGATE_LIBS)
