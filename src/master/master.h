/* master.h - popgated's supervisor: accept, limit, fork sessions, reap, reload, shut down. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MASTER_H
#define POPGATE_MASTER_H

#include <stdbool.h>

#include "common/config.h"

/* master_run - serve CFG (loaded from its file) until SIGTERM; takes ownership of CFG. Exit status. */
int master_run(struct config *cfg, bool foreground);

#endif
