/* children.h - the master's table of session processes: who serves which client. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CHILDREN_H
#define POPGATE_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cidr.h"
#include "common/log.h"
#include "master/services.h"

/*
 * Where an SMTP session's mail transaction stands, as the session reported it. Only a hand-off is
 * untouchable: killed while the next hop takes the message, the client could send it twice. Before
 * the final dot nothing is lost by a kill, the client still holds the message.
 */
enum child_txn {
	CHILD_TXN_NONE,    /* no recipient accepted */
	CHILD_TXN_OPEN,    /* recipients accepted, the message not complete yet */
	CHILD_TXN_HANDOFF, /* the message is complete and going to the next hop */
};

struct child {
	pid_t pid;
	struct ip_addr ip;
	char ip_text[IP_TEXT_MAX];
	char sid[LOG_SESSION_ID_MAX]; /* the session id its log lines carry */
	const struct service *svc;
	uint64_t seq;     /* order of arrival */
	int64_t born_ms;  /* CLOCK_MONOTONIC milliseconds at arrival */
	bool proven;      /* logged in, or a client relay.allow / POP-before-SMTP vouches for: never evicted */
	enum child_txn txn;
	bool evicted;     /* killed to make room; no longer counted against the limits */
	bool proxy_pending; /* on a *_proxy listener, its PROXY header's client not reported yet */
	/*
	 * A POP3 session a reused monitor passed on to its mailbox process: PID is that process, a
	 * grandchild, and GROUP the monitor, which reports its end, and whose process group signals reach.
	 */
	bool passed;
	pid_t group;
};

struct children;

/* children_new - a table for up to CAP sessions. */
struct children *children_new(size_t cap);
void children_free(struct children **c);

/* children_reserve - make room for CAP sessions (never shrinks). 0 or -1. */
int children_reserve(struct children *c, size_t cap);

/* children_add - record a session (SID: its log id), growing the table if need be; -1 when out of memory. */
int children_add(struct children *c, pid_t pid, const struct ip_addr *ip, const char *ip_text,
		 const char *sid, const struct service *svc);

/* children_remove - forget PID (not a session passed on to a process of that pid), copying its record to OUT if given; false when unknown. */
bool children_remove(struct children *c, pid_t pid, struct child *out);

/* children_find - the session PID, or NULL. */
const struct child *children_find(const struct children *c, pid_t pid);

/* children_count - session processes not yet reaped, evicted ones included. */
size_t children_count(const struct children *c);

/* children_serving - sessions counted against server.max_connections (evicted ones are not). */
size_t children_serving(const struct children *c);

/* children_count_ip - sessions serving client IP. */
size_t children_count_ip(const struct children *c, const struct ip_addr *ip);

/* children_mark_proven - PID has logged in, or its client is one we relay for: never evict it. */
void children_mark_proven(struct children *c, pid_t pid);

/*
 * children_proxied - PID's PROXY header named client IP (NULL: the session is refused, keep the
 * balancer's): from now on the per-address limits count it there. Once per session, and only for
 * a *_proxy one: false when PID is unknown, not such a session or has reported already.
 */
bool children_proxied(struct children *c, pid_t pid, const struct ip_addr *ip, const char *ip_text);

/* children_set_txn - PID's mail transaction moved to TXN. */
void children_set_txn(struct children *c, pid_t pid, enum child_txn txn);

/* children_spare_fn - whether make_room must leave session CH alone (it cannot be ended safely now). */
typedef bool (*children_spare_fn)(void *arg, const struct child *ch);

/*
 * children_evict - choose the oldest session, of any service, that has not proven itself and is
 * in no mail transaction; failing that, the oldest such session whose transaction has not reached
 * its hand-off; none that SPARE (may be NULL) keeps. It is marked evicted and its record goes to
 * OUT, for the caller to kill; false when there is none. A passed session is never chosen: it has
 * logged in.
 */
bool children_evict(struct children *c, children_spare_fn spare, void *arg, struct child *out);

/* What the table holds, for the stress log. */
struct children_tally {
	size_t pop3, smtp;   /* serving sessions of each family */
	size_t protected;    /* of those, proven or handing off a message: not to be pushed out */
	size_t open_txn;     /* of the others, in a transaction short of its hand-off: pushed out last */
};

/* children_tally - count the serving sessions by family and protection. */
void children_tally(const struct children *c, struct children_tally *t);

/*
 * children_pass - the session of reused monitor PID goes on in its process TO: the record is TO's
 * from now on, and the monitor free for another. The record, or NULL when PID serves no session
 * (or TO stands for one already).
 */
const struct child *children_pass(struct children *c, pid_t pid, pid_t to);

/* children_remove_passed - forget the session GROUP passed to process PID, into OUT; false when there is none. */
bool children_remove_passed(struct children *c, pid_t group, pid_t pid, struct child *out);

/* children_has_group - whether monitor GROUP has passed on a session that is not over. */
bool children_has_group(const struct children *c, pid_t group);

/* children_remove_group - forget one session monitor GROUP passed on (it died, and they with it), into OUT. */
bool children_remove_group(struct children *c, pid_t group, struct child *out);

/* children_signal - send SIG to every session's process group. */
void children_signal(const struct children *c, int sig);

#endif
