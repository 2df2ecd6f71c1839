/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smtp_message.c - DATA: stamp the Received: header, read the message into the spool, hand it
 * to the next hop and answer with what the next hop decided. Only its acceptance earns a 250.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "smtpd/smtp_data.h"
#include "smtpd/smtp_received.h"
#include "smtpd/smtp_session.h"

/* reasons_text - the distinct relay reasons of the accepted recipients, comma-separated. */
static void reasons_text(unsigned verdicts, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int v = 0; v < SMTP_VERDICT_COUNT; v++) {
		if (!(verdicts & (1u << v)))
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n > 0 ? "," : "", smtp_verdict_text((enum smtp_verdict)v));
		if (n >= cap)
			break;
	}
}

/* stamp - the Received: header, first in the spool. 0 or -1. */
static int stamp(struct smtp_session *s, const char *id)
{
	char reasons[256], tls[128], hdr[2048];
	struct smtp_received r = {
		.helo = s->helo, .client_ip = s->ctx->client_ip, .hostname = s->ctx->hostname,
		.esmtp = s->esmtp, .tls = smtp_tls_active(s), .auth_user = s->auth_user,
		.reasons = reasons, .id = id, .for_rcpt = s->nrcpts == 1 ? s->rcpts[0].text : NULL,
		.when = time(NULL),
	};
	long n;

	reasons_text(s->verdicts, reasons, sizeof(reasons));
	r.tls_info = lio_tls_info(s->lio, tls, sizeof(tls));
	n = smtp_received_format(&r, hdr, sizeof(hdr));
	if (n < 0)
		return -1;
	return smtp_spool_write(s->spool, hdr, (size_t)n);
}

/* deliver - the hand-off and the reply it earns. */
static enum smtp_outcome deliver(struct smtp_session *s, const char *id, uint64_t size)
{
	struct smtp_client_info ci = { .ip = s->ctx->client_ip, .port = s->ctx->client_port, .helo = s->helo,
				       .esmtp = s->esmtp, .ident = id };
	struct smtp_envelope env = { &s->from, s->rcpts, s->nrcpts, s->params.body_8bit, size, id, &ci };
	struct smtp_forward_result res;
	enum smtp_forward_status st = smtp_forward(s->fwd, &env, s->spool, &res);

	switch (st) {
	case SMTP_FWD_OK:
		log_session(LOG_INFO, s->proto, s->ctx->client_ip, smtp_log_user(s), "message relayed",
			    "id=%s from=<%s> rcpts=%zu size=%llu next-hop=%s", id, LOG_PATH(s->from.text),
			    s->nrcpts, (unsigned long long)size, LOG_Q(res.detail));
		session_report(s->ctx, SESSION_MSG_RELAYED, smtp_log_user(s));
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", id);
		break;
	case SMTP_FWD_TEMPFAIL:
		log_session(LOG_WARNING, s->proto, s->ctx->client_ip, smtp_log_user(s), "message deferred",
			    "id=%s from=<%s> rcpts=%zu size=%llu next-hop=%s", id, LOG_PATH(s->from.text),
			    s->nrcpts, (unsigned long long)size, LOG_Q(res.detail));
		session_report(s->ctx, SESSION_HOP_DEFERRED, smtp_log_user(s));
		smtp_reply(s, "451 4.3.0 Next hop unavailable, message not accepted; try again later");
		break;
	case SMTP_FWD_PERMFAIL:
		log_session(LOG_NOTICE, s->proto, s->ctx->client_ip, smtp_log_user(s), "message refused",
			    "id=%s from=<%s> rcpts=%zu size=%llu next-hop=%s", id, LOG_PATH(s->from.text),
			    s->nrcpts, (unsigned long long)size, LOG_Q(res.detail));
		session_report(s->ctx, SESSION_HOP_FAILED, smtp_log_user(s));
		smtp_reply(s, "554 5.0.0 Message refused by the next hop%s%s", res.said[0] != '\0' ? ": " : "",
			   res.said);
		break;
	}
	return SMTP_DONE;
}

/* data_refused - the reply for a message the reader did not accept; CLOSE when the session is over. */
static enum smtp_outcome data_refused(struct smtp_session *s, enum smtp_data_result r, const char *id,
				      uint64_t size)
{
	log_session(r == SMTP_DATA_TIMEOUT || r == SMTP_DATA_EOF ? LOG_INFO : LOG_NOTICE, s->proto,
		    s->ctx->client_ip, smtp_log_user(s), "message not accepted", "id=%s from=<%s> size=%llu: %s",
		    id, LOG_PATH(s->from.text), (unsigned long long)size, smtp_data_result_text(r));
	switch (r) {
	case SMTP_DATA_TOO_BIG:
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit of %llu bytes", (unsigned long long)s->max_size);
		return SMTP_DONE;
	case SMTP_DATA_BARE_EOL:
		smtp_reply(s, "554 5.6.0 Message refused: bare CR or LF in message data (RFC 5321 2.3.8)");
		return SMTP_FAILED;
	case SMTP_DATA_BARE_DOT:
		smtp_reply(s, "554 5.6.0 Message refused: ambiguous end of data (bare CR or LF); closing connection");
		return SMTP_CLOSE;
	case SMTP_DATA_LONG_LINE:
		smtp_reply(s, "554 5.6.0 Message refused: line longer than 998 characters (RFC 5322 2.1.1)");
		return SMTP_FAILED;
	case SMTP_DATA_SPOOL_ERROR:
		smtp_reply(s, "451 4.3.0 Local problem storing the message; try again later");
		return SMTP_DONE;
	case SMTP_DATA_TIMEOUT:
		smtp_reply(s, "421 4.4.2 %s Timeout during DATA, closing connection", s->ctx->hostname);
		return SMTP_CLOSE;
	case SMTP_DATA_OK:
	case SMTP_DATA_EOF:
	case SMTP_DATA_IO_ERROR:
		break;
	}
	return SMTP_CLOSE;
}

int smtp_cmd_data(void *session, struct session_args *a)
{
	struct smtp_session *s = session;
	enum smtp_data_result r;
	enum smtp_outcome o;
	uint64_t size = 0;
	char id[16];

	if (s->nrcpts == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return SMTP_FAILED;
	}
	smtp_new_id(id, sizeof(id));
	smtp_spool_reset(s->spool);
	if (stamp(s, id) < 0) {
		smtp_reply(s, "451 4.3.0 Local problem storing the message; try again later");
		return SMTP_DONE;
	}
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (lio_flush(s->lio) < 0)
		return SMTP_CLOSE;
	/* A DATA begun under stress gives each line smtp.stress_timeout; one begun before keeps its pace. */
	struct smtp_data_pace pace = { smtp_stressed(s) ? s->stress_timeout : 0, s->deadline };
	lio_set_timeout(s->lio, s->data_timeout);
	r = smtp_data_read_paced(s->lio, s->spool, s->max_size, &size, &pace);
	lio_set_timeout(s->lio, s->command_timeout);
	if (r == SMTP_DATA_OK) {
		/* From here a kill could cost the client a duplicate: the master must leave it alone. */
		session_report(s->ctx, SESSION_TXN_HANDOFF, smtp_log_user(s));
		o = deliver(s, id, smtp_spool_size(s->spool));
		/* The verdict leaves before TXN_END: pushed out after that, the client still has its answer. */
		if (lio_flush(s->lio) < 0)
			o = SMTP_CLOSE;
	} else {
		o = data_refused(s, r, id, size);
	}
	smtp_spool_reset(s->spool);
	smtp_reset_transaction(s);
	return o;
}
