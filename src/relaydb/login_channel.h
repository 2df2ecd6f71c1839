/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * login_channel.h - how a login's relay authorization reaches the lookup worker, the one process
 * that writes it: a datagram socket pair the master creates before it forks anything. Session
 * monitors and popgate-dracd hold the sending end, the lookup worker (each one the master starts)
 * the receiving end, and the master both, so records sent while the worker restarts wait for the
 * next one. A protocol child, which reads the network, holds neither: it cannot record a login.
 *
 * Each record carries, as SCM_RIGHTS, one end of a fresh socket pair the worker answers on, so
 * many senders share the channel without reading each other's answers; the kernel stamps each
 * with its sender's pid and uid (SCM_CREDENTIALS), which the worker logs.
 */
#ifndef POPGATE_RELAYDB_LOGIN_CHANNEL_H
#define POPGATE_RELAYDB_LOGIN_CHANNEL_H

#include "common/config.h"
#include "relaydb/relaydb.h"

/*
 * How long a session monitor waits for the worker to record a login before it gives up and says
 * the authorization was not recorded. A worker that died young is started again after the
 * master's back-off (WORKER_BACKOFF, 10 s, master/workers.c); this covers that and its database
 * open, and stays under the minute a POP3 client gives a reply to PASS.
 */
#define RELAY_LOGIN_WAIT_MS 20000

/*
 * relay_login_send's answer when no worker answered: errno is ETIMEDOUT when the wait ran out, or
 * why the channel failed (ECONNREFUSED: nobody holds its receiving end, so the master is gone too).
 */
#define RELAY_LOGIN_NO_ANSWER (-2)

/*
 * relay_login_channel_open - the socket pair into RD (the worker's end, SO_PASSCRED) and WR (the
 * senders' end), both close-on-exec. 0, or -1 with errno.
 */
int relay_login_channel_open(int *rd, int *wr);

/*
 * relay_login_send - ask the worker behind CHAN to record a login of USER from IP over PROTO and
 * wait up to WAIT_MS for it: 0 recorded, -1 the worker could not (it logged why),
 * RELAY_LOGIN_NO_ANSWER no answer (errno says why). A worker that dies holding the request is asked again.
 * The answer comes on a pair kept between records (common/ipc_reply.h).
 */
int relay_login_send(int chan, const char *ip, const char *user, const char *proto, int wait_ms);

/*
 * relay_login_forget - in a process just forked by one that sends records: close the answer pair
 * the sender keeps between records (the child must neither read its answers nor forge them).
 */
void relay_login_forget(void);

/*
 * relay_login_serve - in the lookup worker: record every login waiting on CHAN into DB (NULL when
 * the database cannot be opened: each fails) and answer each on the socket it came with.
 */
void relay_login_serve(const struct config *cfg, int chan, struct relaydb *db);

#endif
