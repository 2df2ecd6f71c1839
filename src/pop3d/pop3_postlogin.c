/* pop3_postlogin.c - the TRANSACTION and UPDATE states, run as the mailbox owner. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * The TRANSACTION and UPDATE states (RFC 1939 sections 5 and 6), run as the
 * mailbox owner. Deletions only take effect at QUIT; any other end leaves the maildrop as it was.
 */
#include <limits.h>
#include <string.h>

#include "common/log.h"
#include "pop3d/pop3_int.h"

/* totals - messages not marked deleted and their octets. */
static void totals(const struct mailbox *mb, size_t *count, uint64_t *octets)
{
	*count = 0;
	*octets = 0;
	for (size_t i = 0; i < mailbox_count(mb); i++)
		if (!mailbox_is_deleted(mb, i)) {
			(*count)++;
			*octets += mailbox_size(mb, i);
		}
}

/*
 * message - ARG as a present, undeleted message: POP3_CONTINUE with *FOUND and its 0-based *I,
 * or the queued -ERR (a malformed number is a bad command; a missing message is not).
 */
static enum pop3_outcome message(struct pop3 *p, const char *arg, size_t *i, bool *found)
{
	unsigned long n;

	*found = false;
	if (pop3_parse_number(arg, &n) < 0)
		return pop3_bad(p, "Invalid message number");
	if (n == 0 || n > mailbox_count(p->mb) || mailbox_is_deleted(p->mb, n - 1))
		return pop3_reply(p, "-ERR no such message");
	*i = n - 1;
	*found = true;
	return POP3_CONTINUE;
}

int pop3_cmd_stat(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	size_t count;
	uint64_t octets;

	totals(p->mb, &count, &octets);
	return pop3_reply(p, "+OK %zu %llu", count, (unsigned long long)octets);
}

/* scan - LIST or UIDL: one message with an argument, else every undeleted one as a multi-line reply. */
static enum pop3_outcome scan(struct pop3 *p, int argc, char **argv, bool uidl)
{
	enum pop3_outcome o;
	size_t i, count;
	uint64_t octets;
	bool found;

	if (argc == 1) {
		if ((o = message(p, argv[0], &i, &found)) != POP3_CONTINUE || !found)
			return o;
		if (uidl)
			return pop3_reply(p, "+OK %zu %s", i + 1, mailbox_uidl(p->mb, i));
		return pop3_reply(p, "+OK %zu %llu", i + 1, (unsigned long long)mailbox_size(p->mb, i));
	}
	totals(p->mb, &count, &octets);
	o = uidl ? pop3_reply(p, "+OK unique-id listing follows")
		 : pop3_reply(p, "+OK %zu messages (%llu octets)", count, (unsigned long long)octets);
	for (i = 0; o == POP3_CONTINUE && i < mailbox_count(p->mb); i++) {
		if (mailbox_is_deleted(p->mb, i))
			continue;
		if (uidl)
			o = pop3_reply(p, "%zu %s", i + 1, mailbox_uidl(p->mb, i));
		else
			o = pop3_reply(p, "%zu %llu", i + 1, (unsigned long long)mailbox_size(p->mb, i));
	}
	return o == POP3_CONTINUE ? pop3_reply(p, ".") : o;
}

int pop3_cmd_list(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	return scan(p, a->argc, a->argv, false);
}

int pop3_cmd_uidl(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	return scan(p, a->argc, a->argv, true);
}

/* write_client - mailbox_send's sink: the session's buffered output. */
static int write_client(void *arg, const void *buf, size_t len)
{
	struct pop3 *p = arg;

	return lio_write(p->lio, buf, len);
}

/* send_message - the body of a RETR or TOP reply and its terminating ".". */
static enum pop3_outcome send_message(struct pop3 *p, size_t i, long lines)
{
	if (mailbox_send(p->mb, i, lines, write_client, p) < 0 || lio_write(p->lio, ".\r\n", 3) < 0) {
		/* Part of a multi-line reply may be out: the only safe way on is to hang up. */
		log_session(LOG_ERR, p->proto, p->ctx->client_ip, p->username, "send failed", "message=%zu",
			    i + 1);
		return POP3_CLOSE;
	}
	return POP3_CONTINUE;
}

