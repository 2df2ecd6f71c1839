/* sdnotify.h - tell systemd (Type=notify) when popgated is ready, reloading and stopping. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_MASTER_SDNOTIFY_H
#define POPGATE_MASTER_SDNOTIFY_H

/* Each sends its state to $NOTIFY_SOCKET when systemd set one; 0 (also when it did not) or -1. */
int sdnotify_ready(const char *status);  /* READY=1 after a start or a reload, with STATUS */
int sdnotify_reloading(void);            /* RELOADING=1 when SIGHUP is taken */
int sdnotify_stopping(void);             /* STOPPING=1 when SIGTERM is taken */
int sdnotify_status(const char *status); /* STATUS= only */

#endif
