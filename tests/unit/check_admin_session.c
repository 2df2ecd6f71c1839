/* check_admin_session.c - unit tests of admin sessions, CSRF tokens and login throttling. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin_session.h"
#include "admin/admin_throttle.h"
#include "check_run.h"

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

START_TEST(create_and_find)
{
	static struct admin_sessions t;
	struct admin_session *s, *f;
	char id[ADMIN_TOKEN_HEX];

	admin_sessions_init(&t, 600);
	s = admin_session_create(&t, "alice", ADMIN_ROLE_ADMIN, 1000);
	ck_assert_ptr_nonnull(s);
	ck_assert(is_hex64(s->id));
	ck_assert(is_hex64(s->csrf));
	ck_assert_str_ne(s->id, s->csrf);
	ck_assert_str_eq(s->user, "alice");
	memcpy(id, s->id, sizeof(id));
	f = admin_session_find(&t, id, 1100);
	ck_assert_ptr_eq(f, s);
	ck_assert_int_eq(f->last, 1100);
	ck_assert_int_eq(admin_session_expires_in(&t, f, 1100), 600);
	ck_assert_uint_eq(admin_sessions_count(&t, 1100), 1);
	/* Wrong, truncated, extended, empty and NULL ids find nothing. */
	id[10] ^= 1;
	ck_assert_ptr_null(admin_session_find(&t, id, 1100));
	id[10] ^= 1;
	id[63] = '\0';
	ck_assert_ptr_null(admin_session_find(&t, id, 1100));
	ck_assert_ptr_null(admin_session_find(&t, "", 1100));
	ck_assert_ptr_null(admin_session_find(&t, NULL, 1100));
	{
		char longer[80];
		snprintf(longer, sizeof(longer), "%s0", s->id);
		ck_assert_ptr_null(admin_session_find(&t, longer, 1100));
	}
}
END_TEST

START_TEST(ids_differ)
{
	static struct admin_sessions t;
	struct admin_session *a, *b;

	admin_sessions_init(&t, 600);
	a = admin_session_create(&t, "a", ADMIN_ROLE_VIEWER, 1);
	b = admin_session_create(&t, "a", ADMIN_ROLE_VIEWER, 1);
	ck_assert_ptr_ne(a, b);
	ck_assert_str_ne(a->id, b->id);
	ck_assert_str_ne(a->csrf, b->csrf);
}
END_TEST

START_TEST(idle_expiry_and_touch)
{
	static struct admin_sessions t;
	struct admin_session *s;
	char id[ADMIN_TOKEN_HEX];

	admin_sessions_init(&t, 60);
	s = admin_session_create(&t, "bob", ADMIN_ROLE_VIEWER, 1000);
	memcpy(id, s->id, sizeof(id));
	/* Each use restarts the idle clock. */
	ck_assert_ptr_nonnull(admin_session_find(&t, id, 1059));
	ck_assert_ptr_nonnull(admin_session_find(&t, id, 1118));
	ck_assert_ptr_null(admin_session_find(&t, id, 1178));
	ck_assert_uint_eq(admin_sessions_count(&t, 1178), 0);
	ck_assert(!t.s[0].used && t.s[0].id[0] == '\0');   /* wiped */
}
END_TEST

START_TEST(max_age_and_clock_going_back)
{
	static struct admin_sessions t;
	struct admin_session *s;
	char id[ADMIN_TOKEN_HEX];
	time_t now = 5000;

	admin_sessions_init(&t, 3600);
	s = admin_session_create(&t, "carol", ADMIN_ROLE_ADMIN, now);
	memcpy(id, s->id, sizeof(id));
	while (now + 3000 < 5000 + ADMIN_SESSION_MAX_AGE) {
		now += 3000;
		ck_assert_ptr_nonnull(admin_session_find(&t, id, now));
	}
	ck_assert_ptr_null(admin_session_find(&t, id, 5000 + ADMIN_SESSION_MAX_AGE));
	s = admin_session_create(&t, "carol", ADMIN_ROLE_ADMIN, 9000);
	memcpy(id, s->id, sizeof(id));
	ck_assert_ptr_null(admin_session_find(&t, id, 8000));
}
END_TEST

START_TEST(table_is_bounded_lru_evicted)
{
	static struct admin_sessions t;
	struct admin_session *first, *s;
	char first_id[ADMIN_TOKEN_HEX], second_id[ADMIN_TOKEN_HEX];

	admin_sessions_init(&t, 3600);
	first = admin_session_create(&t, "u0", ADMIN_ROLE_VIEWER, 100);
	memcpy(first_id, first->id, sizeof(first_id));
	s = admin_session_create(&t, "u1", ADMIN_ROLE_VIEWER, 101);
	memcpy(second_id, s->id, sizeof(second_id));
	for (int i = 2; i < ADMIN_SESSIONS_MAX; i++)
		ck_assert_ptr_nonnull(admin_session_create(&t, "u", ADMIN_ROLE_VIEWER, 102 + i));
	ck_assert_uint_eq(admin_sessions_count(&t, 200), ADMIN_SESSIONS_MAX);
	/* Using the oldest makes the second-oldest the one to go. */
	ck_assert_ptr_nonnull(admin_session_find(&t, first_id, 300));
	ck_assert_ptr_nonnull(admin_session_create(&t, "new", ADMIN_ROLE_VIEWER, 301));
	ck_assert_uint_eq(admin_sessions_count(&t, 301), ADMIN_SESSIONS_MAX);
	ck_assert_ptr_nonnull(admin_session_find(&t, first_id, 302));
	ck_assert_ptr_null(admin_session_find(&t, second_id, 302));
}
END_TEST

