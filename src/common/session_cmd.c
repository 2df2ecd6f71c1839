/* session_cmd.c - the one command dispatcher of POP3 and SMTP: verb, state and arguments checked before any handler. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdbool.h>
#include <string.h>

#include "common/session_cmd.h"

static bool ascii_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* verb_end - the length of LINE's verb: letters up to a space or the end. SESSION_CMD_OK or what is wrong. */
static enum session_cmd_error verb_end(const struct session_cmd_table *t, const char *line, size_t *n)
{
	size_t i = 0;

	while (ascii_alpha((unsigned char)line[i])) {
		if (i == t->verb_max)
			return SESSION_CMD_VERB_LONG; /* read no further than the longest verb could be */
		i++;
	}
	if (i == 0 || (line[i] != '\0' && line[i] != ' '))
		return SESSION_CMD_VERB_SYNTAX;
	*n = i;
	return SESSION_CMD_OK;
}

/* same_verb - whether ROW (upper case) is the N letters of VERB in any case; ASCII, whatever the locale. */
static bool same_verb(const char *row, const char *verb, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (row[i] == '\0' || row[i] != (verb[i] >= 'a' ? verb[i] - 'a' + 'A' : verb[i]))
			return false;
	return row[n] == '\0';
}

/*
 * find - the row for the N-octet VERB: the first valid in STATE, else the first at all (for its
 * texts), NULL when no row has it. *VALID tells whether the row is valid in STATE.
 */
static const struct session_cmd *find(const struct session_cmd_table *t, const char *verb, size_t n, unsigned state,
				      bool *valid)
{
	const struct session_cmd *first = NULL;

	*valid = false;
	for (size_t i = 0; i < t->ncmds; i++) {
		const struct session_cmd *c = &t->cmds[i];

		if (!same_verb(c->verb, verb, n))
			continue;
		if (c->states & state) {
			*valid = true;
			return c;
		}
		if (first == NULL)
			first = c;
	}
	return first;
}

/* split_words - S's space-separated words into ARGS, NUL-terminated in place. -1 when there are too many. */
static int split_words(char *s, struct session_args *args)
{
	for (;;) {
		s += strspn(s, " "); /* lenient: several spaces, or trailing ones, separate nothing */
		if (*s == '\0')
			return 0;
		if (args->argc == SESSION_ARGS_MAX)
			return -1;
		args->argv[args->argc++] = s;
		s += strcspn(s, " ");
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* split - the arguments of CMD from REST, the text just after the verb ("" or starting with its space). */
static int split(const struct session_cmd *cmd, char *rest, struct session_args *args)
{
	if (*rest == ' ')
		rest++;
	if (cmd->split == SESSION_SPLIT_WORDS)
		return split_words(rest, args);
	if (cmd->split == SESSION_SPLIT_TEXT)
		rest += strspn(rest, " ");
	if (*rest != '\0')
		args->argv[args->argc++] = rest;
	return 0;
}

/* check_args - the argument count and lengths of CMD against its row and T's default bound. */
static enum session_cmd_error check_args(const struct session_cmd_table *t, const struct session_cmd *cmd,
					 const struct session_args *args)
{
	if (args->argc < cmd->min_args || args->argc > cmd->max_args)
		return SESSION_CMD_ARGS;
	for (int i = 0; i < args->argc; i++) {
		size_t max = cmd->arg_max[i] != 0 ? cmd->arg_max[i] : t->arg_max;

		if (max != 0 && strlen(args->argv[i]) > max)
			return SESSION_CMD_ARG_LONG;
	}
	return SESSION_CMD_OK;
}

enum session_cmd_error session_cmd_parse(const struct session_cmd_table *t, unsigned state, char *line, size_t len,
					 const struct session_cmd **cmd, struct session_args *args)
{
	enum session_cmd_error e;
	size_t n = 0;
	bool valid;

	*cmd = NULL;
	memset(args, 0, sizeof(*args));
	if (strlen(line) != len)
		return SESSION_CMD_NUL; /* a verb or argument cut short would not be what the client sent */
	if ((e = verb_end(t, line, &n)) != SESSION_CMD_OK)
		return e;
	if ((*cmd = find(t, line, n, state, &valid)) == NULL)
		return SESSION_CMD_UNKNOWN;
	if ((*cmd)->line_max != 0 && len + 2 > (*cmd)->line_max)
		return SESSION_CMD_LINE_LONG;
	if (!valid)
		return SESSION_CMD_STATE;
	if (split(*cmd, line + n, args) < 0)
		return SESSION_CMD_ARGS;
	return check_args(t, *cmd, args);
}

int session_cmd_dispatch(const struct session_cmd_table *t, void *session, unsigned state, char *line, size_t len)
{
	const struct session_cmd *cmd;
	struct session_args args;
	enum session_cmd_error e = session_cmd_parse(t, state, line, len, &cmd, &args);

	if (e != SESSION_CMD_OK)
		return t->refuse(session, e, cmd);
	return cmd->fn(session, &args);
}
