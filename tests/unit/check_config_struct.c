/* check_config_struct.c - struct popgate_conf matches the key registry, and load and reload fill it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The code reads settings as conf(cfg)->section.key; each key row in keys_*.c carries its field's
 * offset and size. These tests hold the two together: every key has a field of its type's size,
 * no two keys share bytes, the defaults and the file's values land in the fields, and a reload
 * (a new config from the changed file) carries the new values while the old config is untouched.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "check_run.h"
#include "testlib.h"

/* type_size - the size of the C type that holds a value of type T. */
static size_t type_size(enum cfg_type t)
{
	switch (t) {
	case CFG_STRING:
	case CFG_PATH:
	case CFG_ENUM:
		return sizeof(const char *);
	case CFG_BOOL:
		return sizeof(bool);
	case CFG_INT:
	case CFG_DURATION:
		return sizeof(long long);
	case CFG_SIZE:
		return sizeof(uint64_t);
	case CFG_LIST:
		return sizeof(struct str_list);
	case CFG_LISTEN:
		return sizeof(struct listen_list);
	case CFG_CIDRS:
		return sizeof(struct cidr_list);
	}
	return 0;
}

static const void *field(const struct config *cfg, const struct cfg_key *k)
{
	return (const char *)conf(cfg) + k->offset;
}

START_TEST(every_key_has_a_field_of_its_type)
{
	static unsigned char owner[sizeof(struct popgate_conf)];
	size_t keys = 0, bytes = 0, bools = 0, sections = 0;

	memset(owner, 0, sizeof(owner));
	for (const struct cfg_section *sec = cfg_sections; sec->name != NULL; sec++, sections++) {
		for (const struct cfg_key *k = sec->keys; k->name != NULL; k++, keys++) {
			bools += k->type == CFG_BOOL;
			ck_assert_msg(k->size == type_size(k->type), "%s.%s: field of %zu bytes for its type's %zu",
				      sec->name, k->name, k->size, type_size(k->type));
			ck_assert_msg(k->offset + k->size <= sizeof(struct popgate_conf),
				      "%s.%s: field outside the struct", sec->name, k->name);
			for (size_t b = k->offset; b < k->offset + k->size; b++) {
				ck_assert_msg(owner[b] == 0, "%s.%s shares its field with another key",
					      sec->name, k->name);
				owner[b] = 1;
			}
			bytes += k->size;
		}
	}
	ck_assert_uint_gt(keys, 80);
	/* Nothing in the struct but the keys' fields and padding (after a bool, at a section's end). */
	ck_assert_uint_le(sizeof(struct popgate_conf) - bytes, 7 * (bools + sections));
}
END_TEST

/* check_default - the field of K in CFG holds K's default, parsed here independently of the loader. */
static void check_default(const struct config *cfg, const char *sec, const struct cfg_key *k)
{
	const void *f = field(cfg, k);
	const char *why;
	long long ll;
	uint64_t u;
	bool b;

	switch (k->type) {
	case CFG_STRING:
	case CFG_PATH:
	case CFG_ENUM:
		ck_assert_msg(strcmp(*(const char *const *)f, k->def) == 0, "%s.%s", sec, k->name);
		break;
	case CFG_BOOL:
		ck_assert(cfg_parse_bool(k->def, &b) == 0);
		ck_assert_msg(*(const bool *)f == b, "%s.%s", sec, k->name);
		break;
	case CFG_INT:
		ck_assert_msg(*(const long long *)f == strtoll(k->def, NULL, 10), "%s.%s", sec, k->name);
		break;
	case CFG_DURATION:
		ck_assert(cfg_parse_duration(k->def, &ll, &why) == 0);
		ck_assert_msg(*(const long long *)f == ll, "%s.%s", sec, k->name);
		break;
	case CFG_SIZE:
		ck_assert(cfg_parse_size(k->def, &u, &why) == 0);
		ck_assert_msg(*(const uint64_t *)f == u, "%s.%s", sec, k->name);
		break;
	case CFG_LIST:
	case CFG_LISTEN:
	case CFG_CIDRS: {
		/* Every list type starts with its count; the default's words are comma separated. */
		size_t n = *(const size_t *)f, words = 0;
		for (const char *p = k->def; *p != '\0'; p++)
			words += (p == k->def || p[-1] == ',') && *p != ',';
		ck_assert_msg(n == words, "%s.%s: %zu entries for default '%s'", sec, k->name, n, k->def);
		break;
	}
	}
}

