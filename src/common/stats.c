/* stats.c - the master's counters and event ring in shared memory, read lock-free by the admin worker. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/stats.h"

/*
 * A reader that finds the page mid-update yields, then sleeps a millisecond a try: the master's
 * updates are a few stores, so only a master stopped mid-update (or a page written by someone
 * else) takes more than the first tries, and the admin page must not spin on it.
 */
#define STATS_READ_TRIES 100
#define STATS_READ_YIELDS 16

struct stats_shared {
	uint64_t seq;             /* odd while the master writes */
	uint32_t next;            /* ring slot of the next event */
	uint32_t count;           /* events stored, up to STATS_EVENTS */
	struct stats_counters c;
	struct stats_event ev[STATS_EVENTS];
};

struct stats_writer {
	struct stats_shared *page; /* writable, in the master only (MADV_DONTFORK) */
	uint64_t seq;              /* what the page's seq should be: never read back */
	uint32_t next, count;
	struct stats_counters c;
};

static const char *const worker_names[STATS_WORKERS] = { "admin", "relay-sweeper", "relay-lookup", "drac",
								   "auth" };
static const char *const tls_services[STATS_TLS_SERVICES] = { "pop3", "pop3s", "smtp", "smtps" };

const char *stats_worker_name(int k)
{
	return k >= 0 && k < STATS_WORKERS ? worker_names[k] : "unknown";
}

int stats_tls_service(const char *name)
{
	for (int i = 0; i < STATS_TLS_SERVICES; i++)
		if (name != NULL && strcmp(name, tls_services[i]) == 0)
			return i;
	return -1;
}

const char *stats_tls_service_name(int i)
{
	return i >= 0 && i < STATS_TLS_SERVICES ? tls_services[i] : "unknown";
}

/* The read-only descriptor of the memory file: the admin program, exec'd, maps it by descriptor. */
static int stats_rofd = -1;

/* map_len - the page's size in whole pages, as both sides map it (madvise works on pages). */
static size_t map_len(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	return (sizeof(struct stats_shared) + p - 1) / p * p;
}

/* reopen_readonly - a descriptor of FD's file that cannot write it: no write(), no writable mmap. */
static int reopen_readonly(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* make_page - a sealed memory file mapped writable here; *RO gets its read-only descriptor. */
static struct stats_shared *make_page(int *ro)
{
	size_t len = map_len();
	struct stats_shared *s = MAP_FAILED;
	int saved, fd = memfd_create("popgate-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	*ro = -1;
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)len) < 0 ||
	    (s = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED ||
	    madvise(s, len, MADV_DONTFORK) < 0 ||
	    /* Nobody, the admin program reopening it through /proc included, may write it from now on. */
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0 ||
	    (*ro = reopen_readonly(fd)) < 0)
		goto fail;
	close(fd);
	return s;
fail:
	saved = errno;
	if (s != MAP_FAILED)
		munmap(s, len);
	close(fd);
	errno = saved;
	return NULL;
}

struct stats_writer *stats_create(void)
{
	struct stats_writer *w = calloc(1, sizeof(*w));
	int ro;

	if (w == NULL)
		return NULL;
	if ((w->page = make_page(&ro)) == NULL) {
		free(w);
		return NULL;
	}
	if (stats_rofd >= 0)
		close(stats_rofd);
	stats_rofd = ro;
	w->c.started = (int64_t)time(NULL);
	stats_begin(w);
	stats_end(w);
	return w;
}

void stats_free(struct stats_writer **w)
{
	if (*w == NULL)
		return;
	munmap((*w)->page, map_len());
	free(*w);
	*w = NULL;
}

int stats_fd(void)
{
	return stats_rofd;
}

void stats_forget(void)
{
	if (stats_rofd >= 0)
		close(stats_rofd);
	stats_rofd = -1;
}

const struct stats_shared *stats_attach(int fd)
{
	struct stat st;
	const struct stats_shared *s;

	if (fstat(fd, &st) < 0 || st.st_size != (off_t)map_len())
		return NULL; /* not a stats file of this build */
	s = mmap(NULL, map_len(), PROT_READ, MAP_SHARED, fd, 0);
	return s == MAP_FAILED ? NULL : s;
}

struct stats_counters *stats_counters_mut(struct stats_writer *w)
{
	return &w->c;
}

void stats_begin(struct stats_writer *w)
{
	w->seq |= 1; /* odd, whatever it was */
	__atomic_store_n(&w->page->seq, w->seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void stats_end(struct stats_writer *w)
{
	w->page->c = w->c;
	w->page->next = w->next;
	w->page->count = w->count;
	w->seq++; /* even again */
	__atomic_store_n(&w->page->seq, w->seq, __ATOMIC_RELEASE);
}

void stats_add_event(struct stats_writer *w, const char *proto, const char *ip, const char *user,
		     const char *what)
{
	stats_begin(w);
	struct stats_event *e = &w->page->ev[w->next];
	e->time = (int64_t)time(NULL);
	snprintf(e->proto, sizeof(e->proto), "%s", proto != NULL ? proto : "");
	snprintf(e->ip, sizeof(e->ip), "%s", ip != NULL ? ip : "");
	snprintf(e->user, sizeof(e->user), "%s", user != NULL ? user : "");
	snprintf(e->what, sizeof(e->what), "%s", what != NULL ? what : "");
	w->next = (w->next + 1) % STATS_EVENTS;
	if (w->count < STATS_EVENTS)
		w->count++;
	stats_end(w);
}

/* wait_a_little - between torn reads: give the master the CPU, later a millisecond. */
static void wait_a_little(int attempt)
{
	struct timespec ms = { 0, 1000000 };

	if (attempt < STATS_READ_YIELDS)
		sched_yield();
	else
		nanosleep(&ms, NULL);
}

/* copy_once - one try at a copy; the indices come from shared memory and are bounded here. */
static size_t copy_once(const struct stats_shared *s, struct stats_counters *c, struct stats_event *ev,
			size_t max)
{
	uint32_t next = __atomic_load_n(&s->next, __ATOMIC_RELAXED) % STATS_EVENTS;
	uint32_t count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
	size_t n = count < STATS_EVENTS ? count : STATS_EVENTS;

	if (n > max)
		n = max;
	*c = s->c;
	for (size_t i = 0; i < n; i++)
		ev[i] = s->ev[(next + STATS_EVENTS - 1 - i) % STATS_EVENTS];
	return n;
}

ssize_t stats_snapshot(const struct stats_shared *s, struct stats_counters *c, struct stats_event *ev,
		       size_t max)
{
	for (int attempt = 0; attempt < STATS_READ_TRIES; attempt++) {
		if (attempt > 0)
			wait_a_little(attempt);
		uint64_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (before & 1)
			continue; /* the master is mid-update */
		size_t n = copy_once(s, c, ev, max);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == before)
			return (ssize_t)n;
	}
	memset(c, 0, sizeof(*c));
	return -1;
}
