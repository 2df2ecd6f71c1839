/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtrim.h - an idle process gives back the memory it touched while it was busy.
 *
 * A POP3 client that keeps its session open while it does nothing holds three processes (monitor,
 * protocol child, mailbox process), each with the stack and heap pages its busiest moment dirtied:
 * a line buffer, a path, a parsed index. Those pages stay private to the process for as long as it
 * lives. A process that has waited MEM_IDLE_MS for its next input madvises the stack below its frame
 * away and trims the heap (malloc_trim), so a thousand idle sessions do not hold a thousand copies of
 * a moment long past. Never on a busy path: a page given back costs a page fault when it is touched
 * again, and a fault costs about 11 µs on the 2-vCPU VMs we measure on.
 */
#ifndef POPGATE_MEMTRIM_H
#define POPGATE_MEMTRIM_H

#include <poll.h>

/* How long a wait lasts before the process counts as idle and gives memory back. */
#define MEM_IDLE_MS 1000

/* mem_trim - give back the stack below the caller's frame (all but a margin) and the heap's free pages. */
void mem_trim(void);

/*
 * mem_idle_poll - poll(2) for up to TIMEOUT_MS (-1: no limit) that calls mem_trim once when nothing
 * came within MEM_IDLE_MS, then waits for the rest. poll's result; EINTR is the caller's, as poll's.
 */
int mem_idle_poll(struct pollfd *fds, nfds_t n, int timeout_ms);

/*
 * mem_idle_wait - wait until FD is readable (or hung up), however long, calling mem_trim once after
 * MEM_IDLE_MS: for a process about to block in a receive that may wait for minutes.
 */
void mem_idle_wait(int fd);

#endif
