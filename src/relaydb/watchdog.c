/* watchdog.c - a relay worker stuck inside Berkeley DB exits, so that its restart recovers the database. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * Why a thread and not alarm(): a process blocked on a Berkeley DB mutex is in a futex wait that
 * a signal handler cannot end except by exiting, and a handler may not log (syslog is not
 * async-signal-safe). The thread is the only other thread of the worker; it touches nothing of
 * Berkeley DB, only the atomics below and the log, so the environment's handles, which
 * are not opened DB_THREAD, stay the main thread's alone.
 *
 * Why exit and not DB_ENV->failchk: failchk frees the locks of a process that died outside the
 * library, and the sweeper runs it five times a second, so a worker rarely waits on those. A
 * process killed inside the library (holding a page latch or a region mutex) makes failchk
 * answer DB_RUNRECOVERY, and a process already waiting on that latch never wakes: only a new
 * process can go on, and its open (DB_REGISTER | DB_RECOVER) runs recovery.
 */

/* The watch looks once a second; the bound is counted in its looks. */
#define WATCHDOG_TICK_S 1

static struct {
	const char *who;              /* "lookup worker", "sweeper", "admin worker": what the log calls us */
	atomic_bool armed;            /* the worker is at its database work */
	atomic_ulong progress;        /* moved on by every arm and every operation */
	bool started;
} wd;

/* stuck - say once why the worker goes, and go: the master restarts it and the new one recovers. */
static void stuck(unsigned quiet_s)
{
	log_err("relaydb: the %s made no progress inside the relay database for %u s: a process that died in the "
		"middle of a database operation, or one stopped there, holds a lock or latch this process cannot get "
		"past; exiting (status %d) so that popgated starts a new %s, whose open recovers the database",
		wd.who, quiet_s, RELAYDB_EXIT_STUCK, wd.who);
	_exit(RELAYDB_EXIT_STUCK);
}

/*
 * watch - the thread: count its own looks at an armed worker without progress, so that time the
 * process spent stopped (SIGSTOP, a debugger) counts as one look, not as a stuck worker.
 */
static void *watch(void *arg)
{
	unsigned long last = 0;
	unsigned quiet = 0;

	(void)arg;
	for (;;) {
		struct timespec tick = { WATCHDOG_TICK_S, 0 };
		unsigned long now;

		nanosleep(&tick, NULL);
		now = atomic_load_explicit(&wd.progress, memory_order_relaxed);
		if (!atomic_load_explicit(&wd.armed, memory_order_relaxed) || now != last) {
			last = now;
			quiet = 0;
		} else if (++quiet * WATCHDOG_TICK_S >= RELAYDB_STUCK_S) {
			stuck(quiet * WATCHDOG_TICK_S);
		}
	}
	return NULL;
}

int relaydb_watchdog_start(const char *who)
{
	sigset_t all, old;
	pthread_t t;
	int rc;

	if (wd.started)
		return 0;
	wd.who = who;
	/* Signals stay the main thread's: SIGTERM must interrupt its poll, not wake the watch. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_err("relaydb: the %s runs without its watchdog: %s", who, strerror(rc));
		return -1;
	}
	pthread_detach(t);
	wd.started = true;
	return 0;
}

void relaydb_watchdog_arm(void)
{
	if (!wd.started)
		return;
	atomic_fetch_add_explicit(&wd.progress, 1, memory_order_relaxed);
	atomic_store_explicit(&wd.armed, true, memory_order_relaxed);
}

void relaydb_watchdog_progress(void)
{
	if (wd.started)
		atomic_fetch_add_explicit(&wd.progress, 1, memory_order_relaxed);
}

void relaydb_watchdog_disarm(void)
{
	if (wd.started)
		atomic_store_explicit(&wd.armed, false, memory_order_relaxed);
}

bool relaydb_watchdog_suspend(void)
{
	return wd.started && atomic_exchange_explicit(&wd.armed, false, memory_order_relaxed);
}

void relaydb_watchdog_resume(bool was_armed)
{
	if (was_armed)
		relaydb_watchdog_arm();
}
