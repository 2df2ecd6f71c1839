# debian/local.mk - the Debian packaging and the licence in the dist tarball (include from Makefile.am).
EXTRA_DIST += LICENSE \
	debian/.gitignore debian/README.Debian debian/changelog debian/control debian/copyright \
	debian/local.mk debian/popgate.conf.sed debian/popgate.docs debian/popgate.postinst \
	debian/popgate.postrm debian/popgate.sysusers debian/popgate.tmpfiles debian/popgated-tls.conf \
	debian/rules debian/source/format
