/* admin_audit.h - the audit trail of admin actions (page and popgatectl), kept in server.state_dir/audit.log. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_ADMIN_AUDIT_H
#define POPGATE_ADMIN_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/cidr.h"
#include "common/config.h"

#define ADMIN_AUDIT_FILE "audit.log"

/* Past this size the trail is renamed to audit.log.1 (one old generation kept): ~20,000 actions. */
#define ADMIN_AUDIT_ROTATE_BYTES (4u << 20)

/* How much of the end of the file a read looks at: the latest actions, never the whole file. */
#define ADMIN_AUDIT_TAIL_BYTES (256u << 10)

/* One action. Lines stay far below PIPE_BUF, so concurrent O_APPEND writers never interleave. */
struct admin_audit_entry {
	int64_t time;
	char actor[64];           /* the admin account, or "popgatectl (root)" */
	char ip[IP_TEXT_MAX];     /* where the admin was; "" for popgatectl */
	char action[32];          /* "login", "logout", "add", "revoke", "block", "unblock", "unlock", ... */
	char detail[320];         /* what it was done to, in words */
};

/*
 * admin_audit_add - append one action. Control characters and tabs in any field become '?', so
 * that no value can add a field or a line. Failures are logged (the action itself stands). 0 or -1.
 */
int admin_audit_add(const struct config *cfg, time_t now, const char *actor, const char *ip, const char *action,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* admin_audit_latest - up to MAX latest actions, newest first, into OUT; how many, or -1. */
long admin_audit_latest(const struct config *cfg, struct admin_audit_entry *out, size_t max);

/* Actions GET /api/audit returns, newest first. */
#define ADMIN_AUDIT_SHOWN 500

struct jw;
/* admin_audit_json - one action as a JSON object. */
void admin_audit_json(struct jw *w, const struct admin_audit_entry *e);

#endif
