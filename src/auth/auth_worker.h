/* auth_worker.h - the auth worker: the one process that reads the user databases and checks passwords. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_AUTH_WORKER_H
#define POPGATE_AUTH_WORKER_H

#include <signal.h>

#include "common/config.h"

/*
 * auth_worker_drop - in the freshly forked worker: keep CAP_DAC_READ_SEARCH alone (read
 * /etc/shadow, and auth.passwd_file or auth.apop_secrets_file when only root may read them) and
 * give up every other capability the master kept. Files are read afresh for every request, so a
 * password changed with passwd(1) counts at the next login: reading them once as root before
 * dropping everything would need a restart for each change. 0 or -1 (logged).
 */
int auth_worker_drop(void);

/*
 * auth_worker_run - answer password and APOP checks from the auth channel (auth_client.h) until
 * *STOP is set, then answer what is already queued and return 0; -1 when the channel is broken.
 * auth.workers processes serve the channel side by side (one per CPU by default: a hash takes
 * milliseconds of one CPU, and the session monitors that checked before used them all); this one
 * forks the others, which die with it, and starts another when one ends.
 * Unknown users cost one hash against the dummy, as a wrong password does (auth_password).
 * Requests must come from a process of this worker's own uid (the kernel stamps the sender's
 * credentials); the failure delays and lockouts stay with the session monitor that asks.
 */
int auth_worker_run(const struct config *cfg, volatile sig_atomic_t *stop);

#endif
