/* check_relaydb_space.c - unit tests of a full relay.db_dir: allocated regions, refusal, errors not SIGBUS. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "relaydb/relaydb.h"
#include "relaydb/relaydb_int.h"
#include "relaydb_fixture.h"
#include "check_run.h"

#define T0 1700000000  /* the injected clock's start */

/* The tmpfs a test mounts in its scratch directory, if any. */
static char mnt[128];

static void teardown(void)
{
	if (mnt[0] != '\0')
		umount2(mnt, MNT_DETACH);
	mnt[0] = '\0';
	fx_teardown();
}

/*
 * mount_small - a tmpfs of SIZE on fx_dir/fs; false (and a note) when this process may not mount.
 * It is mounted in a mount namespace of the test's own, so it goes with the test's process even
 * when a failed assertion or a signal skips the teardown.
 */
static bool mount_small(const char *size)
{
	char opts[64];

	tl_pathbuf(mnt, sizeof(mnt), fx_dir, "fs");
	snprintf(opts, sizeof(opts), "size=%s,mode=0755", size);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, opts) < 0) {
		printf("check_relaydb_space: skipped a full-filesystem test: cannot mount a tmpfs (%s)\n",
		       geteuid() != 0 ? "not root" : strerror(errno));
		mnt[0] = '\0';
		return false;
	}
	return true;
}

/* config_in - a config whose relay.db_dir is DIR. */
static struct config *config_in(const char *dir)
{
	return tl_configf("[relay]\ndb_dir = %s\nallow = 127.0.0.0/8\n", dir);
}

/* fill - write FILE until the filesystem refuses; the bytes written. */
static long long fill(const char *file)
{
	static char chunk[65536];
	long long total = 0;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = sizeof(chunk);

	ck_assert_int_ge(fd, 0);
	while (len > 0) {
		ssize_t n = write(fd, chunk, len);

		if (n > 0)
			total += n;
		else
			len /= 2;
	}
	close(fd);
	return total;
}

/* mapped_len - how much of the file ST this process maps, from /proc/self/maps. */
static long long mapped_len(const struct stat *st)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	long long best = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long start, end, off, ino;
		unsigned maj, min;

		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &off, &maj, &min, &ino) == 6 &&
		    ino == st->st_ino && maj == major(st->st_dev) && min == minor(st->st_dev) &&
		    (long long)(off + end - start) > best)
			best = (long long)(off + end - start);
	}
	fclose(f);
	return best;
}

/* check_regions - every region file in DIR has blocks for all this process maps; the total mapped. */
static long long check_regions(const char *dir)
{
	long long total = 0;
	int files = 0;

	for (int i = 1; i < 16; i++) {
		char path[300];
		struct stat st;
		long long len;

		snprintf(path, sizeof(path), "%s/__db.%03d", dir, i);
		if (stat(path, &st) < 0)
			continue;
		len = mapped_len(&st);
		ck_assert_msg(len > 0, "%s is not mapped", path);
		ck_assert_msg((long long)st.st_blocks * 512 >= len, "%s: %lld bytes allocated of %lld mapped",
			      path, (long long)st.st_blocks * 512, len);
		ck_assert_msg(st.st_size < len, "%s: its length was changed", path);
		total += len;
		files++;
	}
	ck_assert_int_ge(files, 3);
	return total;
}

START_TEST(regions_are_allocated_whole)
{
	struct config *cfg = fx_config(NULL);
	struct relaydb *db = fx_open_db(cfg);
	char dir[256];
	long long total;

	tl_pathbuf(dir, sizeof(dir), fx_dir, "relay");
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "a", "pop3", 600, T0), 0);
	total = check_regions(dir);
	/* The free-space check before creating relies on this figure. */
	ck_assert_msg(total <= RELAYDB_REGION_BYTES && total > RELAYDB_REGION_BYTES / 2,
		      "regions map %lld bytes; RELAYDB_REGION_BYTES is %u", total, RELAYDB_REGION_BYTES);
	printf("check_relaydb_space: region files allocated whole: %lld bytes (limit %u)\n", total,
	       RELAYDB_REGION_BYTES);
	relaydb_close(&db);

	/* An environment left sparse (made by a popgate without this check) is allocated by its next opener. */
	for (int i = 1; i < 16; i++) {
		char path[300];
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "%s/__db.%03d", dir, i);
		if ((fd = open(path, O_RDWR)) < 0)
			continue;
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size,
					   RELAYDB_REGION_BYTES), 0);
		close(fd);
	}
	db = fx_open_db(cfg);
	ck_assert_int_eq(check_regions(dir), total);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(refuses_to_create_without_space)
{
	struct config *cfg;
	struct relaydb *db = NULL;
	char dir[256], err[512], path[300];

	if (!mount_small("8m"))
		return;
	tl_pathbuf(dir, sizeof(dir), mnt, "relay");
	cfg = config_in(dir);
	ck_assert_int_eq(relaydb_open(cfg, &db, err, sizeof(err)), -1);
	ck_assert_ptr_null(db);
	ck_assert_msg(strstr(err, dir) != NULL && strstr(err, "bytes free") != NULL &&
		      strstr(err, "needed") != NULL, "unclear refusal: %s", err);
	printf("check_relaydb_space: refused: %s\n", err);
	tl_pathbuf(path, sizeof(path), dir, "__db.001");
	ck_assert_int_eq(access(path, F_OK), -1);
	/* The login hook reports it, and the decision fails closed, temporarily. */
	ck_assert_int_eq(relaydb_record_login(cfg, "192.0.2.1", "alice", "pop3"), -1);
	ck_assert_int_eq(relay_check_ip(cfg, NULL, "192.0.2.1", T0, NULL), RELAY_DB_ERROR);
	config_free(&cfg);
}
END_TEST

