/* admin_worker.c - the admin worker process: one libmicrohttpd server per listener, one poll loop. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/admin_server.h"
#include "common/fileio.h"
#include "common/log.h"
#include "relaydb/relaydb.h"

#define ADMIN_LISTENERS_MAX 16
#define ADMIN_CONN_MAX 64            /* connections at once per listener: a browser opens ~6 */
#define ADMIN_CONN_PER_IP 16
#define ADMIN_CONN_TIMEOUT 30        /* seconds a connection may stay idle */
#define ADMIN_POLL_MS 200            /* *stop is looked at least this often */
#define ADMIN_PEM_MAX (256 * 1024)

struct pem {
	char *cert, *key;
	size_t key_len;
};

/* read_pem - a whole PEM file as a string. NULL (logged) on failure. */
static char *read_pem(const char *what, const char *path, size_t *len)
{
	char *buf;

	if (path[0] == '\0') {
		log_err("admin: admin.tls = yes needs tls.%s", what);
		return NULL;
	}
	buf = fileio_read_small(path, ADMIN_PEM_MAX, false, len);
	if (buf == NULL || *len == 0) {
		log_err("admin: %s: cannot read it as server.user: %s", path,
			buf == NULL ? strerror(errno) : "empty file");
		free(buf);
		return NULL;
	}
	return buf;
}

static void pem_free(struct pem *p)
{
	free(p->cert);
	if (p->key)
		explicit_bzero(p->key, p->key_len);
	free(p->key);
	p->cert = p->key = NULL;
}

/* mhd_log - libmicrohttpd's own complaints, into our log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("admin: http: %s", LOG_Q(line)); /* its text may quote the client's request */
}

/* start_one - an MHD server on the listening socket FD. NULL (logged) on failure. */
static struct MHD_Daemon *start_one(struct admin_ctx *ctx, int fd, const struct pem *pem,
				    const char *priorities)
{
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },   /* first, or MHD warns */
		{ MHD_OPTION_LISTEN_SOCKET, fd, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)admin_mhd_completed, ctx },
		{ MHD_OPTION_CONNECTION_LIMIT, ADMIN_CONN_MAX, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, ADMIN_CONN_PER_IP, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_CONN_TIMEOUT, NULL },
		{ MHD_OPTION_END, 0, NULL },   /* TLS options go here and after */
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;

	if (pem->cert) {
		flags |= MHD_USE_TLS;
		opts[6] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, pem->cert };
		opts[7] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, pem->key };
		opts[8] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)priorities };
	}
	/* MHD_OPTION_NOTIFY_COMPLETED and the logger take a function pointer through the value slot. */
	d = MHD_start_daemon(flags, 0, NULL, NULL, admin_mhd_access, ctx, MHD_OPTION_ARRAY, opts,
			     MHD_OPTION_END);
	if (!d)
		log_err("admin: cannot start the HTTP%s server on fd %d", pem->cert ? "S" : "", fd);
	return d;
}

/* load_tls - the [tls] certificate and key as PEM text, when admin.tls = yes. -1 on failure. */
static int load_tls(const struct config *cfg, struct pem *pem, const char **priorities)
{
	size_t len;

	memset(pem, 0, sizeof(*pem));
	/* GnuTLS priority strings for tls.min_protocol; tls.ciphers is OpenSSL syntax and not used. */
	*priorities = strcmp(conf(cfg)->tls.min_protocol, "TLSv1.3") == 0
		? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
		: "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	if (!conf(cfg)->admin.tls)
		return 0;
	pem->cert = read_pem("cert_file", conf(cfg)->tls.cert_file, &len);
	pem->key = read_pem("key_file", conf(cfg)->tls.key_file, &pem->key_len);
	if (!pem->cert || !pem->key) {
		pem_free(pem);
		return -1;
	}
	return 0;
}

/* run_loop - wait on every server's epoll descriptor and let MHD work, until *STOP. */
static void run_loop(struct MHD_Daemon **d, size_t n, volatile sig_atomic_t *stop)
{
	struct pollfd pfd[ADMIN_LISTENERS_MAX];

	for (size_t i = 0; i < n; i++) {
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(d[i], MHD_DAEMON_INFO_EPOLL_FD);
		pfd[i].fd = di ? di->epoll_fd : -1;
		pfd[i].events = POLLIN;
	}
	while (!*stop) {
		int timeout = ADMIN_POLL_MS;
		for (size_t i = 0; i < n; i++) {
			MHD_UNSIGNED_LONG_LONG t;
			if (MHD_get_timeout(d[i], &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)timeout)
				timeout = (int)t;
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
			log_err("admin: poll: %s", strerror(errno));
			break;
		}
		/* MHD_run also handles timeouts, so every server runs on every wake-up. */
		relaydb_watchdog_arm(); /* its requests read and write the relay database */
		for (size_t i = 0; i < n && !*stop; i++)
			MHD_run(d[i]);
		relaydb_watchdog_disarm();
	}
}

int admin_worker_main(const struct config *cfg, const int *listen_fds, size_t nfds,
		      const struct stats_shared *stats, volatile sig_atomic_t *stop)
{
	struct MHD_Daemon *d[ADMIN_LISTENERS_MAX] = { 0 };
	struct admin_ctx *ctx = calloc(1, sizeof(*ctx));
	struct pem pem = { 0 };
	const char *priorities;
	size_t n = 0;
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);   /* a browser that goes away must not kill the worker */
	if (!ctx || nfds == 0 || nfds > ADMIN_LISTENERS_MAX || admin_ctx_init(ctx, cfg, stats) < 0) {
		log_err("admin: cannot start (%zu listeners, at most %d)", nfds, ADMIN_LISTENERS_MAX);
		free(ctx);
		return 1;
	}
	if (load_tls(cfg, &pem, &priorities) < 0) {
		rc = CFG_EXIT;
		goto out;
	}
	admin_users_refresh(&ctx->users);
	for (n = 0; n < nfds; n++) {
		int fl = fcntl(listen_fds[n], F_GETFL);
		if (fl >= 0)
			fcntl(listen_fds[n], F_SETFL, fl | O_NONBLOCK);
		if (!(d[n] = start_one(ctx, listen_fds[n], &pem, priorities)))
			goto out;
	}
	log_info("admin: serving the admin page over HTTP%s on %zu listener%s", pem.cert ? "S" : "", n,
		 n == 1 ? "" : "s");
	/* A process killed inside the relay database must not leave the page waiting for good. */
	if (strcmp(conf(cfg)->relay.backend, "bdb") == 0)
		relaydb_watchdog_start("admin worker");
	run_loop(d, n, stop);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		if (d[i])
			MHD_stop_daemon(d[i]);
	pem_free(&pem);
	admin_ctx_free(ctx);
	free(ctx);
	return rc;
}
