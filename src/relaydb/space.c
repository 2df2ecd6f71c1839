/* space.c - disk space for the environment: refuse to create it without room, allocate its regions whole. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "relaydb/relaydb_int.h"

/*
 * Why: Berkeley DB 5.3 maps each region file (__db.001, ...) at the size the region may grow to,
 * but makes the file only as long as the region is now, by writing its last byte, and grows it
 * the same way later while ignoring a failed write. The file is sparse: the first store into a
 * page the filesystem never allocated raises SIGBUS when the filesystem is full, in whichever
 * process touches it, often while it holds a mutex that everyone else then waits on for good.
 * So every opener makes sure each region file has its blocks, up to the whole length mapped;
 * beyond the end of the file (FALLOC_FL_KEEP_SIZE), so the length Berkeley DB wrote, which a
 * joining process reads, stays as it was. Once allocated, stores cannot fault and the growing
 * writes succeed.
 */

/* A region file in the environment home and the length this process maps of it. */
struct region_file {
	char name[16];
	dev_t dev;
	ino_t ino;
	off_t mapped;
};

/* Region files an environment has: primary, lock, log, mpool, txn, mutex and a few spare. */
#define REGION_FILES_MAX 16

/* is_region_name - "__db.NNN", Berkeley DB's region files (not __db.register, __db.rep.*). */
static bool is_region_name(const char *name)
{
	size_t n = strlen(name);

	if (n < 6 || n >= sizeof(((struct region_file *)0)->name) || strncmp(name, "__db.", 5) != 0)
		return false;
	for (size_t i = 5; i < n; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

/*
 * allocated_beyond_end - whether the file has blocks past the one holding its last byte: Berkeley
 * DB never makes those, relaydb_space_allocate does. (A region grown to the whole length mapped
 * has none either: it is merely allocated again, finding nothing to do.)
 */
static bool allocated_beyond_end(const struct stat *st)
{
	off_t blk = st->st_blksize > 0 ? st->st_blksize : 4096;

	return (off_t)st->st_blocks * 512 > (st->st_size + blk - 1) / blk * blk;
}

/*
 * list_regions - the region files in the directory DIRFD; how many, or -1. *SPARSE tells whether
 * one of them may not be allocated up to its mapped length.
 */
static int list_regions(int dirfd, struct region_file *rf, int max, bool *sparse)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	int n = 0, fd = dup(dirfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < max) {
		if (!is_region_name(de->d_name) || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		memset(&rf[n], 0, sizeof(rf[n]));
		memcpy(rf[n].name, de->d_name, strlen(de->d_name) + 1);
		rf[n].dev = st.st_dev;
		rf[n].ino = st.st_ino;
		if (!allocated_beyond_end(&st))
			*sparse = true;
		n++;
	}
	closedir(d);
	return n;
}

/* find_mappings - how much of each region file this process maps, from /proc/self/maps. 0 or -1. */
static int find_mappings(struct region_file *rf, int n)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long start, end, offset, ino;
		unsigned maj, min;

		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &offset, &maj, &min, &ino) != 6 ||
		    ino == 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (rf[i].ino != (ino_t)ino || major(rf[i].dev) != maj || minor(rf[i].dev) != min)
				continue;
			if ((off_t)(offset + end - start) > rf[i].mapped)
				rf[i].mapped = (off_t)(offset + end - start);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* allocate_one - give RF its blocks up to the mapped length. 0, or -1 with the reason in ERR. */
static int allocate_one(int dirfd, const char *home, const struct region_file *rf, char *err, size_t errlen)
{
	static bool warned;
	struct stat st;
	int fd = openat(dirfd, rf->name, O_RDWR | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	/* Closing this descriptor drops no lock: Berkeley DB holds none on region files on Linux. */
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s/%s: %s", home, rf->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_dev != rf->dev || st.st_ino != rf->ino || (off_t)st.st_blocks * 512 >= rf->mapped) {
		close(fd);
		return 0;
	}
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, rf->mapped) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS) {
			if (!warned)
				log_warn("relaydb: %s: the filesystem cannot preallocate the region files; "
					 "a full filesystem may crash processes using the relay database", home);
			warned = true;
		} else {
			snprintf(err, errlen, "%s/%s: cannot allocate %lld bytes: %s", home, rf->name,
				 (long long)rf->mapped, strerror(errno));
			rc = -1;
		}
	}
	close(fd);
	return rc;
}

int relaydb_space_allocate(const char *home, bool created, char *err, size_t errlen)
{
	struct region_file rf[REGION_FILES_MAX];
	bool sparse = created;
	int dirfd, n, rc = 0;

	if ((dirfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", home, strerror(errno));
		return -1;
	}
	if ((n = list_regions(dirfd, rf, REGION_FILES_MAX, &sparse)) < 0) {
		snprintf(err, errlen, "%s: cannot list the region files: %s", home, strerror(errno));
		close(dirfd);
		return -1;
	}
	/* Joining regions an earlier opener allocated is the common case: no need to read the maps. */
	if (!sparse) {
		close(dirfd);
		return 0;
	}
	if (find_mappings(rf, n) < 0) {
		snprintf(err, errlen, "/proc/self/maps: %s", strerror(errno));
		close(dirfd);
		return -1;
	}
	for (int i = 0; i < n && rc == 0; i++)
		if (rf[i].mapped > 0)
			rc = allocate_one(dirfd, home, &rf[i], err, errlen);
	close(dirfd);
	return rc;
}

int relaydb_space_check(const char *home, bool *exists, char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	struct statvfs vfs;
	uint64_t avail, needed = RELAYDB_REGION_BYTES + RELAYDB_SPACE_HEADROOM;

	/* An existing environment is joined, or recovered into the space its files free. */
	if (snprintf(path, sizeof(path), "%s/__db.001", home) >= (int)sizeof(path))
		return snprintf(err, errlen, "%s: path too long", home), -1;
	if ((*exists = access(path, F_OK) == 0))
		return 0;
	if (statvfs(home, &vfs) < 0) {
		snprintf(err, errlen, "%s: %s", home, strerror(errno));
		return -1;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < needed) {
		snprintf(err, errlen, "%s: not enough space to create the environment: %" PRIu64
			 " bytes free, %" PRIu64 " needed", home, avail, needed);
		return -1;
	}
	return 0;
}
