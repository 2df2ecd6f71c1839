/* admin.h - the helpdesk's HTTP admin page: the entry point of the admin worker process. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_ADMIN_H
#define POPGATE_ADMIN_H

#include <signal.h>
#include <stddef.h>

#include "common/config.h"
#include "common/stats.h"

/*
 * admin_worker_main - serve the admin page and its JSON API on LISTEN_FDS (already listening,
 * one HTTP server each; HTTPS when admin.tls = yes) until *STOP becomes non-zero, then return
 * within a second. Runs as server.user in a long-lived child of the master; STATS may be NULL
 * (counters then read as zero). Returns 0 after a stop, CFG_EXIT when the TLS certificate or key
 * cannot be loaded, 1 on any other failure to start.
 */
int admin_worker_main(const struct config *cfg, const int *listen_fds, size_t nfds,
		      const struct stats_shared *stats, volatile sig_atomic_t *stop);

#endif
