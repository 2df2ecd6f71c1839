/* cmd_passwd.c - `popgatectl passwd`: print a yescrypt hash for auth.passwd_file of a password typed or piped in. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/auth.h"
#include "ctl/ctl.h"

/* libxcrypt refuses longer phrases (CRYPT_MAX_PASSPHRASE_SIZE); say so before trying. */
#define PASS_CAP 512

/* The terminal settings to put back if a signal arrives while echo is off. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_dirty;

/* restore_and_die - put echo back, then die of the signal as if we had not caught it. */
static void restore_and_die(int sig)
{
	if (tty_dirty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* catch_signals - make INT/TERM/HUP/QUIT restore the terminal (or stop doing so when ON is false). */
static void catch_signals(bool on)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? restore_and_die : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * read_line - one line from FD into BUF without its newline ("\n" or "\r\n"), read a byte at a
 * time so nothing past it is consumed. 0, or -1 with *why (end of input, too long, read error).
 */
static int read_line(int fd, char *buf, size_t cap, const char **why)
{
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			return -1;
		}
		if (n == 0 && len == 0) {
			*why = "no password given (end of input)";
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= cap) {
			*why = "password too long";
			return -1;
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return 0;
}

/* read_secret - prompt on stderr and read a line from the terminal on stdin with echo off. */
static int read_secret(const char *prompt, char *buf, size_t cap, const char **why)
{
	struct termios quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
		*why = strerror(errno);
		return -1;
	}
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	catch_signals(true);
	tty_dirty = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
		*why = strerror(errno);
		rc = -1;
	} else
		rc = read_line(STDIN_FILENO, buf, cap, why);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_dirty = 0;
	catch_signals(false);
	return rc;
}

/* get_password - twice from a terminal (must match), else one line from stdin. 0 or -1 with *why. */
static int get_password(char *pass, char *again, size_t cap, const char **why)
{
	if (!isatty(STDIN_FILENO))
		return read_line(STDIN_FILENO, pass, cap, why);
	if (read_secret("New password: ", pass, cap, why) != 0 ||
	    read_secret("Retype new password: ", again, cap, why) != 0)
		return -1;
	if (strcmp(pass, again) != 0) {
		*why = "passwords do not match";
		return -1;
	}
	return 0;
}

int ctl_passwd(const struct config *cfg, int argc, char **argv)
{
	char pass[PASS_CAP], again[PASS_CAP], hash[512];
	const char *why = NULL;
	int rc = 1;

	/* ARGV holds what follows "passwd": the password never comes from the command line (ps shows it). */
	if (argc > 0) {
		fprintf(stderr, "usage: popgatectl passwd (no arguments)\n"
			"  prints a yescrypt hash for the HASH field of auth.passwd_file; the password is\n"
			"  typed twice at the prompt, or read as one line from stdin when it is not a tty\n");
		return CTL_EX_USAGE;
	}
	if (get_password(pass, again, sizeof(pass), &why) != 0)
		fprintf(stderr, "popgatectl passwd: %s\n", why);
	else if (pass[0] == '\0')
		fprintf(stderr, "popgatectl passwd: refusing an empty password\n");
	else if (auth_hash_password(pass, hash, sizeof(hash)) != 0)
		fprintf(stderr, "popgatectl passwd: could not hash the password\n");
	else if (printf("%s\n", hash) < 0 || fflush(stdout) != 0)
		fprintf(stderr, "popgatectl passwd: writing the hash: %s\n", strerror(errno));
	else
		rc = 0;
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(again, sizeof(again));
	return rc;
}