START_TEST(csrf_and_end)
{
	static struct admin_sessions t;
	struct admin_session *s;
	char id[ADMIN_TOKEN_HEX], csrf[ADMIN_TOKEN_HEX];

	admin_sessions_init(&t, 600);
	s = admin_session_create(&t, "dave", ADMIN_ROLE_ADMIN, 10);
	memcpy(id, s->id, sizeof(id));
	memcpy(csrf, s->csrf, sizeof(csrf));
	ck_assert(admin_session_csrf_ok(s, csrf));
	ck_assert(!admin_session_csrf_ok(s, id));
	ck_assert(!admin_session_csrf_ok(s, NULL));
	ck_assert(!admin_session_csrf_ok(s, ""));
	ck_assert(!admin_session_csrf_ok(NULL, csrf));
	csrf[0] = csrf[0] == 'a' ? 'b' : 'a';
	ck_assert(!admin_session_csrf_ok(s, csrf));
	admin_session_end(s);
	ck_assert_ptr_null(admin_session_find(&t, id, 11));
	ck_assert_ptr_null(admin_session_create(&t, "a-name-much-longer-than-sixty-four-characters-"
						"is-refused-by-the-table", ADMIN_ROLE_VIEWER, 12));
}
END_TEST

START_TEST(role_names)
{
	ck_assert_str_eq(admin_role_name(ADMIN_ROLE_ADMIN), "admin");
	ck_assert_str_eq(admin_role_name(ADMIN_ROLE_VIEWER), "viewer");
	ck_assert_str_eq(admin_role_name(ADMIN_ROLE_NONE), "none");
}
END_TEST

START_TEST(throttle_grows_and_clears)
{
	static struct admin_throttle t;
	const char *ip = "192.0.2.7";
	long d;

	admin_throttle_init(&t);
	for (int i = 1; i < ADMIN_THROTTLE_FREE; i++) {
		ck_assert_int_eq(admin_throttle_fail(&t, ip, 100), 0);
		ck_assert_int_eq(admin_throttle_wait(&t, ip, 100), 0);
	}
	ck_assert_int_eq(admin_throttle_fail(&t, ip, 100), ADMIN_THROTTLE_BASE);
	ck_assert_int_eq(admin_throttle_wait(&t, ip, 101), ADMIN_THROTTLE_BASE - 1);
	ck_assert_int_eq(admin_throttle_wait(&t, "192.0.2.8", 101), 0);  /* others are not affected */
	ck_assert_int_eq(admin_throttle_wait(&t, ip, 100 + ADMIN_THROTTLE_BASE), 0);
	ck_assert_int_eq(admin_throttle_fail(&t, ip, 110), 2 * ADMIN_THROTTLE_BASE);
	ck_assert_int_eq(admin_throttle_fail(&t, ip, 130), 4 * ADMIN_THROTTLE_BASE);
	for (int i = 0; i < 40; i++)
		d = admin_throttle_fail(&t, ip, 200);
	ck_assert_int_eq(d, ADMIN_THROTTLE_CAP);
	ck_assert_int_eq(admin_throttle_wait(&t, ip, 200), ADMIN_THROTTLE_CAP);
	admin_throttle_ok(&t, ip);
	ck_assert_int_eq(admin_throttle_wait(&t, ip, 200), 0);
	ck_assert_int_eq(admin_throttle_fail(&t, ip, 201), 0);
}
END_TEST

START_TEST(throttle_forgets_quiet_addresses)
{
	static struct admin_throttle t;
	const char *ip = "2001:db8::1";

	admin_throttle_init(&t);
	for (int i = 1; i < ADMIN_THROTTLE_FREE; i++)
		admin_throttle_fail(&t, ip, 100);
	/* An hour later the count starts again from zero. */
	ck_assert_int_eq(admin_throttle_fail(&t, ip, 100 + ADMIN_THROTTLE_FORGET), 0);
}
END_TEST

START_TEST(throttle_table_bounded)
{
	static struct admin_throttle t;
	char ip[IP_TEXT_MAX];

	admin_throttle_init(&t);
	for (int i = 0; i < ADMIN_THROTTLE_FREE; i++)
		admin_throttle_fail(&t, "198.51.100.1", 10);
	ck_assert_int_gt(admin_throttle_wait(&t, "198.51.100.1", 11), 0);
	/* Many other addresses fill the table; the newest failures are kept, the stalest reused. */
	for (int i = 0; i < 3 * ADMIN_THROTTLE_SLOTS; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		admin_throttle_fail(&t, ip, 12 + i);
	}
	ck_assert_int_eq(admin_throttle_wait(&t, "198.51.100.1", 13), 0);
	snprintf(ip, sizeof(ip), "10.0.%d.%d", (3 * ADMIN_THROTTLE_SLOTS - 1) / 256,
		 (3 * ADMIN_THROTTLE_SLOTS - 1) % 256);
	for (int i = 1; i < ADMIN_THROTTLE_FREE; i++)
		admin_throttle_fail(&t, ip, 2000);
	ck_assert_int_gt(admin_throttle_wait(&t, ip, 2000), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("admin_session");
	TCase *tc = tcase_create("sessions");
	TCase *th = tcase_create("throttle");

	tcase_add_test(tc, create_and_find);
	tcase_add_test(tc, ids_differ);
	tcase_add_test(tc, idle_expiry_and_touch);
	tcase_add_test(tc, max_age_and_clock_going_back);
	tcase_add_test(tc, table_is_bounded_lru_evicted);
	tcase_add_test(tc, csrf_and_end);
	tcase_add_test(tc, role_names);
	tcase_add_test(th, throttle_grows_and_clears);
	tcase_add_test(th, throttle_forgets_quiet_addresses);
	tcase_add_test(th, throttle_table_bounded);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	return check_run(suite());
}
