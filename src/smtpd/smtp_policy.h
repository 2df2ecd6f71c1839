/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_policy.h - the relay decision made at RCPT: may this client send to this recipient?
 *
 * Accepted when the recipient's domain is in smtp.relay_domains (or is the bare postmaster), the
 * session authenticated, the client is in relay.allow, or it holds an unexpired POP-before-SMTP
 * authorization. relay.deny wins over all of these, and address tricks are never accepted.
 */
#ifndef POPGATE_SMTP_POLICY_H
#define POPGATE_SMTP_POLICY_H

#include <stdbool.h>
#include <time.h>

#include "common/config.h"
#include "relaydb/lookup.h"
#include "relaydb/relaydb.h"
#include "smtpd/smtp_addr.h"

/* The decision and its reason; the accepting ones come first. */
enum smtp_verdict {
	SMTP_VERDICT_RELAY_DOMAIN, /* the recipient's domain is ours (or a backup-MX domain) */
	SMTP_VERDICT_POSTMASTER,   /* "<postmaster>" without a domain, which RFC 5321 4.5.1 requires */
	SMTP_VERDICT_SMTP_AUTH,    /* the session authenticated with AUTH */
	SMTP_VERDICT_ALLOW_LIST,   /* the client is in relay.allow */
	SMTP_VERDICT_AUTHORIZED,   /* the client holds an unexpired POP-before-SMTP authorization */
	SMTP_VERDICT_DENY_LIST,    /* refused: the client is in relay.deny */
	SMTP_VERDICT_TRICK,        /* refused: percent hack, bang path, source route, ... */
	SMTP_VERDICT_EXPIRED,      /* refused: the client's authorization has expired */
	SMTP_VERDICT_UNKNOWN,      /* refused: nothing allows this client to relay */
	SMTP_VERDICT_TEMPFAIL,     /* the relay database could not be read: refused for now (451) */
};
#define SMTP_VERDICT_COUNT (SMTP_VERDICT_TEMPFAIL + 1)

/*
 * Per-session policy state: the client, its way to the relay database, and the transaction's
 * POP-before-SMTP authorization. A client's authorization is asked of the relay-lookup worker at
 * MAIL, without waiting, so that the worker's hop is off the RCPT's round trip; the transaction's
 * first RCPT that needs the database takes that answer when it authorizes, and asks again when it
 * does not (a login recorded between MAIL and RCPT counts). The later RCPTs of the transaction take
 * the answer while the entry it returned is unexpired, without the hop. A revocation (popgatectl
 * del, the admin page) therefore reaches the next transaction, not one already begun.
 */
struct smtp_policy {
	const struct config *cfg;
	const char *client_ip;      /* canonical text, owned by the caller */
	struct relay_lookup *lookup; /* made at the first lookup that needs the database */
	bool authorized;            /* the worker said RELAY_AUTHORIZED in this transaction */
	struct relay_entry entry;   /* the entry it said so with */
};

/* smtp_policy_init - prepare POL for CLIENT_IP; opens nothing yet. */
void smtp_policy_init(struct smtp_policy *pol, const struct config *cfg, const char *client_ip);

/* smtp_policy_close - close what the lookups opened. */
void smtp_policy_close(struct smtp_policy *pol);

/*
 * smtp_policy_mail - a transaction begins (MAIL accepted) for a session authenticated as AUTH_USER
 * (NULL or "" when not): ask the worker about the client now, unless nothing will need it.
 */
void smtp_policy_mail(struct smtp_policy *pol, const char *auth_user);

/*
 * smtp_policy_end_transaction - forget the transaction's authorization; keep the connection to the
 * lookup worker for the next transaction, unless the worker failed, so that the next one asks anew.
 */
void smtp_policy_end_transaction(struct smtp_policy *pol);

/*
 * smtp_policy_rcpt - the decision for RCPT at NOW (epoch seconds). AUTH_USER is the SMTP AUTH
 * user or NULL. When the database was consulted, *ENTRY (if not NULL) gets its record.
 */
enum smtp_verdict smtp_policy_rcpt(struct smtp_policy *pol, const struct smtp_addr *rcpt,
				   const char *auth_user, time_t now, struct relay_entry *entry);

/* smtp_verdict_accepts - whether V lets the recipient through. */
bool smtp_verdict_accepts(enum smtp_verdict v);

/*
 * smtp_verdict_vouches - whether V accepted the recipient for who the client is (SMTP AUTH,
 * relay.allow, POP-before-SMTP) rather than for where the mail goes (our domains, postmaster).
 */
bool smtp_verdict_vouches(enum smtp_verdict v);

/* smtp_verdict_text - the reason as a word for logs and Received: ("relay-domain", "authorized", ...). */
const char *smtp_verdict_text(enum smtp_verdict v);

/* smtp_relay_domain - whether DOMAIN is in smtp.relay_domains, subdomains included. */
bool smtp_relay_domain(const struct config *cfg, const char *domain);

#endif
