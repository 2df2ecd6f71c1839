/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lifeline.h - tie a forked process's life to its parent's: when the parent dies, so does it.
 *
 * A master killed with SIGKILL (the OOM killer, a crash) must not leave workers and sessions
 * behind: they would hold its listening sockets, and a new popgated could not bind them. The
 * kernel's parent-death signal does it; this is the one place that arms it and checks, right after,
 * that the parent did not die before it was armed.
 */
#ifndef POPGATE_LIFELINE_H
#define POPGATE_LIFELINE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * lifeline_tie - SIGKILL this process when its parent exits. PARENT is the parent's pid as the
 * parent saw it before fork. 0, or -1 when the parent is gone already (or the kernel refused):
 * the caller exits.
 */
int lifeline_tie(pid_t parent);

/*
 * lifeline_tied - whether this process has a parent-death signal armed. A change of user or group
 * clears it (the kernel's rule), so privilege drops record this first and tie again after.
 */
bool lifeline_tied(void);

#endif
