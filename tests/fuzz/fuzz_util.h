/* fuzz_util.h - what every popgate fuzz harness shares: scratch files, quiet logs, a fake client, checks. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_FUZZ_UTIL_H
#define POPGATE_FUZZ_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* The libFuzzer entry points every harness defines. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken invariant with context and abort, so libFuzzer saves the input. */
void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

/* FUZZ_CHECK - an invariant; the message says what was seen. */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/*
 * fuzz_setup - once per process: a private scratch directory (removed at exit; in FUZZ_TMPDIR,
 * else /dev/shm, else TMPDIR), SIGPIPE ignored, and log lines formatted at debug level but
 * written to /dev/null (FUZZ_LOG=1 shows them).
 */
void fuzz_setup(void);

/* fuzz_dir - the scratch directory fuzz_setup made. */
const char *fuzz_dir(void);

/* fuzz_path - NAME inside the scratch directory, into BUF (aborts if it does not fit); returns BUF. */
const char *fuzz_path(const char *name, char *buf, size_t cap);

/* fuzz_config - TEXT as a config, aborting with the error if it does not load (a harness bug). */
struct config *fuzz_config(const char *text);

/* fuzz_write_file - replace PATH with LEN bytes of DATA, mode 0600 (aborts on failure). */
void fuzz_write_file(const char *path, const void *data, size_t len);

/* fuzz_cstr - DATA[0..SIZE) up to its first NUL as a new string (free() it). */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* Output kept from one session; beyond this only the count grows. */
#define FUZZ_OUT_MAX (16u << 20)

/*
 * A client connected to a session over a socketpair: a thread writes the input, half-closes,
 * and collects everything the session writes until the session closes its end.
 */
struct fuzz_conn {
	int server_fd;            /* the session's end: hand it to lio_new() or a session_ctx */
	int client_fd;
	const uint8_t *in;
	size_t in_len;
	char *out;                /* what the session wrote (NUL-terminated), first FUZZ_OUT_MAX bytes;
	                             one buffer shared by every connection of the process */
	size_t out_len;
	uint64_t out_total;       /* every byte written, kept or not */
	pthread_t thread;
};

/* fuzz_conn_open - connect, start the client thread feeding IN[0..LEN). Aborts on failure. */
void fuzz_conn_open(struct fuzz_conn *c, const uint8_t *in, size_t len);

/* fuzz_conn_finish - after the session closed server_fd: wait for the client, keep the output (FUZZ_TRACE=1 prints it). */
void fuzz_conn_finish(struct fuzz_conn *c);

/* fuzz_conn_free - done with the output (the next fuzz_conn_open reuses its buffer). */
void fuzz_conn_free(struct fuzz_conn *c);

/* fuzz_count_lines - LF-terminated lines in BUF[0..LEN) (a protocol's command count bound). */
size_t fuzz_count_lines(const void *buf, size_t len);

/*
 * fuzz_check_crlf - every LF in BUF[0..LEN) follows a CR, the text ends with CRLF (unless empty),
 * and no line is longer than MAX_LINE octets with its CRLF. WHAT names the text in the report.
 */
void fuzz_check_crlf(const char *what, const char *buf, size_t len, size_t max_line);

#endif