/* authorize_until_full - authorize 10.0.x.y addresses until one fails; how many got in. */
static int authorize_until_full(struct relaydb *db, time_t now)
{
	char ip[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
		if (relaydb_authorize(db, ip, "bob", "pop3", 600, now) < 0)
			return i;
	}
	ck_abort_msg("20000 authorizations fit on a full filesystem");
	return -1;
}

static int count_entry(const struct relay_entry *e, void *arg)
{
	(void)e;
	++*(int *)arg;
	return 0;
}

/* remove_regions - delete DIR's region files, so the next open makes new ones, never touched. */
static void remove_regions(const char *dir)
{
	for (int i = 1; i < 16; i++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/__db.%03d", dir, i);
		unlink(path);
	}
}

START_TEST(full_filesystem_gives_errors_not_signals)
{
	struct config *cfg;
	struct relaydb *db;
	struct relay_entry e;
	char dir[256], filler[300], ip[32];
	time_t now = time(NULL);
	long long filled;
	int ok, n = 0;

	if (!mount_small("32m"))
		return;
	tl_pathbuf(dir, sizeof(dir), mnt, "relay");
	cfg = config_in(dir);
	db = fx_open_db(cfg);
	for (int i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "192.0.%d.%d", 2 + i / 250, i % 250 + 1);
		ck_assert_int_eq(relaydb_authorize(db, ip, "alice", "pop3", 600, now), 0);
	}
	ck_assert_int_eq(relaydb_checkpoint(db), 0);
	relaydb_close(&db);
	/* The cache must grow into pages of its region first touched once the disk is full. */
	remove_regions(dir);
	db = fx_open_db(cfg);
	tl_pathbuf(filler, sizeof(filler), mnt, "filler");
	filled = fill(filler);
	/* Reads work (this process died of SIGBUS here before), writes fail with an error. */
	ck_assert_int_eq(relaydb_foreach(db, count_entry, &n), 0);
	ck_assert_int_eq(n, 2000);
	ok = authorize_until_full(db, now);
	ck_assert_int_eq(relaydb_get(db, "192.0.3.7", &e), 1);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.3.7", now, NULL), RELAY_AUTHORIZED);
	/* A login whose authorization is lost: the client gets a temporary failure, not a refusal. */
	snprintf(ip, sizeof(ip), "10.0.%d.%d", ok / 250, ok % 250 + 1);
	ck_assert_int_eq(relay_check_ip(cfg, db, ip, now, NULL), RELAY_UNKNOWN);
	ck_assert_int_eq(relaydb_record_login(cfg, ip, "bob", "pop3"), -1);
	ck_assert_int_eq(relay_check_ip(cfg, db, ip, now, NULL), RELAY_DB_ERROR);
	relaydb_checkpoint(db);
	relaydb_close(&db);
	printf("check_relaydb_space: filesystem filled with %lld bytes; %d more authorizations, then errors\n",
	       filled, ok);

	/* Space back: every acknowledged write is there and writing works again. */
	ck_assert_int_eq(unlink(filler), 0);
	db = fx_open_db(cfg);
	ck_assert_int_eq(relaydb_authorize(db, ip, "bob", "pop3", 600, now), 0);
	ck_assert_int_eq(relay_check_ip(cfg, db, ip, now, NULL), RELAY_AUTHORIZED);
	for (int i = 0; i < ok; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
		ck_assert_msg(relaydb_get(db, ip, &e) == 1, "%s was acknowledged and is gone", ip);
	}
	ck_assert_int_eq(relaydb_checkpoint(db), 0);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

START_TEST(lost_authorization_gives_a_temporary_failure)
{
	struct config *cfg = fx_config("timeout = 10m\n");
	struct relaydb *db = fx_open_db(cfg);
	char dir[256];

	tl_pathbuf(dir, sizeof(dir), fx_dir, "relay");
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.1", "a", "pop3", 600, T0), 0);
	ck_assert_int_eq(relaydb_authorize(db, "192.0.2.2", "b", "pop3", 60, T0 - 600), 0);
	ck_assert_int_eq(relaydb_unrecorded_last(dir), 0);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.9", T0, NULL), RELAY_UNKNOWN);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.2", T0, NULL), RELAY_EXPIRED);

	relaydb_unrecorded_note(dir, T0);
	ck_assert_int_eq(relaydb_unrecorded_last(dir), T0);
	/* For relay.timeout after the loss: unknown and expired addresses may be the lost one. */
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.9", T0 + 599, NULL), RELAY_DB_ERROR);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.2", T0 + 1, NULL), RELAY_DB_ERROR);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.1", T0 + 1, NULL), RELAY_AUTHORIZED);
	ck_assert_int_eq(relay_check_ip(cfg, db, "127.0.0.1", T0 + 1, NULL), RELAY_ALLOW_LIST);
	/* Then the refusal is back; a note far in the future (clock set back) does not last for ever. */
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.9", T0 + 600, NULL), RELAY_UNKNOWN);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.9", T0 - 599, NULL), RELAY_DB_ERROR);
	ck_assert_int_eq(relay_check_ip(cfg, db, "192.0.2.9", T0 - 600, NULL), RELAY_UNKNOWN);
	relaydb_close(&db);
	config_free(&cfg);
}
END_TEST

static Suite *space_suite(void)
{
	Suite *s = suite_create("relaydb_space");
	TCase *tc = tcase_create("space");

	tcase_add_checked_fixture(tc, fx_setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, regions_are_allocated_whole);
	tcase_add_test(tc, refuses_to_create_without_space);
	tcase_add_test(tc, full_filesystem_gives_errors_not_signals);
	tcase_add_test(tc, lost_authorization_gives_a_temporary_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(space_suite());
}
