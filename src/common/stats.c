/* stats.c - the master's counters and event ring in shared memory, read lock-free by the admin worker. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "common/stats.h"

struct stats_shared {
	uint64_t seq;             /* odd while the master writes */
	struct stats_counters c;
	uint32_t next;            /* ring slot of the next event */
	uint32_t count;           /* events stored, up to STATS_EVENTS */
	struct stats_event ev[STATS_EVENTS];
};

/* The memory file behind the master's mapping: the admin program, exec'd, maps it by descriptor. */
static int stats_memfd = -1;

struct stats_shared *stats_create(void)
{
	struct stats_shared *s;
	int fd = memfd_create("popgate-stats", MFD_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)sizeof(*s)) < 0 ||
	    (s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	if (stats_memfd >= 0)
		close(stats_memfd);
	stats_memfd = fd;
	memset(s, 0, sizeof(*s));
	s->c.started = (int64_t)time(NULL);
	return s;
}

int stats_fd(void)
{
	return stats_memfd;
}

const struct stats_shared *stats_attach(int fd)
{
	struct stat st;
	const struct stats_shared *s;

	if (fstat(fd, &st) < 0 || st.st_size != (off_t)sizeof(*s))
		return NULL; /* not a stats file of this build */
	s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	return s == MAP_FAILED ? NULL : s;
}

struct stats_counters *stats_counters_mut(struct stats_shared *s)
{
	return &s->c;
}

void stats_begin(struct stats_shared *s)
{
	__atomic_add_fetch(&s->seq, 1, __ATOMIC_ACQ_REL);
}

void stats_end(struct stats_shared *s)
{
	__atomic_add_fetch(&s->seq, 1, __ATOMIC_ACQ_REL);
}

void stats_add_event(struct stats_shared *s, const char *proto, const char *ip, const char *user,
		     const char *what)
{
	stats_begin(s);
	struct stats_event *e = &s->ev[s->next];
	e->time = (int64_t)time(NULL);
	snprintf(e->proto, sizeof(e->proto), "%s", proto != NULL ? proto : "");
	snprintf(e->ip, sizeof(e->ip), "%s", ip != NULL ? ip : "");
	snprintf(e->user, sizeof(e->user), "%s", user != NULL ? user : "");
	snprintf(e->what, sizeof(e->what), "%s", what != NULL ? what : "");
	s->next = (s->next + 1) % STATS_EVENTS;
	if (s->count < STATS_EVENTS)
		s->count++;
	stats_end(s);
}

size_t stats_snapshot(const struct stats_shared *s, struct stats_counters *c, struct stats_event *ev,
		      size_t max)
{
	size_t n;

	for (;;) {
		uint64_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (before & 1)
			continue; /* the master is mid-update; its updates are a few stores long */
		*c = s->c;
		n = s->count < max ? s->count : max;
		for (size_t i = 0; i < n; i++)
			ev[i] = s->ev[(s->next + STATS_EVENTS - 1 - i) % STATS_EVENTS];
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == before)
			return n;
	}
}
