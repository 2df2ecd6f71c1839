/* smtp_policy.c - the RCPT relay decision, with every reason named; the database is read last. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "common/log.h"
#include "smtpd/smtp_policy.h"

void smtp_policy_init(struct smtp_policy *pol, const struct config *cfg, const char *client_ip)
{
	pol->cfg = cfg;
	pol->client_ip = client_ip;
	pol->lookup = NULL;
	pol->authorized = false;
}

void smtp_policy_close(struct smtp_policy *pol)
{
	relay_lookup_free(&pol->lookup);
	pol->authorized = false;
}

void smtp_policy_mail(struct smtp_policy *pol, const char *auth_user)
{
	if (auth_user != NULL && auth_user[0] != '\0')
		return; /* every recipient of an authenticated session passes without the database */
	if (pol->lookup == NULL && (pol->lookup = relay_lookup_new(pol->cfg)) == NULL)
		return; /* the RCPT that needs it says so */
	relay_lookup_prefetch(pol->lookup, pol->client_ip);
}

void smtp_policy_end_transaction(struct smtp_policy *pol)
{
	pol->authorized = false;
	if (pol->lookup == NULL)
		return;
	if (relay_lookup_failed(pol->lookup))
		relay_lookup_free(&pol->lookup);
	else
		relay_lookup_end_transaction(pol->lookup);
}

bool smtp_relay_domain(const struct config *cfg, const char *domain)
{
	const struct str_list *l = &conf(cfg)->smtp.relay_domains;

	if (domain[0] == '\0' || domain[0] == '[')
		return false; /* address literals never name one of our domains */
	for (size_t i = 0; i < l->n; i++)
		if (smtp_domain_in(domain, l->v[i]))
			return true;
	return false;
}

/*
 * from_database - the POP-before-SMTP lookup: the answer the worker gave to the question asked at
 * MAIL, or asked now, or the transaction's earlier answer while its entry is unexpired.
 */
static enum smtp_verdict from_database(struct smtp_policy *pol, time_t now, struct relay_entry *entry)
{
	enum relay_reason reason = RELAY_AUTHORIZED;

	if (!pol->authorized || relay_entry_expired(&pol->entry, now, conf(pol->cfg)->relay.timeout)) {
		if (pol->lookup == NULL && (pol->lookup = relay_lookup_new(pol->cfg)) == NULL) {
			log_err("smtp: relay lookup: out of memory");
			return SMTP_VERDICT_TEMPFAIL;
		}
		reason = relay_lookup_check(pol->lookup, pol->client_ip, now, &pol->entry);
		pol->authorized = reason == RELAY_AUTHORIZED;
	}
	if (entry != NULL)
		*entry = pol->entry;
	switch (reason) {
	case RELAY_DENY_LIST: return SMTP_VERDICT_DENY_LIST;
	case RELAY_ALLOW_LIST: return SMTP_VERDICT_ALLOW_LIST;
	case RELAY_AUTHORIZED: return SMTP_VERDICT_AUTHORIZED;
	case RELAY_EXPIRED: return SMTP_VERDICT_EXPIRED;
	case RELAY_UNKNOWN: return SMTP_VERDICT_UNKNOWN;
	case RELAY_DB_ERROR: break;
	}
	return SMTP_VERDICT_TEMPFAIL;
}

enum smtp_verdict smtp_policy_rcpt(struct smtp_policy *pol, const struct smtp_addr *rcpt,
				   const char *auth_user, time_t now, struct relay_entry *entry)
{
	struct relay_entry scratch;
	enum relay_reason lists;

	if (rcpt->flags & SMTP_ADDR_TRICKS)
		return SMTP_VERDICT_TRICK;
	/* The lists alone first (no database): relay.deny wins over everything, even our own domains. */
	lists = relay_check_ip(pol->cfg, NULL, pol->client_ip, now, &scratch);
	if (lists == RELAY_DENY_LIST)
		return SMTP_VERDICT_DENY_LIST;
	if (rcpt->flags & SMTP_ADDR_POSTMASTER)
		return SMTP_VERDICT_POSTMASTER;
	if (smtp_relay_domain(pol->cfg, rcpt->domain))
		return SMTP_VERDICT_RELAY_DOMAIN;
	if (auth_user != NULL && auth_user[0] != '\0')
		return SMTP_VERDICT_SMTP_AUTH;
	if (lists == RELAY_ALLOW_LIST)
		return SMTP_VERDICT_ALLOW_LIST;
	return from_database(pol, now, entry);
}

bool smtp_verdict_accepts(enum smtp_verdict v)
{
	return v <= SMTP_VERDICT_AUTHORIZED;
}

bool smtp_verdict_vouches(enum smtp_verdict v)
{
	return v == SMTP_VERDICT_SMTP_AUTH || v == SMTP_VERDICT_ALLOW_LIST || v == SMTP_VERDICT_AUTHORIZED;
}

const char *smtp_verdict_text(enum smtp_verdict v)
{
	static const char *const text[SMTP_VERDICT_COUNT] = {
		[SMTP_VERDICT_RELAY_DOMAIN] = "relay-domain",
		[SMTP_VERDICT_POSTMASTER] = "postmaster",
		[SMTP_VERDICT_SMTP_AUTH] = "smtp-auth",
		[SMTP_VERDICT_ALLOW_LIST] = "allow-list",
		[SMTP_VERDICT_AUTHORIZED] = "authorized",
		[SMTP_VERDICT_DENY_LIST] = "deny-list",
		[SMTP_VERDICT_TRICK] = "address-trick",
		[SMTP_VERDICT_EXPIRED] = "expired",
		[SMTP_VERDICT_UNKNOWN] = "not-authorized",
		[SMTP_VERDICT_TEMPFAIL] = "database-error",
	};

	return (unsigned)v < SMTP_VERDICT_COUNT ? text[v] : "unknown";
}
