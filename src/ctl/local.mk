# SPDX-License-Identifier: GPL-2.0-or-later
# src/ctl/local.mk - popgatectl, the administration tool.
# An administrator's command: section 8, so it goes where sbin commands go.
sbin_PROGRAMS += src/popgatectl
src_popgatectl_SOURCES = src/ctl/main.c src/ctl/ctl.h \
	src/ctl/ctl_relay.c src/ctl/ctl_relay.h \
	src/ctl/cmd_list.c src/ctl/cmd_relay.c src/ctl/cmd_import.c src/ctl/cmd_popauth.c \
	src/ctl/cmd_block.c src/ctl/cmd_lockouts.c src/ctl/cmd_drac.c \
	src/ctl/cmd_passwd.c src/ctl/cmd_db.c src/ctl/cmd_import_relay.c
src_popgatectl_LDADD = $(POPGATE_MAIL_LINK)
EXTRA_src_popgatectl_DEPENDENCIES = $(POPGATE_LIBS)

# The way off qpopper + DRAC + sendmail, and the test that runs each of its steps.
TESTS += tests/integration/test_migration.py
EXTRA_DIST += tests/integration/test_migration.py docs/MIGRATING.md tools/db185-dump
