/* session_cmd.h - one command-table shape and one dispatcher for the line protocols (POP3 and SMTP). */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * A protocol is a table and a state machine (Dovecot's pop3_commands[], OpenSMTPD's command
 * table): each row says where a verb may be used and what arguments it takes, and the one
 * dispatcher checks a line against the table before any handler sees it. Handlers only act;
 * the protocol turns what the dispatcher refused into its own reply (refuse). Adding a command
 * is one row.
 */
#ifndef POPGATE_SESSION_CMD_H
#define POPGATE_SESSION_CMD_H

#include <stddef.h>

/*
 * No command takes more than two words: POP3's TOP msg n and AUTH mechanism initial-response;
 * SMTP's arguments are one text that its own parsers read.
 */
#define SESSION_ARGS_MAX 2

/* How the text after the verb becomes arguments. */
enum session_split {
	SESSION_SPLIT_WORDS = 0, /* words between one or more spaces; trailing spaces separate nothing (POP3) */
	SESSION_SPLIT_VERBATIM,  /* one argument: all after the single space ending the verb, spaces kept (POP3 PASS) */
	SESSION_SPLIT_TEXT,      /* one argument: all after the spaces following the verb (SMTP paths, parameters) */
};

/* A command's arguments, pointing into the line (words NUL-terminated in place). */
struct session_args {
	int argc;
	char *argv[SESSION_ARGS_MAX];
};

/* A handler: SESSION is the protocol's session; returns the protocol's outcome (an enum's value). */
typedef int (*session_cmd_fn)(void *session, struct session_args *args);

/* One row of a command table. */
struct session_cmd {
	const char *verb;            /* upper case; matched case-insensitively */
	unsigned states;             /* the protocol's state bits in which it may be used */
	enum session_split split;
	int min_args, max_args;      /* 0,0 forbids an argument, 1,1 requires one, 0,1 allows one */
	size_t arg_max[SESSION_ARGS_MAX]; /* the longest each argument may be; 0: the table's arg_max */
	size_t line_max;             /* the longest line, CRLF included; 0: whatever the reader accepted */
	const char *usage;           /* the protocol's text for a wrong argument count, or NULL */
	const char *misplaced;       /* the protocol's text for use in another state, or NULL */
	session_cmd_fn fn;
};

/* What the dispatcher found wrong with a line, in the order it checks. */
enum session_cmd_error {
	SESSION_CMD_OK = 0,
	SESSION_CMD_NUL,             /* a NUL byte inside the line */
	SESSION_CMD_VERB_SYNTAX,     /* no verb, or one of other than ASCII letters or not ended by a space */
	SESSION_CMD_VERB_LONG,       /* a verb longer than the table's verb_max */
	SESSION_CMD_UNKNOWN,         /* no row has this verb */
	SESSION_CMD_LINE_LONG,       /* the line is longer than the verb's line_max */
	SESSION_CMD_STATE,           /* the verb exists but not in this state */
	SESSION_CMD_ARGS,            /* too few or too many arguments */
	SESSION_CMD_ARG_LONG,        /* an argument longer than its bound */
};

/* A protocol's commands and what it answers when the table refuses a line. */
struct session_cmd_table {
	const struct session_cmd *cmds;
	size_t ncmds;
	size_t verb_max;             /* a longer verb is SESSION_CMD_VERB_LONG, not UNKNOWN */
	size_t arg_max;              /* the default bound of an argument; 0: none */
	/* refuse - reply to a refused line (CMD is the verb's row, or NULL before one was found); an outcome */
	int (*refuse)(void *session, enum session_cmd_error e, const struct session_cmd *cmd);
};

/*
 * session_cmd_parse - check LINE (LEN octets, CRLF removed) against T in STATE: the verb, the
 * state, the line's length and the arguments, split in place into *ARGS. *CMD is the verb's row
 * when one was found (NULL otherwise), also for the errors after SESSION_CMD_UNKNOWN.
 */
enum session_cmd_error session_cmd_parse(const struct session_cmd_table *t, unsigned state, char *line, size_t len,
					 const struct session_cmd **cmd, struct session_args *args);

/*
 * session_cmd_dispatch - parse LINE (session_cmd_parse) and run its handler on SESSION, or let
 * T->refuse answer what was wrong. Returns the handler's or refuse's outcome.
 */
int session_cmd_dispatch(const struct session_cmd_table *t, void *session, unsigned state, char *line, size_t len);

#endif
