# tests/local.mk - the integration tests of the master and the shared harness.
TESTS += tests/integration/test_master.py
EXTRA_DIST += tests/integration/test_master.py tests/lib/popgate_harness.py tests/unit/check_run.h