START_TEST(defaults_land_in_the_struct)
{
	struct config *cfg = tl_config("");

	for (const struct cfg_section *sec = cfg_sections; sec->name != NULL; sec++)
		for (const struct cfg_key *k = sec->keys; k->name != NULL; k++)
			check_default(cfg, sec->name, k);
	ck_assert_int_eq(conf(cfg)->server.max_connections, 500);
	ck_assert_int_eq(conf(cfg)->relay.timeout, 30 * 60);
	ck_assert_uint_eq(conf(cfg)->smtp.max_message_size, 25u << 20);
	ck_assert(conf(cfg)->pop3.apop);
	ck_assert_str_eq(conf(cfg)->tls.min_protocol, "TLSv1.2");
	ck_assert_uint_eq(conf(cfg)->relay.allow.n, 2);
	ck_assert_str_eq(conf(cfg)->pop3.listen.v[0].port, "110");
	ck_assert_uint_eq(conf(cfg)->smtp.relay_domains.n, 0);
	config_free(&cfg);
}
END_TEST

static const char *first = "[server]\nmax_connections = 40\nhostname = one.example.org\n"
			   "[smtp]\nmax_message_size = 2M\nrelay_domains = a.example\n  b.example\n"
			   "[pop3]\napop = no\nidle_timeout = 15m\n"
			   "[relay]\nallow = 10.0.0.0/8\n[admin]\nlisten = 127.0.0.1:8080\n";
static const char *second = "[server]\nmax_connections = 70\n"
			    "[smtp]\nrelay_domains = c.example\n"
			    "[relay]\nallow = 192.0.2.0/24, 198.51.100.0/24\n";

START_TEST(file_values_land_in_the_struct)
{
	struct config *cfg = tl_config(first);
	const struct popgate_conf *c = conf(cfg);

	ck_assert_int_eq(c->server.max_connections, 40);
	ck_assert_str_eq(c->server.hostname, "one.example.org");
	ck_assert_uint_eq(c->smtp.max_message_size, 2u << 20);
	/* a list continued on an indented line gathers both */
	ck_assert_uint_eq(c->smtp.relay_domains.n, 2);
	ck_assert_str_eq(c->smtp.relay_domains.v[1], "b.example");
	ck_assert(!c->pop3.apop);
	ck_assert_int_eq(c->pop3.idle_timeout, 15 * 60);
	ck_assert_uint_eq(c->relay.allow.n, 1);
	ck_assert_str_eq(c->admin.listen.v[0].port, "8080");
	/* the named look-ups, kept for computed keys, read the same values */
	ck_assert_int_eq(cfg_int_named(cfg, "server.max_connections"), 40);
	ck_assert_ptr_eq(cfg_list_named(cfg, "smtp.relay_domains"), &c->smtp.relay_domains);
	ck_assert_str_eq(cfg_str_named(cfg, "server.hostname"), cfg_text(cfg, "server.hostname"));
	config_free(&cfg);
}
END_TEST

/* A reload loads the changed file into a new config; the old one keeps its values until freed. */
START_TEST(a_reload_changes_the_struct)
{
	char dir[TL_PATH_MAX], path[TL_PATH_MAX];
	struct cfg_error err;
	struct config *old, *cur;

	tl_scratch(dir, sizeof(dir), "cfgstruct");
	tl_pathbuf(path, sizeof(path), dir, "popgate.conf");
	tl_write_text(path, first);
	old = config_load(path, &err);
	ck_assert_msg(old != NULL, "%s", err.msg);
	tl_write_text(path, second);
	cur = config_load(config_path(old), &err);
	ck_assert_msg(cur != NULL, "%s", err.msg);

	ck_assert_int_eq(conf(cur)->server.max_connections, 70);
	ck_assert_str_eq(conf(cur)->server.hostname, "");
	ck_assert_uint_eq(conf(cur)->smtp.max_message_size, 25u << 20);
	ck_assert_uint_eq(conf(cur)->smtp.relay_domains.n, 1);
	ck_assert_str_eq(conf(cur)->smtp.relay_domains.v[0], "c.example");
	ck_assert_uint_eq(conf(cur)->relay.allow.n, 2);
	ck_assert(conf(cur)->pop3.apop);
	ck_assert_int_eq(conf(old)->server.max_connections, 40);
	ck_assert_uint_eq(conf(old)->smtp.relay_domains.n, 2);
	/* the master frees the old config once the new one is in force */
	config_free(&old);
	ck_assert_str_eq(conf(cur)->smtp.relay_domains.v[0], "c.example");
	config_free(&cur);
	tl_rm_rf(dir);
}
END_TEST

/* A bad value still fails the whole load with FILE:LINE; no half-filled struct is handed out. */
START_TEST(a_bad_value_fails_the_load)
{
	struct cfg_error err;
	struct config *cfg = config_load_string("t.conf", "[server]\nmax_connections = 40\nprocess_reuse = -1\n", &err);

	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err.msg, "t.conf:3: server.process_reuse") != NULL, "%s", err.msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_struct");
	TCase *tc = tcase_create("struct");

	tcase_add_test(tc, every_key_has_a_field_of_its_type);
	tcase_add_test(tc, defaults_land_in_the_struct);
	tcase_add_test(tc, file_values_land_in_the_struct);
	tcase_add_test(tc, a_reload_changes_the_struct);
	tcase_add_test(tc, a_bad_value_fails_the_load);
	suite_add_tcase(s, tc);
	return check_run(s);
}
