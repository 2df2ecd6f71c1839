/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admind_main.c - popgate-admind: the admin page as its own program, exec'd by popgated's admin
 * worker once it runs as server.user.
 *
 * Why a separate program: libmicrohttpd brings GnuTLS and eight more libraries. Linked into
 * popgated they would sit in the address space of the master and of every mail session, where
 * they cost a third of each fork (about 115 µs here) and add attack surface to processes that
 * never speak HTTP.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "admin/admin.h"
#include "common/fileio.h"
#include "common/config.h"
#include "common/config_keys.h"
#include "common/log.h"
#include "common/stats_report.h"

#define ADMIND_FDS_MAX 64

static volatile sig_atomic_t admind_stop;

static void on_term(int sig)
{
	(void)sig;
	admind_stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: popgate-admind -f FILE [-F] [-s STATS_FD] [-r REPORT_FD] LISTEN_FD...\n"
		"  (started by popgated's admin worker, not by hand)\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	const struct stats_shared *stats = NULL;
	const char *path = NULL;
	bool foreground = false;
	int fds[ADMIND_FDS_MAX], statsfd = -1, reportfd = -1, c;
	size_t n = 0;
	struct cfg_error err;
	struct config *cfg;

	while ((c = getopt(argc, argv, "f:Fs:r:")) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 'F': foreground = true; break;
		case 's': statsfd = fileio_fd_arg(optarg); if (statsfd < 0) { usage(); return 64; } break;
		case 'r': if ((reportfd = fileio_fd_arg(optarg)) < 0) { usage(); return 64; } break;
		default: usage(); return 64;
		}
	}
	if (path == NULL || optind == argc || argc - optind > ADMIND_FDS_MAX) {
		usage();
		return 64;
	}
	for (int i = optind; i < argc; i++)
		if ((fds[n++] = fileio_fd_arg(argv[i])) < 0) {
			usage();
			return 64;
		}
	/*
	 * exec as server.user made this process dumpable again: without this, any process of that
	 * user (a subverted protocol child) could read the helpdesk's sessions out of its memory.
	 */
	if (prctl(PR_SET_DUMPABLE, 0) < 0) {
		fprintf(stderr, "popgate-admind: prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
		return 1;
	}
	/* The file the master has just (re)loaded: an error now means it changed since. */
	if ((cfg = config_load(path, &err)) == NULL) {
		fprintf(stderr, "popgate-admind: %s\n", err.msg);
		return CFG_EXIT;
	}
	log_open("popgated/admin", log_facility_from_name(conf(cfg)->server.log_facility), foreground);
	log_set_level(log_level_from_name(conf(cfg)->server.log_level));
	stats_report_worker(reportfd); /* the master's channel: relay database errors */
	if (statsfd >= 0 && (stats = stats_attach(statsfd)) == NULL)
		log_warn("admin: cannot map the master's counters: %s (they read as zero)", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	c = admin_worker_main(cfg, fds, n, stats, &admind_stop);
	config_free(&cfg);
	return c;
}