int pop3_cmd_retr(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	enum pop3_outcome o;
	size_t i;
	bool found;

	if ((o = message(p, a->argv[0], &i, &found)) != POP3_CONTINUE || !found)
		return o;
	if (pop3_reply(p, "+OK %llu octets", (unsigned long long)mailbox_size(p->mb, i)) != POP3_CONTINUE)
		return POP3_CLOSE;
	if ((o = send_message(p, i, -1)) == POP3_CONTINUE) {
		mailbox_mark_seen(p->mb, i);
		p->retrieved++;
	}
	return o;
}

int pop3_cmd_top(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	enum pop3_outcome o;
	unsigned long lines;
	size_t i;
	bool found;

	if ((o = message(p, a->argv[0], &i, &found)) != POP3_CONTINUE || !found)
		return o;
	if (pop3_parse_number(a->argv[1], &lines) < 0)
		return pop3_bad(p, "Invalid line count");
	if (pop3_reply(p, "+OK top of message follows") != POP3_CONTINUE)
		return POP3_CLOSE;
	return send_message(p, i, lines > LONG_MAX ? LONG_MAX : (long)lines);
}

int pop3_cmd_dele(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	enum pop3_outcome o;
	size_t i;
	bool found;

	if ((o = message(p, a->argv[0], &i, &found)) != POP3_CONTINUE || !found)
		return o;
	mailbox_set_deleted(p->mb, i, true);
	return pop3_reply(p, "+OK message %zu deleted", i + 1);
}

int pop3_cmd_noop(void *session, struct session_args *a)
{
	struct pop3 *p = session;

	return pop3_reply(p, "+OK");
}

int pop3_cmd_rset(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	size_t count;
	uint64_t octets;

	for (size_t i = 0; i < mailbox_count(p->mb); i++)
		mailbox_set_deleted(p->mb, i, false);
	totals(p->mb, &count, &octets);
	return pop3_reply(p, "+OK maildrop has %zu messages (%llu octets)", count, (unsigned long long)octets);
}

int pop3_cmd_quit_trans(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	size_t left;
	uint64_t octets;
	enum mailbox_status st;

	totals(p->mb, &left, &octets);
	p->deleted = mailbox_count(p->mb) - left;
	st = mailbox_commit(p->mb); /* the UPDATE state */
	mailbox_unlock(p->mb);
	log_session(st == MAILBOX_OK ? LOG_INFO : LOG_ERR, p->proto, p->ctx->client_ip, p->username, "quit",
		    "retr=%lu dele=%lu left=%zu update=%s", p->retrieved, p->deleted, left,
		    mailbox_status_name(st));
	if (st != MAILBOX_OK)
		(void)pop3_reply(p, "-ERR [SYS/TEMP] some deleted messages not removed");
	else
		(void)pop3_reply(p, "+OK popgate signing off (%zu messages left)", left);
	return POP3_QUIT;
}

const char *pop3_mailbox_error(enum mailbox_status st)
{
	switch (st) {
	case MAILBOX_IN_USE:
		return "-ERR [IN-USE] Mailbox is locked by another session, try again later";
	case MAILBOX_PERM:
		return "-ERR [SYS/PERM] Mailbox unavailable, contact your administrator";
	default:
		return "-ERR [SYS/TEMP] Mailbox temporarily unavailable, try again later";
	}
}

enum pop3_outcome pop3_transaction(struct pop3 *p, struct mailbox *mb)
{
	size_t count;
	uint64_t octets;

	p->state = POP3_TRANSACTION;
	p->mb = mb;
	totals(mb, &count, &octets);
	log_session(LOG_INFO, p->proto, p->ctx->client_ip, p->username, "mailbox open", "messages=%zu octets=%llu",
		    count, (unsigned long long)octets);
	if (pop3_reply(p, "+OK %zu messages (%llu octets)", count, (unsigned long long)octets) != POP3_CONTINUE)
		return POP3_CLOSE;
	if (lio_buffered(p->lio) == 0 && lio_flush(p->lio) < 0)
		return POP3_CLOSE;
	return pop3_command_loop(p);
}
