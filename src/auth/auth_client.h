/* auth_client.h - a session monitor's side of the auth worker: ask for a password or APOP check. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The master opens the auth channel once, before it forks anything that may ask, and keeps both
 * ends for its whole life: the worker's end so that a restarted auth worker takes over the same
 * channel (requests queued meanwhile wait for it), the client end so that every session monitor
 * it forks inherits it. Only session monitors may ask: every other process forked from the
 * master or from a monitor calls auth_client_forget() first, above all the protocol child at the
 * split, so that a process which reads the network holds no way to the worker.
 */
#ifndef POPGATE_AUTH_CLIENT_H
#define POPGATE_AUTH_CLIENT_H

#include "auth/auth.h"
#include "auth/auth_wire.h"

/*
 * How long a monitor waits for the worker's answer, queueing included. The worker checks one
 * password in milliseconds; this only bounds a worker that is stopped or wedged, so that the
 * client gets a temporary failure instead of a hung login (a dead worker is seen at once).
 */
#define AUTH_CLIENT_TIMEOUT_MS 30000

/* auth_channel_open - master: create the channel (once; later calls do nothing). 0 or -1 (logged). */
int auth_channel_open(void);

/* auth_channel_worker_fd - the worker's end, for the auth worker at its start; -1 when not open. */
int auth_channel_worker_fd(void);

/* auth_channel_client_fd - the monitors' end (tests and the worker's start, which closes it); -1 when none. */
int auth_channel_client_fd(void);

/* auth_channel_close_client - close the monitors' end (the auth worker, which never asks itself). */
void auth_channel_close_client(void);

/* auth_client_forget - close both ends in a process that must not ask the worker. */
void auth_client_forget(void);

/*
 * auth_client_check - ask the worker to check USER's SECRET (a password, or for AUTH_WIRE_APOP the
 * digest of CHALLENGE); SERVICE and CLIENT_IP go to its log. AUTH_OK fills *OUT (else zeroed);
 * AUTH_FAIL is a wrong password or an unknown user; AUTH_TEMPFAIL when the worker could not be
 * asked or did not answer (logged here). The secret is wiped from every buffer of this process.
 */
enum auth_result auth_client_check(enum auth_wire_mech mech, const char *user, const char *secret,
				   const char *challenge, const char *service, const char *client_ip,
				   struct auth_user *out);

#endif
