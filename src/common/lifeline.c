/* lifeline.c - a forked process dies with its parent (PR_SET_PDEATHSIG, then the parent checked). */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/lifeline.h"

int lifeline_tie(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -1;
	/* A parent that died before the signal was armed left us to init (or a subreaper). */
	return getppid() == parent ? 0 : -1;
}

bool lifeline_tied(void)
{
	int sig = 0;

	return prctl(PR_GET_PDEATHSIG, &sig) == 0 && sig != 0;
}
