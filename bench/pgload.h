/* pgload.h - the benchmark load client: connections, dialogues and the workloads built on them. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_BENCH_PGLOAD_H
#define POPGATE_BENCH_PGLOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* Receive buffer of one connection: large, so that a RETR moves in few system calls. */
#define PGL_BUF (256 * 1024)
/* Longest command or reply line the client builds or accepts. */
#define PGL_LINE 1024

/* One client connection, plain or TLS, with a receive buffer. */
struct pgl_conn {
	int fd;
	SSL *ssl;
	size_t pos, len;      /* unread bytes are buf[pos..len) */
	char buf[PGL_BUF];
};

/* Everything the command line sets. */
struct pgl_opts {
	const char *mode;
	struct sockaddr_in addr;
	bool tls;             /* implicit TLS (POP3S) */
	int conc;             /* concurrent workers */
	double seconds;       /* how long the workers run */
	const char *user_prefix; /* the user of worker i is user_prefix followed by i mod users */
	int users;
	const char *pass;
	long count;           /* rcpt: samples; idle: sessions; retr: most messages (0: all) */
	int rcpts;            /* rcpt: recipients per transaction */
	SSL_CTX *ctx;
};

/* pgl_now - CLOCK_MONOTONIC seconds. */
double pgl_now(void);

/* pgl_tls_ctx - a client context that does full handshakes and verifies nothing (loopback benchmark). */
SSL_CTX *pgl_tls_ctx(void);

/* pgl_connect - connect to O's address, TLS handshake when O asks for it. 0 or -1. */
int pgl_connect(struct pgl_conn *c, const struct pgl_opts *o);

/* pgl_close - end the connection (waits briefly for the server to close first). */
void pgl_close(struct pgl_conn *c);

/* pgl_send - format one command line, append CRLF and write it whole. 0 or -1. */
int pgl_send(struct pgl_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pgl_line - the next reply line without CRLF, NUL-terminated, valid until the next read. NULL on error. */
char *pgl_line(struct pgl_conn *c);

/* pgl_ok - read one POP3 status line: 0 for +OK, -1 otherwise. */
int pgl_ok(struct pgl_conn *c);

/* pgl_body - consume a dot-terminated multi-line body; its octets, or -1. */
long long pgl_body(struct pgl_conn *c);

/* pgl_smtp - read one SMTP reply (all continuation lines); its code, or -1. */
int pgl_smtp(struct pgl_conn *c);

/* pgl_user - the user name for worker or session I. */
void pgl_user(const struct pgl_opts *o, long i, char *out, size_t cap);

/* pgl_pop3_login - greeting, USER, PASS on a connected C as user I. 0 or -1. */
int pgl_pop3_login(struct pgl_conn *c, const struct pgl_opts *o, long i);

/* One timed step of a concurrent workload: 0 when it worked. */
typedef int (*pgl_step_fn)(const struct pgl_opts *o, struct pgl_conn *c, int worker, long iteration);

/* pgl_step_pop3 - connect, login, STAT, RETR 1, QUIT. */
int pgl_step_pop3(const struct pgl_opts *o, struct pgl_conn *c, int worker, long iteration);

/* pgl_step_tls - connect, full TLS handshake, greeting, QUIT. */
int pgl_step_tls(const struct pgl_opts *o, struct pgl_conn *c, int worker, long iteration);

/* pgl_run_retr - one session retrieving every message; prints bytes and MB/s. Exit status. */
int pgl_run_retr(const struct pgl_opts *o);

/* pgl_run_login - one session timed to its STAT reply, then QUIT timed. Exit status. */
int pgl_run_login(const struct pgl_opts *o);

/* pgl_run_rcpt - one SMTP session timing each RCPT; prints p50 and p99. Exit status. */
int pgl_run_rcpt(const struct pgl_opts *o);

/* pgl_run_idle - open O->count sessions, say "ready", hold them until stdin closes, QUIT. Exit status. */
int pgl_run_idle(const struct pgl_opts *o, bool smtp);

/* pgl_percentile - the P-th percentile (0..100) of N sorted samples. */
uint32_t pgl_percentile(const uint32_t *sorted, size_t n, double p);

/* pgl_sort - sort N samples ascending. */
void pgl_sort(uint32_t *v, size_t n);

#endif
