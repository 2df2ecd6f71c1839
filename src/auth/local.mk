# src/auth/local.mk - sources and tests of src/auth (filled in by its issue).
