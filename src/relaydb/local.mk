# src/relaydb/local.mk - sources and tests of src/relaydb (filled in by its issue).
