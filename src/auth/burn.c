/* burn.c - the check a failed login spends: the scheme and cost most of the backend's own users have. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "auth/auth_int.h"
#include "common/log.h"

/*
 * setting_len - how much of HASH is its setting (scheme, cost and salt): what crypt(3)
 * needs to hash another password the same way. Up to the last '$' for the "$id$...$salt$hash"
 * schemes; bcrypt's salt runs into its hash at a fixed offset; DES and BSDi have fixed widths.
 */
static size_t setting_len(const char *hash)
{
	const char *last = strrchr(hash, '$');
	size_t len = strlen(hash);

	if (strncmp(hash, "$2", 2) == 0)
		return len < 29 ? len : 29;
	if (hash[0] == '$' && last != NULL)
		return (size_t)(last - hash) + 1;
	if (hash[0] == '_')
		return len < 9 ? len : 9;
	return len < 2 ? len : 2;
}

/*
 * cost_len - how much of HASH names its scheme and cost, without the salt: two hashes alike up to
 * there cost the same to check. "$6$" and "$6$rounds=N$", "$y$j9T$", "$2b$05$", "_" plus the
 * count; DES ("") has no cost to name.
 */
static size_t cost_len(const char *hash)
{
	size_t set = setting_len(hash);

	if (strncmp(hash, "$2", 2) == 0)
		return set < 7 ? set : 7;
	if (hash[0] == '$' && set >= 2) {
		size_t i = set - 1; /* the '$' ending the salt */

		while (i > 0 && hash[i - 1] != '$')
			i--;
		return i;
	}
	if (hash[0] == '_')
		return set < 5 ? set : 5;
	return 0;
}

void auth_burn_tally_reset(struct auth_burn_tally *t)
{
	explicit_bzero(t, sizeof(*t));
}

void auth_burn_tally_add(struct auth_burn_tally *t, const char *hash)
{
	size_t key, set, i;

	if (!auth_hash_usable(hash))
		return;
	key = cost_len(hash);
	set = setting_len(hash);
	if (key >= AUTH_COST_KEY_MAX || set >= AUTH_HASH_MAX)
		return;
	t->total++;
	for (i = 0; i < t->kinds; i++)
		if (strlen(t->kind[i].key) == key && strncmp(t->kind[i].key, hash, key) == 0)
			break;
	if (i == t->kinds) {
		if (t->kinds == AUTH_BURN_KINDS)
			return; /* a ninth kind is too rare to be the one most users have */
		memcpy(t->kind[i].key, hash, key);
		t->kind[i].key[key] = '\0';
		memcpy(t->kind[i].setting, hash, set);
		t->kind[i].setting[set] = '\0';
		t->kinds++;
	}
	t->kind[i].n++;
}

const char *auth_burn_tally_pick(const struct auth_burn_tally *t, size_t *n)
{
	size_t best = 0;

	if (t->kinds == 0) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 1; i < t->kinds; i++)
		if (t->kind[i].n > t->kind[best].n)
			best = i;
	*n = t->kind[best].n;
	return t->kind[best].setting;
}

void auth_burn_tally_report(const struct auth_burn_tally *t, const char *where, struct auth_burn_said *last)
{
	size_t n;
	const char *like = auth_burn_tally_pick(t, &n);
	struct auth_burn_said now = { .said = true, .n = n, .total = t->total };

	if (like != NULL)
		memcpy(now.key, like, cost_len(like)); /* shorter than the key field: auth_burn_tally_add */
	if (last->said && last->n == now.n && last->total == now.total && strcmp(last->key, now.key) == 0)
		return;
	*last = now;
	if (like == NULL)
		log_info("auth: no usable password hash in %s: a failed login costs one yescrypt check", where);
	else
		log_info("auth: a failed login costs one check like a \"%s\" hash: %zu of the %zu usable hashes "
			 "in %s are of that kind", now.key, n, t->total, where);
}
