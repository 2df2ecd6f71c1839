/* admin_control.c - the client side of the master's control.sock (popgate-admind and popgatectl ask through it). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "master/control.h"
#include "relaydb/explain.h"

int control_request(const struct config *cfg, const char *req, char *reply, size_t cap, int timeout_ms,
		    char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX }, self = { .sun_family = AF_UNIX };
	struct pollfd p;
	ssize_t n;
	int fd, w;

	w = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", conf(cfg)->server.state_dir, CONTROL_SOCKET);
	if (w < 0 || (size_t)w >= sizeof(sun.sun_path) || strlen(req) > CONTROL_REQUEST_MAX || cap == 0) {
		snprintf(err, errlen, "request or socket path too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* An address of our own (autobind, abstract), so that the master can answer. */
	if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || send(fd, req, strlen(req), 0) < 0) {
		snprintf(err, errlen, "%s: %s (is popgated running?)", sun.sun_path, strerror(errno));
		goto fail;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) <= 0) {
		snprintf(err, errlen, "%s: no answer from popgated within %d ms", sun.sun_path, timeout_ms);
		goto fail;
	}
	if ((n = recv(fd, reply, cap - 1, 0)) < 0) {
		snprintf(err, errlen, "%s: %s", sun.sun_path, strerror(errno));
		goto fail;
	}
	reply[n] = '\0';
	close(fd);
	if (strncmp(reply, "ok", 2) != 0) {
		snprintf(err, errlen, "popgated: %.200s", strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply);
		err[strcspn(err, "\n")] = '\0';
		return -1;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int control_parse_row(char *line, struct control_row *r)
{
	char *f[8], *p = line, *end;

	for (int i = 0; i < 8; i++) {
		f[i] = p;
		p = p != NULL ? strchr(p, '\t') : NULL;
		if (f[i] == NULL || (i < 7 && p == NULL))
			return -1;
		if (p != NULL)
			*p++ = '\0';
	}
	memset(r, 0, sizeof(*r));
	snprintf(r->ip, sizeof(r->ip), "%.63s", f[0]);
	snprintf(r->user, sizeof(r->user), "%.63s", f[1]);
	r->failures = (unsigned)strtoul(f[2], &end, 10);
	r->first = strtoll(f[3], &end, 10);
	r->last = strtoll(f[4], &end, 10);
	r->until = strtoll(f[5], &end, 10);
	snprintf(r->state, sizeof(r->state), "%.15s", f[6]);
	r->delay = (unsigned)strtoul(f[7], &end, 10);
	return 0;
}

/* when - "YYYY-MM-DD HH:MM:SS (in 5m)", as the other look-up lines say times. */
static void when(long long t, time_t now, char *buf, size_t len)
{
	relay_format_when((int64_t)t, now, buf, len);
}

/* matches - whether row R concerns IP or USER. */
static bool matches(const struct control_row *r, const char *ip, const char *user)
{
	return (ip != NULL && ip[0] != '\0' && strcmp(r->ip, ip) == 0) ||
	       (user != NULL && user[0] != '\0' && strcmp(r->user, user) == 0);
}

void control_lockout_lines(const struct config *cfg, const char *ip, const char *user, time_t now,
			   void (*emit)(const char *line, void *arg), void *arg)
{
	static char reply[CONTROL_REPLY_MAX];
	char err[512], line[768], a[96], b[96], *row, *save = NULL;
	const char *who = ip != NULL && ip[0] != '\0' ? ip : user;
	struct control_row r;
	int shown = 0;

	if (control_request(cfg, "lockouts", reply, sizeof(reply), 2000, err, sizeof(err)) < 0) {
		snprintf(line, sizeof(line), "failed logins of %s: not known (%s)", who, err);
		return emit(line, arg);
	}
	row = strtok_r(reply, "\n", &save);
	while ((row = strtok_r(NULL, "\n", &save)) != NULL) {
		if (control_parse_row(row, &r) < 0 || !matches(&r, ip, user))
			continue;
		when(r.first, now, a, sizeof(a));
		when(r.until, now, b, sizeof(b));
		snprintf(line, sizeof(line), "failed logins: %s user %s, %u since %s, %s until %s", r.ip,
			 r.user[0] != '\0' ? r.user : "-", r.failures, a,
			 strcmp(r.state, "locked out") == 0 ? "the address is locked out: every login from it is refused"
							    : "penalty: each further failure waits longer",
			 b);
		emit(line, arg);
		shown++;
	}
	if (shown == 0) {
		snprintf(line, sizeof(line), "failed logins of %s: none recorded (no penalty, no lockout)", who);
		emit(line, arg);
	}
}
