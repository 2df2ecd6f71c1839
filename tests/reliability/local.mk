# SPDX-License-Identifier: GPL-2.0-or-later
# tests/reliability/local.mk - fault injection, load, privilege and soak tests against the real daemon.
# Every test prints "checked N messages, 0 lost, 0 changed" or its figures; TESTING.md says what each
# proves. `make check-reliability` runs only these; `make soak SOAK_MINUTES=10` runs the long soak
# (not part of make check, whose tests/reliability/test_soak.py is a 30-second version).
RELIABILITY_TESTS = \
	tests/reliability/test_postfix_local.py \
	tests/reliability/test_postfix_map.py \
	tests/reliability/test_postfix_socketmap.py \
	tests/reliability/test_postfix_pgsql.py \
	tests/reliability/test_sendmail_maps.py \
	tests/reliability/test_enospc.py \
	tests/reliability/test_smarthost_drop.py \
	tests/reliability/test_relaydb_faults.py \
	tests/reliability/test_load_connections.py \
	tests/reliability/test_load_abuse.py \
	tests/reliability/test_shutdown.py \
	tests/reliability/test_privileges.py \
	tests/reliability/test_haproxy.py \
	tests/reliability/test_soak.py
TESTS += $(RELIABILITY_TESTS)
EXTRA_DIST += $(RELIABILITY_TESTS) tests/reliability/relib.py tests/reliability/postfix_instance.py \
	tests/reliability/soak.py TESTING.md

SOAK_MINUTES = 10
.PHONY: check-reliability soak
check-reliability: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(RELIABILITY_TESTS)'

soak: all
	POPGATE_BUILDDIR='$(abs_top_builddir)' POPGATE_SRCDIR='$(abs_top_srcdir)' PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH='$(abs_top_srcdir)/tests/lib' $(PYTHON3) $(abs_top_srcdir)/tests/reliability/soak.py \
		--minutes $(SOAK_MINUTES)
