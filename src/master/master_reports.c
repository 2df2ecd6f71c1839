/* master_reports.c - the master acting on session reports: counters, events, throttle, make_room's view. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/session_conn.h"
#include "common/stats.h"
#include "master/master_int.h"
#include "master/tally.h"

/*
 * track_for_make_room - what make_room needs to know of a session: where its transaction stands,
 * and whether its client is one we relay for. A message relayed proves nothing: anybody may send
 * one to <postmaster>. True when R was such a record.
 */
static bool track_for_make_room(struct master *m, const struct session_wire_report *r)
{
	switch (r->event) {
	case SESSION_TXN_BEGIN:
		children_set_txn(m->kids, r->session_pid, CHILD_TXN_OPEN);
		/* The session did not wait for this (a hop off the RCPT's reply): whoever needs the order waits for the line. */
		log_debug("session process %ld: a transaction is open", (long)r->session_pid);
		return true;
	case SESSION_TXN_HANDOFF: children_set_txn(m->kids, r->session_pid, CHILD_TXN_HANDOFF); return true;
	case SESSION_TXN_END: children_set_txn(m->kids, r->session_pid, CHILD_TXN_NONE); return true;
	case SESSION_CLIENT_KNOWN: children_mark_proven(m->kids, r->session_pid); return true;
	default: return false;
	}
}

/* conn_done - a reused session process is free again: its session is over, or R->other serves it on. */
static void conn_done(struct master *m, const struct session_wire_report *r)
{
	struct child ch = { .sid = "-" };
	pid_t pid = r->session_pid;
	unsigned reuse = (unsigned)conf(m->cfg)->server.process_reuse * SESSION_MONITOR_CHILDREN;

	if (!pool_done(&m->pool, pid, reuse, mono_ms()))
		return; /* only a reused process can be done and live on */
	if (r->event == SESSION_CONN_PASSED) {
		const struct child *passed = children_pass(m->kids, pid, r->other);
		if (passed != NULL) {
			log_debug("session process %ld passed session=%s to process %ld", (long)pid, passed->sid,
				  (long)r->other);
			return;
		}
		log_warn("session process %ld passed a session to process %ld, which cannot be tracked: counted as ended",
			 (long)pid, (long)r->other);
	}
	if (children_remove(m->kids, pid, &ch))
		session_ended(m, &ch);
	log_debug("session process %ld is done with session=%s", (long)pid, ch.sid);
}

/* passed_done - the session a monitor passed on to R->other is over. */
static void passed_done(struct master *m, const struct session_wire_report *r)
{
	struct child ch;

	if (!children_remove_passed(m->kids, r->session_pid, r->other, &ch))
		return; /* counted as ended already (see conn_done), or reaped with its monitor */
	session_ended(m, &ch);
	log_debug("session process %ld is done with session=%s (served on by process %ld)", (long)r->session_pid,
		  ch.sid, (long)r->other);
}

/* pair_child - a reused monitor forked its next protocol child: make_room kills only that one. */
static void pair_child(struct master *m, const struct session_wire_report *r)
{
	pool_set_child(&m->pool, r->session_pid, r->other);
}

/* member_record - a reused monitor's record about its processes, which may come when it serves no session. */
static bool member_record(struct master *m, const struct session_wire_report *r)
{
	switch (r->event) {
	case SESSION_CONN_DONE: case SESSION_CONN_PASSED: conn_done(m, r); return true;
	case SESSION_PASSED_DONE: passed_done(m, r); return true;
	case SESSION_PAIR_CHILD: pair_child(m, r); return true;
	default: return false;
	}
}

/* on_report - one record from a session (or a worker's relay database error): counters, events, throttle. */
static void on_report(struct master *m, const struct session_wire_report *r)
{
	const struct child *ch;
	char user[sizeof(r->user)];
	const char *what;

	if (member_record(m, r))
		return;
	ch = children_find(m->kids, r->session_pid);
	if (ch == NULL) {
		/* reports_next checked the sender; a session reaped meanwhile is ignored */
		int k = workers_kind_of(&m->workers, r->session_pid);
		if (k >= 0 && r->event == SESSION_RELAYDB_ERROR)
			(void)tally_trouble(m->stats, NULL, k, r);
		return;
	}
	if (tally_trouble(m->stats, ch->svc->name, -1, r))
		return;
	if (r->event == SESSION_PROXY_CLIENT) {
		proxied_client(m, ch, r);
		return;
	}
	if (track_for_make_room(m, r))
		return; /* bookkeeping, not an event worth the admin page */
	memcpy(user, r->user, sizeof(user));
	user[sizeof(user) - 1] = '\0';
	stats_begin(m->stats);
	struct stats_counters *c = stats_counters_mut(m->stats);
	if (r->event == SESSION_AUTH_OK)
		children_mark_proven(m->kids, r->session_pid);
	switch (r->event) {
	case SESSION_AUTH_OK: c->logins_ok++; what = "login ok"; throttle_ok(m->fails, &ch->ip, user); break;
	case SESSION_AUTH_FAIL:
		c->logins_failed++;
		what = "login failed";
		throttle_fail(m->fails, &ch->ip, user, time(NULL));
		break;
	case SESSION_MSG_RELAYED: c->msgs_relayed++; c->hop[STATS_HOP_ACCEPTED]++; what = "relayed"; break;
	case SESSION_MSG_DENIED: c->msgs_denied++; what = "relay denied"; break;
	default: stats_end(m->stats); return;
	}
	stats_end(m->stats);
	stats_add_event(m->stats, ch->svc->name, ch->ip_text, user, what);
}

void read_reports(struct master *m)
{
	struct session_wire_report r;

	while (reports_next(&m->reports, &r) == 1)
		on_report(m, &r);
}
