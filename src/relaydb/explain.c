/* explain.c - the relay decision for an address or a user in words: lists, authorization, block, last login. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "relaydb/explain.h"

const char *relay_proto_words(const char *proto)
{
	static const struct { const char *proto, *words; } names[] = {
		{ "pop3", "POP3 login" }, { "pop3s", "POP3 over TLS" }, { "manual", "added by hand" },
		{ "drac", "imported from DRAC" }, { "smtp", "SMTP" }, { "smtps", "SMTP over TLS" },
		{ "smtp-auth", "SMTP AUTH" }, { "admin", "admin page" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(proto, names[i].proto) == 0)
			return names[i].words;
	return proto;
}

/* span - "5m", "2h10m", "3d4h" for SECS >= 0. */
static void span(long long secs, char *buf, size_t len)
{
	if (secs >= 86400)
		snprintf(buf, len, "%lldd%lldh", secs / 86400, secs % 86400 / 3600);
	else if (secs >= 3600)
		snprintf(buf, len, "%lldh%lldm", secs / 3600, secs % 3600 / 60);
	else if (secs >= 60)
		snprintf(buf, len, "%lldm", secs / 60);
	else
		snprintf(buf, len, "%llds", secs);
}

void relay_format_when(int64_t t, time_t now, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	long long d = (long long)t - (long long)now;
	char abs[32], rel[32];
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(abs, sizeof(abs), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(abs, sizeof(abs), "%lld", (long long)t);
	span(d < 0 ? -d : d, rel, sizeof(rel));
	snprintf(buf, len, "%s (%s%s%s)", abs, d > 0 ? "in " : "", d == 0 ? "now" : rel,
		 d < 0 ? " ago" : "");
	if (d == 0)
		snprintf(buf, len, "%s (now)", abs);
}

/* list_net - the network of list KEY holding ADDR into OUT, "" when none. */
static void list_net(const struct config *cfg, const char *key, const struct ip_addr *addr, char *out)
{
	const struct cidr *c = cidr_list_match(cfg_cidrs_named(cfg, key), addr);

	out[0] = '\0';
	if (c != NULL)
		cidr_format(c, out);
}

static int gather_user(const struct relay_entry *e, void *arg)
{
	struct relay_explain *x = arg;

	if (strcmp(e->user, x->user) != 0)
		return 0;
	if (x->user_found < RELAY_EXPLAIN_ENTRIES)
		x->user_entries[x->user_found] = *e;
	x->user_found++;
	return 0;
}

/* explain_ip - the lists and IP's authorization. 0 or -1 (not an address). */
static int explain_ip(const struct config *cfg, struct relaydb *db, const char *ip, time_t now,
		      struct relay_explain *x)
{
	struct ip_addr addr;

	if (ip_parse(ip, &addr) < 0)
		return -1;
	ip_format(&addr, x->ip);
	list_net(cfg, "relay.deny", &addr, x->deny_net);
	list_net(cfg, "relay.allow", &addr, x->allow_net);
	x->found = db != NULL ? relaydb_get(db, x->ip, &x->entry) : -1;
	if (x->found != 1)
		memset(&x->entry, 0, sizeof(x->entry));
	x->reason = relay_check_ip(cfg, db, x->ip, now, NULL);
	return 0;
}

int relay_explain(const struct config *cfg, struct relaydb *db, const char *ip, const char *user, time_t now,
		  struct relay_explain *x)
{
	memset(x, 0, sizeof(*x));
	x->timeout = conf(cfg)->relay.timeout;
	if ((ip == NULL || ip[0] == '\0') && (user == NULL || user[0] == '\0'))
		return -1;
	if (ip != NULL && ip[0] != '\0' && explain_ip(cfg, db, ip, now, x) < 0)
		return -1;
	if (user != NULL && user[0] != '\0') {
		if (!auth_name_valid(user))
			return -1;
		snprintf(x->user, sizeof(x->user), "%s", user);
		x->by_user = true;
		x->user_found = 0;
		if (db == NULL || relaydb_foreach(db, gather_user, x) < 0)
			x->user_found = -1;
	} else if (x->found == 1 && auth_name_valid(x->entry.user)) {
		snprintf(x->user, sizeof(x->user), "%s", x->entry.user);
	}
	if (x->user[0] != '\0')
		x->blocked = auth_block_find(cfg, x->user, now, &x->block);
	return 0;
}

/* say - format one line and hand it to EMIT. */
static void say(void (*emit)(const char *, void *), void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(void (*emit)(const char *, void *), void *arg, const char *fmt, ...)
{
	char line[RELAY_EXPLAIN_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(line, arg);
}

/* decision_lines - the verdict, then the lists and IP's authorization. */
static void decision_lines(const struct relay_explain *x, time_t now, void (*emit)(const char *, void *), void *arg)
{
	const struct relay_entry *e = &x->entry;
	char a[96], b[96];

	const char *net = x->reason == RELAY_DENY_LIST ? x->deny_net : x->reason == RELAY_ALLOW_LIST ? x->allow_net : "";
	bool entry = x->reason == RELAY_AUTHORIZED || x->reason == RELAY_EXPIRED;

	say(emit, arg, "%s: relay %s: %s%s%s%s%s%s", x->ip, relay_allowed(x->reason) ? "allowed" : "denied",
	    relay_reason_text(x->reason), net[0] != '\0' ? " (" : "", net, net[0] != '\0' ? ")" : "",
	    entry ? " user " : "", entry ? (e->user[0] != '\0' ? e->user : "-") : "");
	if (x->deny_net[0] != '\0')
		say(emit, arg, "deny list: %s is on it (%s): relaying is refused whatever else holds", x->ip, x->deny_net);
	else
		say(emit, arg, "deny list: %s is not on it", x->ip);
	if (x->allow_net[0] != '\0')
		say(emit, arg, "allow list: %s is on it (%s)", x->ip, x->allow_net);
	else
		say(emit, arg, "allow list: %s is not on it", x->ip);
	if (x->found < 0) {
		say(emit, arg, "authorization: the relay database cannot be read now (SMTP answers 451, try again)");
		return;
	}
	if (x->found == 0) {
		say(emit, arg, "authorization: none for %s (no POP login from it within relay.timeout)", x->ip);
		return;
	}
	relay_format_when(e->first, now, a, sizeof(a));
	relay_format_when(relay_entry_until(e, x->timeout), now, b, sizeof(b));
	say(emit, arg, "authorization: user %s, %s, since %s, %s %s", e->user[0] != '\0' ? e->user : "-",
	    relay_proto_words(e->proto), a, relay_entry_expired(e, now, x->timeout) ? "expired" : "expires", b);
	relay_format_when(e->last, now, a, sizeof(a));
	say(emit, arg, "last login recorded for %s: %s, user %s, %s (%u login%s)", x->ip, a,
	    e->user[0] != '\0' ? e->user : "-", relay_proto_words(e->proto), e->logins, e->logins == 1 ? "" : "s");
}

/* user_lines - USER's authorizations and block. */
static void user_lines(const struct relay_explain *x, time_t now, void (*emit)(const char *, void *), void *arg)
{
	char a[112], b[96];

	if (x->by_user && x->user_found < 0)
		say(emit, arg, "authorizations of %s: the relay database cannot be read now", x->user);
	else if (x->by_user && x->user_found == 0)
		say(emit, arg, "authorizations of %s: none", x->user);
	for (int i = 0; x->by_user && i < x->user_found && i < RELAY_EXPLAIN_ENTRIES; i++) {
		const struct relay_entry *e = &x->user_entries[i];
		relay_format_when(relay_entry_until(e, x->timeout), now, a, sizeof(a));
		relay_format_when(e->last, now, b, sizeof(b));
		say(emit, arg, "authorization of %s: %s, %s, last login %s, %s %s", x->user, e->ip,
		    relay_proto_words(e->proto), b, relay_entry_expired(e, now, x->timeout) ? "expired" : "expires", a);
	}
	if (x->by_user && x->user_found > RELAY_EXPLAIN_ENTRIES)
		say(emit, arg, "authorizations of %s: %d more not shown", x->user, x->user_found - RELAY_EXPLAIN_ENTRIES);
	if (x->blocked < 0) {
		say(emit, arg, "block: the blocks file cannot be read (logins fail for now)");
	} else if (x->blocked == 0) {
		say(emit, arg, "block: %s is not blocked", x->user);
	} else {
		snprintf(a, sizeof(a), "until lifted");
		if (x->block.until != 0) {
			relay_format_when(x->block.until, now, b, sizeof(b));
			snprintf(a, sizeof(a), "until %s", b);
		}
		say(emit, arg, "block: %s is blocked %s by %s%s%s: logins authorize no relaying, SMTP AUTH is refused%s",
		    x->user, a, x->block.by, x->block.note[0] != '\0' ? ": " : "", x->block.note,
		    x->block.pop ? ", POP logins are refused" : "");
	}
}

/* seen_line - the latest login or relay attempt WHAT, or why it is not known. */
static void seen_line(const char *what, const char *who, const struct relay_explain_seen *s, time_t now,
		      void (*emit)(const char *, void *), void *arg)
{
	char a[96];

	if (s == NULL) {
		say(emit, arg, "%s %s: only the admin page sees the latest events", what, who);
		return;
	}
	if (s->time == 0) {
		say(emit, arg, "%s %s: none among the latest events", what, who);
		return;
	}
	relay_format_when(s->time, now, a, sizeof(a));
	say(emit, arg, "%s %s: %s, %s, %s from %s%s%s", what, who, a, s->what, relay_proto_words(s->proto), s->ip,
	    s->user[0] != '\0' ? ", user " : "", s->user);
}

void relay_explain_lines(const struct relay_explain *x, time_t now, void (*emit)(const char *line, void *arg),
			 void *arg)
{
	if (x->ip[0] != '\0')
		decision_lines(x, now, emit, arg);
	if (x->user[0] != '\0')
		user_lines(x, now, emit, arg);
}

void relay_explain_seen_lines(const struct relay_explain *x, const struct relay_explain_seen *login,
			      const struct relay_explain_seen *attempt, time_t now,
			      void (*emit)(const char *line, void *arg), void *arg)
{
	const char *who = x->ip[0] != '\0' ? x->ip : x->user;

	seen_line("last login seen for", x->user[0] != '\0' && x->by_user ? x->user : who, login, now, emit, arg);
	seen_line("last relay attempt seen for", who, attempt, now, emit, arg);
}
