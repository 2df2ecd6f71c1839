# SPDX-License-Identifier: GPL-2.0-or-later
# www/local.mk - the admin page's static files, served by popgated from admin.www_dir.
adminwwwdir = $(pkgdatadir)/www
dist_adminwww_DATA = www/index.html www/app.js www/fmt.js www/ui.js www/helpdesk.js www/app.css www/favicon.svg
