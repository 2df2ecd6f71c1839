# SPDX-License-Identifier: GPL-2.0-or-later
# man/local.mk - manual pages.
dist_man5_MANS = man/popgate.conf.5
dist_man8_MANS = man/popgated.8 man/popgatectl.8
