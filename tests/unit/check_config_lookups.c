/* check_config_lookups.c - every configuration key the sources still name in a string exists, with the type asked. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The code reads settings by name (conf(cfg)->server.max_connections), and a name that is
 * not declared, or declared with another type, aborts the process that asks, at run time. This
 * test reads every .c file under src/, finds each such call with a literal key, and makes it
 * against the default configuration: a typo fails here, not in a session.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "check_run.h"

/* The accessors, and a call of each that touches the value. */
static void get_str(const struct config *c, const char *k) { (void)cfg_str_named(c, k); }
static void get_bool(const struct config *c, const char *k) { (void)cfg_bool_named(c, k); }
static void get_int(const struct config *c, const char *k) { (void)cfg_int_named(c, k); }
static void get_size(const struct config *c, const char *k) { (void)cfg_size_named(c, k); }
static void get_duration(const struct config *c, const char *k) { (void)cfg_duration_named(c, k); }
static void get_listen(const struct config *c, const char *k) { (void)cfg_listen_named(c, k); }
static void get_cidrs(const struct config *c, const char *k) { (void)cfg_cidrs_named(c, k); }
static void get_list(const struct config *c, const char *k) { (void)cfg_list_named(c, k); }
static void get_text(const struct config *c, const char *k) { (void)cfg_text(c, k); }
static void get_line(const struct config *c, const char *k) { (void)cfg_line(c, k); }
/* cfg_fail and cfg_is_set find the key as cfg_line does. */

static const struct accessor {
	const char *call;
	void (*get)(const struct config *, const char *);
} accessors[] = {
	{ "cfg_str_named(", get_str }, { "cfg_bool_named(", get_bool }, { "cfg_int_named(", get_int },
	{ "cfg_size_named(", get_size }, { "cfg_duration_named(", get_duration },
	{ "cfg_listen_named(", get_listen }, { "cfg_cidrs_named(", get_cidrs }, { "cfg_list_named(", get_list },
	{ "cfg_text(", get_text }, { "cfg_line(", get_line }, { "cfg_fail(", get_line }, { "cfg_is_set(", get_line },
};

static const struct config *defaults;
static unsigned calls;

/* key_after - the literal key of the call whose arguments start at P, into KEY; false when not a literal. */
static bool key_after(const char *p, char *key, size_t cap)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth-- == 0)
			return false;
		else if (*p == ',' && depth == 0)
			break;
	}
	if (*p != ',')
		return false;
	for (p++; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	if (*p != '"')
		return false;
	const char *end = strchr(p + 1, '"');
	if (end == NULL || (size_t)(end - p - 1) >= cap)
		return false;
	memcpy(key, p + 1, (size_t)(end - p - 1));
	key[end - p - 1] = '\0';
	return strchr(key, '.') != NULL;
}

/* check_text - every accessor call with a literal key in TEXT, made against the defaults. */
static void check_text(const char *text)
{
	static char key[128];

	for (size_t i = 0; i < sizeof(accessors) / sizeof(accessors[0]); i++) {
		const char *call = accessors[i].call;
		for (const char *p = strstr(text, call); p != NULL; p = strstr(p + 1, call)) {
			if (p > text && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))
				continue; /* another function whose name ends the same */
			if (!key_after(p + strlen(call), key, sizeof(key)))
				continue;
			/* A missing key or a wrong type aborts here; the message names the key. */
			accessors[i].get(defaults, key);
			calls++;
		}
	}
}

static char *slurp(const char *path)
{
	FILE *in = fopen(path, "r");
	char *buf;
	long len;

	ck_assert_msg(in != NULL, "cannot open %s", path);
	ck_assert(fseek(in, 0, SEEK_END) == 0 && (len = ftell(in)) >= 0 && fseek(in, 0, SEEK_SET) == 0);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, in), (size_t)len);
	buf[len] = '\0';
	fclose(in);
	return buf;
}

/* check_room - every .c file of the directory src/ROOM. */
static void check_room(const char *src, const char *room)
{
	char dir[4096];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/src/%s", src, room);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
			continue;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = slurp(path);
		check_text(text);
		free(text);
	}
	closedir(d);
}

START_TEST(every_looked_up_key_exists_with_its_type)
{
	const char *src = getenv("POPGATE_SRCDIR") != NULL ? getenv("POPGATE_SRCDIR") : ".";
	char dir[4096];
	struct cfg_error err;
	struct dirent *e;
	DIR *d;

	defaults = config_load_string("defaults.conf", "", &err);
	ck_assert_msg(defaults != NULL, "%s", err.msg);
	snprintf(dir, sizeof(dir), "%s/src", src);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && e->d_type == DT_DIR)
			check_room(src, e->d_name);
	closedir(d);
	/* The scan itself must find the calls, or this test would pass on nothing. */
	ck_assert_msg(calls > 20, "only %u look-ups found under %s", calls, dir);
	struct config *cfg = (struct config *)defaults;
	config_free(&cfg);
}
END_TEST

/* A key that is not declared does abort: the property the scan relies on. */
START_TEST(an_undeclared_key_aborts)
{
	struct cfg_error err;
	struct config *cfg = config_load_string("defaults.conf", "", &err);

	(void)cfg_line(cfg, "server.no_such_key");
}
END_TEST

START_TEST(a_key_asked_with_another_type_aborts)
{
	struct cfg_error err;
	struct config *cfg = config_load_string("defaults.conf", "", &err);

	(void)cfg_bool_named(cfg, "server.max_connections");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_lookups");
	TCase *tc = tcase_create("lookups");

	tcase_add_test(tc, every_looked_up_key_exists_with_its_type);
	tcase_add_test_raise_signal(tc, an_undeclared_key_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, a_key_asked_with_another_type_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return check_run(s);
}
