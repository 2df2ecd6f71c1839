/* admin_session.c - helpdesk login sessions: random ids, CSRF tokens, idle expiry, bounded table. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin/admin_session.h"

void admin_sessions_init(struct admin_sessions *t, long long idle)
{
	memset(t, 0, sizeof(*t));
	t->idle = idle > 0 ? idle : 1800;
}

int admin_token_hex(char *out, size_t cap, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];

	if (bytes > sizeof(raw) || cap < 2 * bytes + 1)
		return -1;
	if (RAND_bytes(raw, (int)bytes) != 1)
		return -1;
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * bytes] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

void admin_session_end(struct admin_session *s)
{
	explicit_bzero(s, sizeof(*s));
}

static bool expired(const struct admin_sessions *t, const struct admin_session *s, time_t now)
{
	return now - s->last >= t->idle || now - s->created >= ADMIN_SESSION_MAX_AGE ||
	       now < s->created;   /* the clock went back: do not trust the ages */
}

struct admin_session *admin_session_create(struct admin_sessions *t, const char *user,
					   enum admin_role role, time_t now)
{
	struct admin_session *slot = NULL;
	size_t ulen = strlen(user);

	if (ulen >= sizeof(slot->user))
		return NULL;
	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		struct admin_session *s = &t->s[i];
		if (s->used && expired(t, s, now))
			admin_session_end(s);
		if (!s->used) {
			if (!slot || slot->used)
				slot = s;
		} else if (!slot || (slot->used && s->last < slot->last)) {
			slot = s;
		}
	}
	admin_session_end(slot);   /* a used slot here is the least recently used session */
	if (admin_token_hex(slot->id, sizeof(slot->id), ADMIN_TOKEN_BYTES) < 0 ||
	    admin_token_hex(slot->csrf, sizeof(slot->csrf), ADMIN_TOKEN_BYTES) < 0) {
		admin_session_end(slot);
		return NULL;
	}
	memcpy(slot->user, user, ulen + 1);
	slot->role = role;
	slot->created = slot->last = now;
	slot->used = true;
	return slot;
}

/* token_eq - compare a stored token with a client's text without leaking where they differ. */
static bool token_eq(const char *stored, const char *given)
{
	size_t n = strnlen(given, ADMIN_TOKEN_HEX);

	if (n != ADMIN_TOKEN_HEX - 1 || stored[0] == '\0')
		return false;
	return CRYPTO_memcmp(stored, given, ADMIN_TOKEN_HEX - 1) == 0;
}

struct admin_session *admin_session_find(struct admin_sessions *t, const char *id, time_t now)
{
	struct admin_session *found = NULL;

	if (!id)
		return NULL;
	/* Look at every slot, so the time taken does not tell which one matched. */
	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		struct admin_session *s = &t->s[i];
		if (!s->used)
			continue;
		if (expired(t, s, now)) {
			admin_session_end(s);
			continue;
		}
		if (token_eq(s->id, id))
			found = s;
	}
	if (found)
		found->last = now;
	return found;
}

bool admin_session_csrf_ok(const struct admin_session *s, const char *token)
{
	return s && token && token_eq(s->csrf, token);
}

long long admin_session_expires_in(const struct admin_sessions *t, const struct admin_session *s,
				   time_t now)
{
	long long idle_left = t->idle - (long long)(now - s->last);
	long long age_left = ADMIN_SESSION_MAX_AGE - (long long)(now - s->created);

	return idle_left < age_left ? idle_left : age_left;
}

size_t admin_sessions_count(struct admin_sessions *t, time_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		if (t->s[i].used && expired(t, &t->s[i], now))
			admin_session_end(&t->s[i]);
		n += t->s[i].used;
	}
	return n;
}

void admin_sessions_clear(struct admin_sessions *t)
{
	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++)
		admin_session_end(&t->s[i]);
}

const char *admin_role_name(enum admin_role r)
{
	switch (r) {
	case ADMIN_ROLE_VIEWER:
		return "viewer";
	case ADMIN_ROLE_ADMIN:
		return "admin";
	default:
		return "none";
	}
}
