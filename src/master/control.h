/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.h - the master's request socket, server.state_dir/control.sock: how an admin lists
 * failed-login penalties and lockouts and lifts them (popgatectl lockouts|unlock, the admin page).
 *
 * A datagram socket, mode 0660, owned by server.user. Every request is one datagram of text the
 * kernel stamps with the sender's credentials (SO_PASSCRED); the master answers only root (an
 * admin's popgatectl) and the admin worker's own pid (popgate-admind), never a session, though
 * sessions run as the same user: a subverted protocol child cannot unlock its own address. The
 * master reads nothing else from it and answers each request at once, without blocking.
 */
#ifndef POPGATE_CONTROL_H
#define POPGATE_CONTROL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"

#define CONTROL_SOCKET "control.sock"

/* Requests are short: "lockouts", or "unlock " and an address. */
#define CONTROL_REQUEST_MAX 128

/* Rows of a listing: the reply stays one datagram (about 40 KiB), most failures first. */
#define CONTROL_ROWS_MAX 256
#define CONTROL_REPLY_MAX (CONTROL_ROWS_MAX * 192 + 64)

struct throttle;

/* control_open - bind the socket in server.state_dir (after the privilege drop); the fd, or -1 (logged). */
int control_open(const struct config *cfg);

/* control_close - close FD and remove the socket file. */
void control_close(const struct config *cfg, int fd);

/* control_serve - answer every waiting request from root or ADMIN_PID against T at NOW. */
void control_serve(int fd, const struct config *cfg, struct throttle *t, pid_t admin_pid, time_t now);

/*
 * The client side below is in src/admin/admin_control.c (linked by popgate-admind, popgatectl and
 * the admin fuzz harness, which have no use for the master's room).
 *
 * control_request - send REQ to the master of CFG and wait up to TIMEOUT_MS for its answer into
 * REPLY (NUL-terminated, "ok ..." or "error ..."). 0, or -1 with ERR saying why.
 */
int control_request(const struct config *cfg, const char *req, char *reply, size_t cap, int timeout_ms,
		    char *err, size_t errlen);

/* One row of a "lockouts" answer, as control_parse_row reads it. */
struct control_row {
	char ip[64];
	char user[64];
	unsigned failures;
	long long first, last, until;
	char state[16];          /* "locked out" (the address) or "penalty" (this user there) */
	unsigned delay;          /* seconds the user's next failure waits */
};

/* control_parse_row - one tab-separated row of the reply (LINE is changed). 0 or -1. */
int control_parse_row(char *line, struct control_row *r);

/*
 * control_lockout_lines - the "failed logins:" lines of a look-up (popgatectl check, the admin
 * page) for IP and/or USER (either may be "" or NULL), asked of the master; one line saying so
 * when there are none or the master does not answer.
 */
void control_lockout_lines(const struct config *cfg, const char *ip, const char *user, time_t now,
			   void (*emit)(const char *line, void *arg), void *arg);

#endif
