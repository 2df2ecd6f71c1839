# src/admin/local.mk - sources and tests of src/admin (filled in by its issue).
