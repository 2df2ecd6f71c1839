# src/smtpd/local.mk - sources and tests of src/smtpd (filled in by its issue).
