# SPDX-License-Identifier: GPL-2.0-or-later
# tests/local.mk - the integration tests of the master and the shared harness.
TESTS += tests/integration/test_master.py tests/integration/test_install.py \
	tests/integration/test_debian_package.py
EXTRA_DIST += tests/integration/test_master.py tests/integration/test_install.py \
	tests/integration/test_debian_package.py tests/lib/popgate_harness.py

# The browser test installs playwright-core into the build tree and keeps its screenshots there.
clean-local: clean-test-artifacts
clean-test-artifacts:
	rm -rf tests/artifacts
distclean-local: distclean-e2e
distclean-e2e:
	rm -rf tests/e2e/node_modules tests/e2e/.package-lock.json tests/e2e/.npm-install.lock
	@if test '$(srcdir)' != '.'; then rm -f tests/e2e/package-lock.json; fi

# systemd's side of popgated: sd_notify states (Type=notify), the pid file; the journal's native protocol.
TESTS += tests/integration/test_systemd.py tests/integration/test_journal.py
EXTRA_DIST += tests/integration/test_systemd.py tests/integration/test_journal.py

# Client text never forges a log field; the fail2ban filter in etc/fail2ban against a real log.
TESTS += tests/integration/test_log_fields.py
EXTRA_DIST += tests/integration/test_log_fields.py

# PROXY protocol v1/v2 on the *_proxy listeners: the named client, not the balancer, is the client.
TESTS += tests/integration/test_proxy_protocol.py
EXTRA_DIST += tests/integration/test_proxy_protocol.py

# The DRAC tests' client: rpcgen makes its stubs from tests/drac/drac.x, so the wire format is
# rpcgen's and libtirpc's, not popgate's. The generated code is not held to our warnings.
check_PROGRAMS += tests/drac/drac_client
tests_drac_drac_client_SOURCES = tests/drac/drac_client.c
nodist_tests_drac_drac_client_SOURCES = tests/drac/drac_rpc.h tests/drac/drac_rpc_clnt.c \
	tests/drac/drac_rpc_xdr.c
tests_drac_drac_client_CFLAGS = $(TIRPC_CFLAGS) $(SANITIZER_CFLAGS) -I$(builddir)/tests/drac
tests_drac_drac_client_LDADD = $(TIRPC_LIBS)
DRAC_RPCGEN_OUT = tests/drac/drac_rpc.h tests/drac/drac_rpc_clnt.c tests/drac/drac_rpc_xdr.c
CLEANFILES += $(DRAC_RPCGEN_OUT) tests/drac/drac_rpc.x
# One rpcgen run makes all three; rpcgen names the header it includes after its input, hence the copy.
tests/drac/drac_rpc.h: $(srcdir)/tests/drac/drac.x
	$(AM_V_GEN)$(MKDIR_P) tests/drac && cp $(srcdir)/tests/drac/drac.x tests/drac/drac_rpc.x && \
	cd tests/drac && rpcgen -h -o drac_rpc.h drac_rpc.x && rpcgen -l -o drac_rpc_clnt.c drac_rpc.x && \
	rpcgen -c -o drac_rpc_xdr.c drac_rpc.x
tests/drac/drac_rpc_clnt.c tests/drac/drac_rpc_xdr.c: tests/drac/drac_rpc.h
tests/drac/drac_client-drac_client.$(OBJEXT): tests/drac/drac_rpc.h
TESTS += tests/integration/test_drac_rpc.py
EXTRA_DIST += tests/drac/drac.x tests/integration/test_drac_rpc.py
