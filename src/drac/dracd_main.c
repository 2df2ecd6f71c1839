/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dracd_main.c - popgate-dracd: the DRAC RPC server as its own program, exec'd by popgated's DRAC
 * worker once it runs as server.user.
 *
 * Why a separate program: libtirpc brings the Kerberos libraries (six of them) along. Linked into
 * popgated they would sit in the master and every mail session, costing each fork and adding
 * attack surface to processes that never speak RPC.
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
#include <unistd.h>

#include "common/fileio.h"
#include "common/config.h"
#include "common/log.h"
#include "common/stats_report.h"
#include "drac/dracd.h"
#include "drac/dracd_int.h"

static volatile sig_atomic_t dracd_stop;

static void on_term(int sig)
{
	(void)sig;
	dracd_stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: popgate-dracd -f FILE [-F] [-u UDP_FD -t TCP_FD] [-r REPORT_FD] [-l LOGIN_FD]\n"
		"  (started by popgated's DRAC worker, not by hand)\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct dracd_socks socks = { -1, -1 };
	const char *path = NULL;
	bool foreground = false;
	struct cfg_error err;
	struct config *cfg;
	int c, reportfd = -1, loginfd = -1;

	while ((c = getopt(argc, argv, "f:Fu:t:r:l:")) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 'F': foreground = true; break;
		case 'u': if ((socks.udp = fileio_fd_arg(optarg)) < 0) { usage(); return 64; }
			fcntl(socks.udp, F_SETFD, FD_CLOEXEC); /* the sockets are this program's alone */
			break;
		case 't': if ((socks.tcp = fileio_fd_arg(optarg)) < 0) { usage(); return 64; }
			fcntl(socks.tcp, F_SETFD, FD_CLOEXEC);
			break;
		case 'r': if ((reportfd = fileio_fd_arg(optarg)) < 0) { usage(); return 64; } break;
		case 'l': if ((loginfd = fileio_fd_arg(optarg)) < 0) { usage(); return 64; }
			fcntl(loginfd, F_SETFD, FD_CLOEXEC);
			break;
		default: usage(); return 64;
		}
	}
	if (path == NULL || optind != argc || (socks.udp < 0) != (socks.tcp < 0)) {
		usage();
		return 64;
	}
	/* exec as server.user made this process dumpable again; no other process of that user may read it. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0) {
		fprintf(stderr, "popgate-dracd: prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
		return 1;
	}
	/* The file the master has just (re)loaded: an error now means it changed since. */
	if ((cfg = config_load(path, &err)) == NULL) {
		fprintf(stderr, "popgate-dracd: %s\n", err.msg);
		return CFG_EXIT;
	}
	log_open("popgated/drac", log_facility_from_name(conf(cfg)->server.log_facility), foreground);
	log_set_level(log_level_from_name(conf(cfg)->server.log_level));
	stats_report_worker(reportfd); /* the master's channel: relay database errors */
	if (geteuid() == 0 || getuid() == 0) {
		log_err("drac: refusing to serve RPC as root; popgated starts this as server.user");
		config_free(&cfg);
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	dracd_state()->login_fd = loginfd; /* DRAC adds are logins: the lookup worker records them */
	c = dracd_run(cfg, socks.udp >= 0 ? &socks : NULL, &dracd_stop);
	config_free(&cfg);
	return c;
}
