# src/ctl/local.mk - sources and tests of src/ctl (filled in by its issue).
