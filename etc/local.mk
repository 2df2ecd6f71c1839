# SPDX-License-Identifier: GPL-2.0-or-later
# etc/local.mk - the sample configuration (never installed over an existing one) and the systemd unit.
popgateconfdir = $(sysconfdir)/popgate
EXTRA_DIST += etc/popgate.conf etc/popgated.service.in
systemdunit_DATA = etc/popgated.service
CLEANFILES += etc/popgated.service

# The fail2ban filter goes where fail2ban looks (inert until a jail names it); the jail is an example.
fail2banfilterdir = $(sysconfdir)/fail2ban/filter.d
dist_fail2banfilter_DATA = etc/fail2ban/popgate.conf
popgateexamplesdir = $(docdir)/examples
dist_popgateexamples_DATA = etc/fail2ban/popgate-jail.conf

# Grafana (9.1+): the dashboard to import and the alert rules to provision (docs/ADMIN-API.md).
grafanadir = $(pkgdatadir)/grafana
dist_grafana_DATA = etc/grafana/popgate-dashboard.json etc/grafana/popgate-alert-rules.json

# [@] keeps config.status from substituting the pattern itself (it left @sbindir@ in the unit).
etc/popgated.service: $(srcdir)/etc/popgated.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && sed -e 's|[@]sbindir[@]|$(sbindir)|g' -e 's|[@]sysconfdir[@]|$(sysconfdir)|g' \
		$(srcdir)/etc/popgated.service.in > $@

install-data-local: install-sample-config
install-sample-config:
	$(MKDIR_P) '$(DESTDIR)$(popgateconfdir)'
	@if test -f '$(DESTDIR)$(popgateconfdir)/popgate.conf'; then \
		echo "keeping the existing $(DESTDIR)$(popgateconfdir)/popgate.conf; the sample is popgate.conf.sample"; \
		$(INSTALL_DATA) $(srcdir)/etc/popgate.conf '$(DESTDIR)$(popgateconfdir)/popgate.conf.sample'; \
	else \
		$(INSTALL_DATA) $(srcdir)/etc/popgate.conf '$(DESTDIR)$(popgateconfdir)/popgate.conf'; \
	fi
# An edited popgate.conf is the admin's: only an untouched copy of the sample goes away.
uninstall-local:
	rm -f '$(DESTDIR)$(popgateconfdir)/popgate.conf.sample'
	@if cmp -s $(srcdir)/etc/popgate.conf '$(DESTDIR)$(popgateconfdir)/popgate.conf'; then \
		rm -f '$(DESTDIR)$(popgateconfdir)/popgate.conf'; fi
