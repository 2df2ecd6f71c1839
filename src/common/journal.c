/* journal.c - log lines to systemd's journal over its native protocol, with priority and facility. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/journal.h"

/*
 * The protocol (systemd's "Native Journal Protocol", documented as stable for other
 * implementations) is one datagram of KEY=value lines per entry to this socket. libsystemd's
 * sd_journal_send would do the same, but linking it maps a dozen more libraries into every
 * process popgated forks, which costs each mail session page faults at fork and exit.
 */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int journal_fd = -1;

bool journal_stream_is_stderr(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	/* systemd.exec(5): JOURNAL_STREAM is "DEV:INODE" of the stream stdout/stderr were connected to. */
	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int journal_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* A full queue must not hold a session for long: past this the line is lost, not the session. */
	struct timeval tv = { 1, 0 };

	if (journal_fd >= 0)
		return 0;
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (journal_fd < 0)
		return -1;
	(void)setsockopt(journal_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/*
	 * Connected now, so that a process sandboxed or chrooted later still reaches the journal; the
	 * socket is systemd's (socket-activated), so it outlives a restart of journald.
	 */
	memcpy(sa.sun_path, JOURNAL_SOCKET, sizeof(JOURNAL_SOCKET));
	if (connect(journal_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(journal_fd);
		journal_fd = -1;
		return -1;
	}
	return 0;
}

/* field - append "KEY=value\n" to BUF at *LEN, cut to fit; value must hold no newline. */
static void field(char *buf, size_t cap, size_t *len, const char *key, const char *value)
{
	int n = snprintf(buf + *len, cap - *len, "%s=%s\n", key, value);

	if (n < 0)
		return;
	if ((size_t)n >= cap - *len) { /* cut: keep the entry well formed */
		*len = cap - 1;
		buf[*len - 1] = '\n';
		return;
	}
	*len += (size_t)n;
}

int journal_send(int priority, int facility, const char *ident, const char *message)
{
	char buf[2048], num[24];
	size_t len = 0;

	if (journal_fd < 0 && journal_open() < 0)
		return -1;
	snprintf(num, sizeof(num), "%d", priority & 7);
	field(buf, sizeof(buf), &len, "PRIORITY", num);
	snprintf(num, sizeof(num), "%d", facility >> 3);
	field(buf, sizeof(buf), &len, "SYSLOG_FACILITY", num);
	field(buf, sizeof(buf), &len, "SYSLOG_IDENTIFIER", ident);
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	field(buf, sizeof(buf), &len, "SYSLOG_PID", num);
	field(buf, sizeof(buf), &len, "MESSAGE", message);
	for (;;) {
		if (send(journal_fd, buf, len, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}
