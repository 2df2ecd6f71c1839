# SPDX-License-Identifier: GPL-2.0-or-later
# src/admin/local.mk - the helpdesk's HTTP admin page (libmicrohttpd) and its integration tests.
noinst_LIBRARIES += src/admin/libadmin.a
POPGATE_LIBS += src/admin/libadmin.a
src_admin_libadmin_a_SOURCES = \
	src/admin/admin.h \
	src/admin/admin_api.c src/admin/admin_api.h src/admin/admin_blocks.c \
	src/admin/admin_check.c src/admin/admin_audit.c src/admin/admin_audit.h \
	src/admin/admin_lockouts.c src/admin/admin_control.c \
	src/admin/admin_json.c src/admin/admin_json.h \
	src/admin/admin_metrics.c \
	src/admin/admin_server.c src/admin/admin_server.h \
	src/admin/admin_session.c src/admin/admin_session.h src/admin/admin_session_store.c \
	src/admin/admin_static.c src/admin/admin_static.h \
	src/admin/admin_throttle.c src/admin/admin_throttle.h \
	src/admin/admin_users.c src/admin/admin_users.h \
	src/admin/admin_worker.c

# The admin page is its own program, exec'd by popgated's admin worker (see admind_main.c).
pkglibexec_PROGRAMS += src/popgate-admind
src_popgate_admind_SOURCES = src/admin/admind_main.c
src_popgate_admind_LDADD = $(POPGATE_LINK)
EXTRA_src_popgate_admind_DEPENDENCIES = $(POPGATE_LIBS)

# Integration tests over HTTP against the real popgated, and the browser tests (tests/e2e).
TESTS += tests/integration/test_admin_api.py tests/integration/test_blocks.py tests/integration/test_check.py tests/integration/test_audit.py tests/integration/test_lockouts.py tests/integration/test_metrics.py tests/e2e/test_admin_browser.py tests/e2e/test_admin_helpdesk.py
EXTRA_DIST += tests/integration/test_admin_api.py tests/integration/test_blocks.py tests/integration/test_check.py tests/integration/test_audit.py tests/integration/test_lockouts.py tests/integration/test_metrics.py tests/lib/admin_helpers.py \
	tests/e2e/test_admin_browser.py tests/e2e/admin_browser.cjs tests/e2e/package.json \
	tests/e2e/test_admin_helpdesk.py tests/e2e/admin_helpdesk.cjs tests/e2e/browser_helpers.py \
	tests/e2e/browser_lib.cjs tests/e2e/fmt_test.cjs tests/e2e/.gitignore docs/ADMIN-API.md
