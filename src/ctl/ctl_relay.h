/* ctl_relay.h - what the popgatectl relay subcommands share: opening the database, refreshing the map. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CTL_RELAY_H
#define POPGATE_CTL_RELAY_H

#include "common/config.h"
#include "relaydb/relaydb.h"

/*
 * ctl_relay_open - open the relay database as the owner of relay.db_dir (so files Berkeley DB
 * creates stay usable by the daemon), printing any error. 0, or CTL_EX_TEMPFAIL.
 */
int ctl_relay_open(const struct config *cfg, struct relaydb **db);

/* ctl_relay_progress - a long command (an import) made progress: its wait bound starts again. */
void ctl_relay_progress(void);

/* ctl_relay_changed - after a bulk change, rebuild relay.export_map at once (when configured). 0 or -1. */
int ctl_relay_changed(const struct config *cfg, struct relaydb *db);

/* ctl_relay_changed_ip - after IP's entry changed, change its keys in relay.export_map in place. 0 or -1. */
int ctl_relay_changed_ip(const struct config *cfg, struct relaydb *db, const char *ip);

/* ctl_format_time - local "YYYY-MM-DD HH:MM:SS" of T into BUF. */
void ctl_format_time(int64_t t, char *buf, size_t len);

/* ctl_format_left - "29m10s"-style time from NOW until T, "-" when past. */
void ctl_format_left(int64_t t, time_t now, char *buf, size_t len);

#endif
