/* privdrop.h - the master becomes server.user, keeping only the capabilities its sessions need. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_PRIVDROP_H
#define POPGATE_PRIVDROP_H

#include "common/config.h"

/*
 * master_drop_privileges - when started as root, switch to server.user with these capabilities
 * kept: SETUID/SETGID (sessions become the mailbox owner), DAC_READ_SEARCH (/etc/shadow), CHOWN
 * (per-user index directories), NET_BIND_SERVICE (rebinding on reload), KILL (signalling sessions
 * that run as other users). A no-op when not started as root. 0 or -1 (logged).
 */
int master_drop_privileges(const struct config *cfg);

/*
 * master_prepare_dirs - create server.state_dir and relay.db_dir owned by server.user, and
 * server.state_dir/login (lookup.sock's directory) for server.user and server.login_user's group,
 * mode 2750. 0 or -1.
 */
int master_prepare_dirs(const struct config *cfg, struct cfg_error *err);

/*
 * master_check_login_user - server.login_user must name a user other than root (ERR says why).
 * Started as root, logs a warning when it is server.user or shares its group: the protocol
 * children could then write the relay database. 0 or -1.
 */
int master_check_login_user(const struct config *cfg, struct cfg_error *err);

#endif
