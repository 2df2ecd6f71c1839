/* monitor_watch.c - a reused monitor waits for one socket while hearing the sessions it passed on. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stddef.h>

#include "common/clock.h"
#include "common/memtrim.h"
#include "privsep/monitor_watch.h"

static const struct monitor_watch *watch;

void monitor_watch_set(const struct monitor_watch *w)
{
	watch = w;
}

bool monitor_watching(void)
{
	struct pollfd fds[MONITOR_WATCH_MAX];

	return watch != NULL && watch->fill(fds) > 0;
}

/* timeout - poll's timeout: the watch's next due moment, and the idle trim's unless done. */
static int timeout(bool trim_due, int64_t quiet_since)
{
	int ms = watch != NULL ? watch->due_ms() : -1;

	if (trim_due) {
		int64_t left = quiet_since + MEM_IDLE_MS - mono_ms();
		int t = left > 0 ? (int)left : 0;
		if (ms < 0 || t < ms)
			ms = t;
	}
	return ms;
}

void monitor_wait(int fd, bool idle)
{
	struct pollfd fds[1 + MONITOR_WATCH_MAX];
	bool trim_due = idle;
	int64_t quiet_since = idle ? mono_ms() : 0;

	for (;;) {
		int n = 1, got;

		fds[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (watch != NULL)
			n += watch->fill(fds + 1);
		if (fd < 0 && n == 1)
			return;
		got = poll(fds, (nfds_t)n, timeout(trim_due, quiet_since));
		if (got < 0 && errno != EINTR)
			return; /* the receive that follows sees what is wrong */
		if (got > 0 && n > 1) {
			watch->ready(fds + 1, n - 1);
			trim_due = idle; /* busy again: the quiet starts over */
			quiet_since = mono_ms();
		}
		if (watch != NULL && watch->due_ms() == 0)
			watch->expire();
		if (got > 0 && fds[0].revents != 0)
			return;
		if (got == 0 && trim_due && mono_ms() - quiet_since >= MEM_IDLE_MS) {
			mem_trim();
			trim_due = false;
		}
	}
}
