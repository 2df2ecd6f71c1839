/* control.c - the master's side of control.sock: list penalties and lockouts, lift them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/penalty.h"
#include "master/control.h"
#include "master/throttle.h"

/* socket_path - server.state_dir/control.sock into SUN. 0, or -1 when too long. */
static int socket_path(const struct config *cfg, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", conf(cfg)->server.state_dir, CONTROL_SOCKET);
	return n < 0 || (size_t)n >= sizeof(sun->sun_path) ? -1 : 0;
}

int control_open(const struct config *cfg)
{
	struct sockaddr_un sun;
	int one = 1, fd;

	if (socket_path(cfg, &sun) < 0) {
		log_err("control: server.state_dir is too long for a socket path");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	(void)unlink(sun.sun_path);   /* a previous popgated's; the pid file lock says none runs */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(sun.sun_path, 0660) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		log_err("control: %s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void control_close(const struct config *cfg, int fd)
{
	struct sockaddr_un sun;

	if (fd < 0)
		return;
	close(fd);
	if (socket_path(cfg, &sun) == 0)
		(void)unlink(sun.sun_path);
}

/* sender - the credentials the kernel attached to MSG, or false. */
static bool sender(struct msghdr *msg, struct ucred *out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			memcpy(out, CMSG_DATA(c), sizeof(*out));
			return true;
		}
	return false;
}

/* list - the "lockouts" answer into OUT. */
static size_t list(const struct config *cfg, struct throttle *t, time_t now, char *out, size_t cap)
{
	static struct throttle_row rows[CONTROL_ROWS_MAX];
	long long window = conf(cfg)->auth.lockout;
	unsigned max = (unsigned)conf(cfg)->auth.max_failures;
	size_t n = throttle_list(t, now, window, rows, CONTROL_ROWS_MAX);
	size_t len = (size_t)snprintf(out, cap, "ok %zu\n", n);

	for (size_t i = 0; i < n && len < cap; i++) {
		char ip[IP_TEXT_MAX];
		bool locked = throttle_failures(t, &rows[i].ip, now, window) >= max;
		ip_format(&rows[i].ip, ip);
		int w = snprintf(out + len, cap - len, "%s\t%s\t%u\t%lld\t%lld\t%lld\t%s\t%u\n", ip, rows[i].user,
				 rows[i].failures, (long long)rows[i].first, (long long)rows[i].last,
				 (long long)rows[i].last + window, locked ? "locked out" : "penalty",
				 penalty_delay(cfg, rows[i].failures));
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
	return len;
}

/* answer - the reply to REQ from a sender already allowed. */
static size_t answer(const struct config *cfg, struct throttle *t, time_t now, const char *req, const struct ucred *who,
		     char *out, size_t cap)
{
	struct ip_addr ip;

	if (strcmp(req, "lockouts") == 0)
		return list(cfg, t, now, out, cap);
	if (strncmp(req, "unlock ", 7) == 0 && ip_parse(req + 7, &ip) == 0) {
		char text[IP_TEXT_MAX];
		unsigned n = throttle_unlock(t, &ip);
		ip_format(&ip, text);
		if (n > 0)
			log_info("control: failed logins from %s forgotten (%u user name%s) at the request of uid %u pid %ld",
				 text, n, n == 1 ? "" : "s", (unsigned)who->uid, (long)who->pid);
		return (size_t)snprintf(out, cap, "ok %u\n", n);
	}
	return (size_t)snprintf(out, cap, "error unknown request\n");
}

void control_serve(int fd, const struct config *cfg, struct throttle *t, pid_t admin_pid, time_t now)
{
	static char reply[CONTROL_REPLY_MAX];

	for (;;) {
		char req[CONTROL_REQUEST_MAX + 1];
		union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(struct ucred))]; } cm;
		struct sockaddr_un from;
		struct iovec iov = { .iov_base = req, .iov_len = CONTROL_REQUEST_MAX };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				      .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		struct ucred who;
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		size_t len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		req[n] = '\0';
		req[strcspn(req, "\r\n")] = '\0';
		if (!sender(&msg, &who) || msg.msg_namelen <= sizeof(sa_family_t))
			continue;   /* no credentials, or nowhere to answer */
		if (who.uid != 0 && (admin_pid <= 0 || who.pid != admin_pid)) {
			log_warn("control: request refused from uid %u pid %ld: only root and the admin page may ask",
				 (unsigned)who.uid, (long)who.pid);
			len = (size_t)snprintf(reply, sizeof(reply), "error only root and the admin page may ask\n");
		} else {
			len = answer(cfg, t, now, req, &who, reply, sizeof(reply));
		}
		(void)sendto(fd, reply, len < sizeof(reply) ? len : sizeof(reply) - 1, MSG_DONTWAIT | MSG_NOSIGNAL,
			     (struct sockaddr *)&from, msg.msg_namelen);
	}
}
