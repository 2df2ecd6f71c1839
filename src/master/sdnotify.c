/* sdnotify.c - tell systemd (Type=notify) when popgated is ready, reloading and stopping. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "master/sdnotify.h"

/*
 * sd_notify(3)'s protocol is one datagram of "KEY=value" lines to $NOTIFY_SOCKET, which systemd
 * documents for programs to implement without libsystemd; linking that library would map a dozen
 * more libraries into every process popgated forks for a mail session.
 */
static int send_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd, rc;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0; /* not started by systemd as Type=notify */
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* an abstract socket */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	do
		rc = (int)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
				 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	while (rc < 0 && errno == EINTR);
	close(fd);
	return rc < 0 ? -1 : 0;
}

int sdnotify_ready(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s\nMAINPID=%ld\n", status, (long)getpid());
	return send_state(msg);
}

int sdnotify_reloading(void)
{
	char msg[96];

	/* systemd 253's Type=notify-reload wants the time with RELOADING=1; older ones ignore it. */
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld\n", (long long)mono_us());
	return send_state(msg);
}

int sdnotify_stopping(void)
{
	return send_state("STOPPING=1\n");
}

int sdnotify_status(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "STATUS=%s\n", status);
	return send_state(msg);
}
