/* policy.c - the relay decision: deny list, allow list, then an unexpired authorization. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "relaydb/relaydb_int.h"

bool relay_entry_expired(const struct relay_entry *e, time_t now, long long timeout)
{
	if (e->expires <= (int64_t)now)
		return true;
	/*
	 * A login's authorization also ends relay.timeout after it was last refreshed, so shortening
	 * the timeout takes effect at once; a manual entry keeps the ttl it was given.
	 */
	if (strcmp(e->proto, RELAY_PROTO_MANUAL) != 0 && timeout > 0 && e->last <= (int64_t)now - timeout)
		return true;
	return false;
}

int64_t relay_entry_until(const struct relay_entry *e, long long timeout)
{
	/* A login entry also ends at last + timeout (see relay_entry_expired); a manual one keeps its ttl. */
	if (strcmp(e->proto, RELAY_PROTO_MANUAL) != 0 && timeout > 0 && e->last + timeout < e->expires)
		return e->last + timeout;
	return e->expires;
}

/* lost_lately - whether an authorization could not be written in CFG's database within TIMEOUT of NOW. */
static bool lost_lately(const struct config *cfg, time_t now, long long timeout)
{
	time_t lost = relaydb_unrecorded_last(conf(cfg)->relay.db_dir);
	long long age = (long long)now - (long long)lost;

	/* A note from the future (a clock set back) counts as recent, but not for ever. */
	return lost != 0 && age < timeout && age > -timeout;
}

bool relay_check_lists(const struct config *cfg, const char *ip, char canon[IP_TEXT_MAX], enum relay_reason *reason)
{
	struct ip_addr addr;

	if (ip == NULL || ip_parse(ip, &addr) < 0) {
		*reason = RELAY_UNKNOWN;
		return true;
	}
	if (cidr_list_match(&conf(cfg)->relay.deny, &addr) != NULL) {
		*reason = RELAY_DENY_LIST;
		return true;
	}
	if (cidr_list_match(&conf(cfg)->relay.allow, &addr) != NULL) {
		*reason = RELAY_ALLOW_LIST;
		return true;
	}
	ip_format(&addr, canon);
	return false;
}

enum relay_reason relay_entry_answer(const struct config *cfg, int found, const struct relay_entry *e, time_t now)
{
	if (found < 0)
		return RELAY_DB_ERROR;
	if (found > 0 && !relay_entry_expired(e, now, conf(cfg)->relay.timeout))
		return RELAY_AUTHORIZED;
	return found == 0 ? RELAY_UNKNOWN : RELAY_EXPIRED;
}

enum relay_reason relay_entry_reason(const struct config *cfg, int found, const struct relay_entry *e, time_t now)
{
	enum relay_reason reason = relay_entry_answer(cfg, found, e, now);

	/*
	 * A login whose authorization could not be written lately may be this client's: a refusal
	 * would bounce its mail for good, a temporary failure makes it retry (see unrecorded.c).
	 */
	if ((reason == RELAY_UNKNOWN || reason == RELAY_EXPIRED) && lost_lately(cfg, now, conf(cfg)->relay.timeout))
		return RELAY_DB_ERROR;
	return reason;
}

enum relay_reason relay_check_ip(const struct config *cfg, struct relaydb *db, const char *ip,
				 time_t now, struct relay_entry *e)
{
	struct relay_entry local;
	char canon[IP_TEXT_MAX];
	enum relay_reason reason;

	if (e == NULL)
		e = &local;
	memset(e, 0, sizeof(*e));
	if (relay_check_lists(cfg, ip, canon, &reason))
		return reason;
	if (db == NULL)
		return RELAY_DB_ERROR;
	return relay_entry_reason(cfg, relaydb_get(db, canon, e), e, now);
}

bool relay_allowed(enum relay_reason reason)
{
	return reason == RELAY_ALLOW_LIST || reason == RELAY_AUTHORIZED;
}

const char *relay_reason_text(enum relay_reason reason)
{
	switch (reason) {
	case RELAY_DENY_LIST: return "deny-list";
	case RELAY_ALLOW_LIST: return "allow-list";
	case RELAY_AUTHORIZED: return "authorized";
	case RELAY_EXPIRED: return "expired";
	case RELAY_UNKNOWN: return "unknown";
	case RELAY_DB_ERROR: return "db-error";
	}
	return "db-error";
}
