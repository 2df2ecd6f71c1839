# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fuzz/local.mk - libFuzzer harnesses (clang, ASan, UBSan) for every parser, and their seed corpora.
#
#   make fuzz FUZZ_SECONDS=N   build with clang and fuzz each harness for N seconds (default 30)
#                              on a copy of its corpus in tests/fuzz/work; fails on any crash
#   make fuzz-regress          run each harness once over its seed corpus (also part of make check)
#   make fuzz-build            only build tests/fuzz/bin/fuzz_*
#   FUZZ_HARNESSES='fuzz_pop3 fuzz_mbox' narrows any of these to some harnesses;
#   FUZZ_JOBS=2 runs two harnesses at a time (one core each).
#
# The harnesses are built by tests/fuzz/fuzz.mk with FUZZ_CC (clang), independently of CC.

FUZZ_CC = clang
FUZZ_SECONDS = 30
FUZZ_JOBS = 1
FUZZ_HARNESSES = fuzz_pop3 fuzz_smtp fuzz_smtp_data fuzz_smtp_addr fuzz_mbox fuzz_config fuzz_admin \
	fuzz_socketmap fuzz_proxy
FUZZ_DEFINES = $(DEFS) \
	-DPOPGATE_SYSCONFDIR=\"$(sysconfdir)/popgate\" \
	-DPOPGATE_STATEDIR=\"$(localstatedir)/lib/popgate\" \
	-DPOPGATE_RUNDIR=\"$(runstatedir)\" \
	-DPOPGATE_WWWDIR=\"$(pkgdatadir)/www\" \
	-DPOPGATE_VERSION=\"$(PACKAGE_VERSION)\"
FUZZ_MAKE_ARGS = -f $(srcdir)/tests/fuzz/fuzz.mk FUZZ_SRCDIR='$(abs_top_srcdir)' FUZZ_CC='$(FUZZ_CC)' \
	FUZZ_HARNESSES='$(FUZZ_HARNESSES)' \
	FUZZ_CPPFLAGS='$(FUZZ_DEFINES) $(OPENSSL_CFLAGS) $(CRYPT_CFLAGS) $(MHD_CFLAGS) $(INIH_CFLAGS) $(CAP_CFLAGS) $(PQ_CFLAGS)' \
	FUZZ_LIBS='$(POPGATE_EXT_LIBS)'
FUZZ_RUN = FUZZ_SRCDIR='$(abs_top_srcdir)' FUZZ_CC='$(FUZZ_CC)' FUZZ_HARNESSES='$(FUZZ_HARNESSES)' \
	FUZZ_JOBS='$(FUZZ_JOBS)' \
	$(SHELL) $(srcdir)/tests/fuzz/run-fuzz.sh

fuzz-build:
	@$(FUZZ_RUN) probe
	@$(MAKE) $(FUZZ_MAKE_ARGS)

fuzz: fuzz-build
	@$(FUZZ_RUN) run $(FUZZ_SECONDS)

fuzz-regress: fuzz-build
	@$(FUZZ_RUN) regress

fuzz-clean:
	rm -rf tests/fuzz/obj tests/fuzz/bin tests/fuzz/work

clean-local: fuzz-clean
.PHONY: fuzz fuzz-build fuzz-regress fuzz-clean

# make check: every seed through every harness (skipped when clang's fuzzer runtime is missing).
TESTS += tests/fuzz/run-regress.sh
EXTRA_DIST += tests/fuzz/run-regress.sh tests/fuzz/run-fuzz.sh tests/fuzz/fuzz.mk tests/fuzz/README.md \
	tests/fuzz/fuzz_util.c tests/fuzz/fuzz_util.h tests/fuzz/fuzz_mailbox.c tests/fuzz/fuzz_mailbox.h \
	tests/fuzz/fuzz_spool.c tests/fuzz/fuzz_spool.h tests/fuzz/fuzz_json.c tests/fuzz/fuzz_json.h \
	tests/fuzz/fuzz_pop3.c tests/fuzz/fuzz_smtp.c tests/fuzz/fuzz_smtp_data.c tests/fuzz/fuzz_smtp_addr.c \
	tests/fuzz/fuzz_mbox.c tests/fuzz/fuzz_config.c tests/fuzz/fuzz_admin.c tests/fuzz/fuzz_socketmap.c \
	tests/fuzz/fuzz_proxy.c \
	tests/fuzz/corpus tests/fuzz/dict
