/* children.h - the master's table of session processes: who serves which client. */
#ifndef POPGATE_CHILDREN_H
#define POPGATE_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cidr.h"
#include "master/services.h"

struct child {
	pid_t pid;
	struct ip_addr ip;
	char ip_text[IP_TEXT_MAX];
	const struct service *svc;
};

struct children;

/* children_new - a table for up to CAP sessions. */
struct children *children_new(size_t cap);
void children_free(struct children **c);

/* children_reserve - make room for CAP sessions (never shrinks). 0 or -1. */
int children_reserve(struct children *c, size_t cap);

/* children_add - record a session; -1 when the table is full. */
int children_add(struct children *c, pid_t pid, const struct ip_addr *ip, const char *ip_text,
		 const struct service *svc);

/* children_remove - forget PID, copying its record to OUT if given; false when unknown. */
bool children_remove(struct children *c, pid_t pid, struct child *out);

/* children_find - the session PID, or NULL. */
const struct child *children_find(const struct children *c, pid_t pid);

/* children_count - sessions running. */
size_t children_count(const struct children *c);

/* children_count_ip - sessions running for client IP. */
size_t children_count_ip(const struct children *c, const struct ip_addr *ip);

/* children_signal - send SIG to every session's process group. */
void children_signal(const struct children *c, int sig);

#endif
