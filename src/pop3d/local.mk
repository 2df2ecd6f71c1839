# src/pop3d/local.mk - sources and tests of src/pop3d (filled in by its issue).
