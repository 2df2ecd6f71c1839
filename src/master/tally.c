/* tally.c - the master's counting for /metrics of troubles reported to it and of its own state. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/session.h"
#include "master/tally.h"

/* is_trouble - whether EVENT is one tally_trouble counts. */
static bool is_trouble(uint32_t event)
{
	switch (event) {
	case SESSION_HOP_DEFERRED: case SESSION_HOP_FAILED:
	case SESSION_TLS_FAILED: case SESSION_TLS_TIMEOUT:
	case SESSION_RELAYDB_ERROR:
		return true;
	default:
		return false;
	}
}

/* worker_errors - how many errors a worker's record stands for: a session's always one. */
static uint64_t worker_errors(const struct session_wire_report *r)
{
	if (r->count == 0)
		return 1;
	return r->count < TALLY_COALESCED_MAX ? r->count : TALLY_COALESCED_MAX;
}

bool tally_trouble(struct stats_writer *s, const char *service, int worker, const struct session_wire_report *r)
{
	struct stats_counters *c = stats_counters_mut(s);
	int svc = stats_tls_service(service);

	if (!is_trouble(r->event))
		return false;
	if (worker >= 0 && (r->event != SESSION_RELAYDB_ERROR || worker >= STATS_WORKERS))
		return true; /* the rest are a session's to report, never a worker's */
	stats_begin(s);
	switch (r->event) {
	case SESSION_HOP_DEFERRED: c->hop[STATS_HOP_DEFERRED]++; break;
	case SESSION_HOP_FAILED: c->hop[STATS_HOP_FAILED]++; break;
	case SESSION_TLS_FAILED: case SESSION_TLS_TIMEOUT:
		if (svc >= 0)
			c->tls_failed[svc][r->event == SESSION_TLS_TIMEOUT ? STATS_TLS_TIMEOUT : STATS_TLS_ERROR]++;
		break;
	default:
		if (worker < 0)
			c->relaydb_errors[0]++;
		else
			c->relaydb_errors[1 + worker] += worker_errors(r);
		break;
	}
	stats_end(s);
	return true;
}

void tally_state(struct stats_writer *s, const struct stress *st, const struct workers *w)
{
	struct stats_counters *c = stats_counters_mut(s);
	bool changed = c->stress_on != (uint64_t)st->on || c->stress_episodes != st->episodes;

	/* Written only when it changed: a quiet turn of the master's loop costs a few compares. */
	for (int k = 0; k < WORKER_KINDS; k++)
		changed = changed || c->worker_restarts[k] != w->restarts[k];
	if (!changed)
		return;
	stats_begin(s);
	c->stress_on = st->on;
	c->stress_episodes = st->episodes;
	for (int k = 0; k < WORKER_KINDS; k++)
		c->worker_restarts[k] = w->restarts[k];
	stats_end(s);
}
