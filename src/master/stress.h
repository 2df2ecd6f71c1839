/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stress.h - the master's stress episodes, as Postfix has them: while sessions fill
 * server.max_connections, SMTP sessions are told (through a read-only shared word) to give each
 * line smtp.stress_timeout only, and the episode is logged once, at its start and its end.
 */
#ifndef POPGATE_STRESS_H
#define POPGATE_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "master/children.h"

struct stress {
	int *flag;              /* the master's writable view of the shared word */
	const int *view;        /* the sessions' view: mapped after sealing, so it cannot be made writable */
	bool on;
	int64_t since_ms;       /* CLOCK_MONOTONIC, when the episode began */
	int64_t calm_ms;        /* since when the load has been below three quarters; 0 while it is not */
	size_t evicted_pop3, evicted_smtp, refused, started, peak;
	uint64_t episodes;      /* begun since the master started (/metrics) */
};

/* stress_init - map the shared word. 0, or -1 with errno. */
int stress_init(struct stress *st);

/* stress_free - unmap both views (the master, at exit). */
void stress_free(struct stress *st);

/* stress_drop_writer - unmap the writable view (a session, right after the fork). */
void stress_drop_writer(struct stress *st);

/* stress_view - the word sessions read: nonzero while the episode lasts; NULL without stress_init. */
const int *stress_view(const struct stress *st);

/* stress_enter - a connection found the table full: begin an episode (logged) unless one runs. */
void stress_enter(struct stress *st, const struct children *kids, size_t max, long long line_timeout);

/*
 * stress_settle - at every turn of the master's loop: the episode ends (logged) once the load has
 * stayed below three quarters of MAX for STRESS_LINGER_MS.
 */
void stress_settle(struct stress *st, const struct children *kids, size_t max);

/* stress_wake_in - milliseconds until stress_settle may end the episode; -1 when nothing is due. */
long stress_wake_in(const struct stress *st);

/* stress_note_evicted - count a session pushed out, of service family FAMILY. */
void stress_note_evicted(struct stress *st, const char *family);

/* stress_note_refused - count a connection refused at server.max_connections. */
void stress_note_refused(struct stress *st);

/* stress_note_started - count a session started; tracks the episode's peak of SERVING sessions. */
void stress_note_started(struct stress *st, size_t serving);

#endif
