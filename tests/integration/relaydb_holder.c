/* relaydb_holder.c - test helper: hold a relay database record locked until killed, as a dying popgatectl would. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * usage: relaydb_holder DB_DIR IP
 *
 * Opens the relay environment in DB_DIR the way every popgate process does (relaydb_env_open:
 * the open lock, DB_REGISTER, thread tracking) and writes IP's record, stopping inside DB->put
 * (in the btree's comparison function) with the record's page write-locked by its transaction
 * and latched: the state a process killed in the middle of a write leaves behind. It prints
 * "held" then and waits for SIGKILL, which is the point. IP's record must exist (the comparison
 * needs a key to compare with). Exit 2 on a usage or database error (said on stderr).
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "relaydb/relaydb_int.h"

/* Set just before the put: the comparisons of DB->open and before must not stop. */
static volatile sig_atomic_t armed;

/* say_held - tell the test, which reads our stdout, that the record is held now. */
static void say_held(void)
{
	static const char msg[] = "held\n";

	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
}

/* wait_forever - until SIGKILL; nothing here returns. */
static void wait_forever(void)
{
	for (;;)
		pause();
}

/*
 * compare - Berkeley DB's default btree order (bytes, then the shorter first), which the file was
 * built with; armed, it stops at its first call, inside DB->put with IP's page locked and latched.
 */
static int compare(DB *db, const DBT *a, const DBT *b)
{
	size_t n = a->size < b->size ? a->size : b->size;
	int c = memcmp(a->data, b->data, n);

	(void)db;
	if (armed) {
		say_held();
		wait_forever();
	}
	if (c != 0)
		return c;
	return a->size < b->size ? -1 : a->size > b->size ? 1 : 0;
}

/* hold - a second handle on the btree with our comparison, and a put of KEY that stops inside it. */
static int hold(struct relaydb *rdb, DBT *key)
{
	static const char value[] = "held by relaydb_holder";
	DB *db = NULL;
	DBT val;
	int ret;

	if ((ret = db_create(&db, rdb->env, 0)) != 0 || (ret = db->set_bt_compare(db, compare)) != 0 ||
	    (ret = db->open(db, NULL, RELAYDB_FILE, NULL, DB_BTREE, DB_AUTO_COMMIT, 0)) != 0)
		return ret;
	memset(&val, 0, sizeof(val));
	val.data = (void *)value;
	val.size = sizeof(value);
	armed = 1;
	ret = db->put(db, NULL, key, &val, DB_AUTO_COMMIT);
	return ret != 0 ? ret : DB_NOTFOUND; /* the tree had no other key to compare IP's with */
}

int main(int argc, char **argv)
{
	static struct relaydb rdb;
	char err[PATH_MAX + 128];
	DBT key;
	int ret;

	if (argc != 3 || strlen(argv[1]) >= sizeof(rdb.home)) {
		fprintf(stderr, "usage: relaydb_holder DB_DIR IP\n");
		return 2;
	}
	memcpy(rdb.home, argv[1], strlen(argv[1]) + 1);
	rdb.ops = &relaydb_bdb_ops;
	if (relaydb_env_open(&rdb, err, sizeof(err)) < 0) {
		fprintf(stderr, "relaydb_holder: %s\n", err);
		return 2;
	}
	memset(&key, 0, sizeof(key));
	key.data = argv[2];
	key.size = (u_int32_t)strlen(argv[2]);
	ret = hold(&rdb, &key);
	fprintf(stderr, "relaydb_holder: %s: %s\n", argv[2], db_strerror(ret));
	return 2;
}
