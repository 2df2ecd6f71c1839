# tests/local.mk - the integration tests of the master and the shared harness.
TESTS += tests/integration/test_master.py tests/integration/test_install.py
EXTRA_DIST += tests/integration/test_master.py tests/integration/test_install.py \
	tests/lib/popgate_harness.py tests/unit/check_run.h

# The browser test installs playwright-core into the build tree and keeps its screenshots there.
clean-local: clean-test-artifacts
clean-test-artifacts:
	rm -rf tests/artifacts
distclean-local: distclean-e2e
distclean-e2e:
	rm -rf tests/e2e/node_modules tests/e2e/.package-lock.json
	@if test '$(srcdir)' != '.'; then rm -f tests/e2e/package-lock.json; fi

# systemd's side of popgated: sd_notify states (Type=notify), the pid file; the journal's native protocol.
TESTS += tests/integration/test_systemd.py tests/integration/test_journal.py
EXTRA_DIST += tests/integration/test_systemd.py tests/integration/test_journal.py

# Client text never forges a log field; the fail2ban filter in etc/fail2ban against a real log.
TESTS += tests/integration/test_log_fields.py
EXTRA_DIST += tests/integration/test_log_fields.py
