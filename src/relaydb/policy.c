/* policy.c - the relay decision: deny list, allow list, then an unexpired authorization. */

#include <string.h>

#include "relaydb/relaydb.h"

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

bool relay_check_lists(const struct config *cfg, const char *ip, char canon[IP_TEXT_MAX], enum relay_reason *reason)
{
	struct ip_addr addr;

	if (ip == NULL || ip_parse(ip, &addr) < 0) {
		*reason = RELAY_UNKNOWN;
		return true;
	}
	if (cidr_list_match(cfg_cidrs(cfg, "relay.deny"), &addr) != NULL) {
		*reason = RELAY_DENY_LIST;
		return true;
	}
	if (cidr_list_match(cfg_cidrs(cfg, "relay.allow"), &addr) != NULL) {
		*reason = RELAY_ALLOW_LIST;
		return true;
	}
	ip_format(&addr, canon);
	return false;
}

enum relay_reason relay_entry_reason(const struct config *cfg, int found, const struct relay_entry *e, time_t now)
{
	if (found < 0)
		return RELAY_DB_ERROR;
	if (found == 0)
		return RELAY_UNKNOWN;
	if (relay_entry_expired(e, now, cfg_duration(cfg, "relay.timeout")))
		return RELAY_EXPIRED;
	return RELAY_AUTHORIZED;
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
