/* stress.c - stress episodes: the shared word SMTP sessions read, and one log line at each end. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "master/stress.h"

/*
 * How long the load must stay low before an episode ends. Attackers cut off together (evicted, or
 * timed out under stress at the same moment) are back within seconds; without this the episode
 * would flap and log a pair of lines each time.
 */
#define STRESS_LINGER_MS 10000

/*
 * The word lives in a sealed memory file: the master maps it writable first, then seals it against
 * future writable mappings and maps the sessions' view, which the kernel then marks as never
 * writable. A session drops the master's view, so even a subverted one cannot raise the flag for
 * all the others (nor clear it).
 */
int stress_init(struct stress *st)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("popgate-stress", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *rw = MAP_FAILED, *ro = MAP_FAILED;

	memset(st, 0, sizeof(*st));
	if (fd < 0)
		return -1;
	if (ftruncate(fd, page) == 0)
		rw = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw != MAP_FAILED &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == 0)
		ro = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	int saved = errno;
	close(fd);
	if (ro == MAP_FAILED) {
		if (rw != MAP_FAILED)
			munmap(rw, (size_t)page);
		errno = saved;
		return -1;
	}
	st->flag = rw;
	st->view = ro;
	return 0;
}

void stress_drop_writer(struct stress *st)
{
	if (st->flag != NULL)
		munmap(st->flag, (size_t)sysconf(_SC_PAGESIZE));
	st->flag = NULL;
}

void stress_free(struct stress *st)
{
	stress_drop_writer(st);
	if (st->view != NULL)
		munmap((void *)st->view, (size_t)sysconf(_SC_PAGESIZE));
	st->view = NULL;
}

const int *stress_view(const struct stress *st)
{
	return st->view;
}

void stress_enter(struct stress *st, const struct children *kids, size_t max, long long line_timeout)
{
	struct children_tally t;

	if (st->on)
		return;
	st->on = true;
	st->episodes++;
	st->since_ms = mono_ms();
	st->calm_ms = 0;
	st->evicted_pop3 = st->evicted_smtp = st->refused = st->started = 0;
	st->peak = children_serving(kids);
	if (st->flag != NULL)
		__atomic_store_n(st->flag, 1, __ATOMIC_RELEASE);
	children_tally(kids, &t);
	log_warn("stress: server.max_connections (%zu) reached with %zu POP3 and %zu SMTP sessions, %zu of "
		 "them logged in, known to relay or handing off a message, %zu in a stranger's unfinished "
		 "transaction; until the load falls below %zu, each SMTP line must arrive within "
		 "smtp.stress_timeout (%llds) and the oldest session that has neither logged in nor begun a "
		 "transaction (failing that, the oldest stranger's unfinished transaction) makes room for each "
		 "new one",
		 max, t.pop3, t.smtp, t.protected, t.open_txn, max * 3 / 4, line_timeout);
}

void stress_settle(struct stress *st, const struct children *kids, size_t max)
{
	size_t serving = children_serving(kids);
	int64_t now = mono_ms();

	if (!st->on)
		return;
	if (serving * 4 >= max * 3) {
		st->calm_ms = 0;
		return;
	}
	if (st->calm_ms == 0)
		st->calm_ms = now;
	if (now - st->calm_ms < STRESS_LINGER_MS)
		return;
	st->on = false;
	if (st->flag != NULL)
		__atomic_store_n(st->flag, 0, __ATOMIC_RELEASE);
	log_warn("stress over after %.1fs: %zu sessions pushed out (%zu POP3, %zu SMTP), %zu connections "
		 "refused at the limit, %zu sessions started, at most %zu at once; %zu now",
		 (double)(st->calm_ms - st->since_ms) / 1000.0, st->evicted_pop3 + st->evicted_smtp,
		 st->evicted_pop3, st->evicted_smtp, st->refused, st->started, st->peak, serving);
}

long stress_wake_in(const struct stress *st)
{
	if (!st->on || st->calm_ms == 0)
		return -1;
	int64_t left = st->calm_ms + STRESS_LINGER_MS - mono_ms();
	return left > 0 ? (long)left : 0;
}

void stress_note_evicted(struct stress *st, const char *family)
{
	if (strcmp(family, "pop3") == 0)
		st->evicted_pop3++;
	else
		st->evicted_smtp++;
}

void stress_note_refused(struct stress *st)
{
	st->refused++;
}

void stress_note_started(struct stress *st, size_t serving)
{
	if (!st->on)
		return;
	st->started++;
	if (serving > st->peak)
		st->peak = serving;
}
