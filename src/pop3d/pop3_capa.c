/* pop3_capa.c - the plaintext-password policy and the CAPA list (RFC 2449) that advertises it. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/plaintext_policy.h"
#include "pop3d/pop3_int.h"

bool pop3_plaintext_allowed(const struct config *cfg, const struct ip_addr *client, bool tls)
{
	return plaintext_allowed(cfg, "pop3", client, tls);
}

/* add - append one formatted line and CRLF at *pos; false when OUT is full. */
static bool __attribute__((format(printf, 4, 5))) add(char *out, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos + 2 >= cap)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(out + *pos, cap - *pos - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *pos - 2)
		return false;
	*pos += (size_t)n;
	out[(*pos)++] = '\r';
	out[(*pos)++] = '\n';
	out[*pos] = '\0';
	return true;
}

/* printable - whether an admin-supplied capability argument can go on the wire as is. */
static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int pop3_capa_format(const struct config *cfg, const struct pop3_capa_in *in, char *out, size_t cap)
{
	bool pre = in->state == POP3_AUTHORIZATION;
	const char *expire = conf(cfg)->pop3.expire;
	long long delay = conf(cfg)->pop3.login_delay;
	size_t pos = 0;
	bool ok = add(out, cap, &pos, "+OK Capability list follows") &&
		  add(out, cap, &pos, "TOP") && add(out, cap, &pos, "UIDL");

	/* Offering passwords where they would be refused only invites clients to leak them. */
	if (ok && pre && in->plaintext_ok)
		ok = add(out, cap, &pos, "USER");
	ok = ok && add(out, cap, &pos, "RESP-CODES") && add(out, cap, &pos, "PIPELINING");
	if (ok && pre && in->tls_available && !in->tls_active)
		ok = add(out, cap, &pos, "STLS");
	if (ok && pre && in->plaintext_ok)
		ok = add(out, cap, &pos, "SASL PLAIN LOGIN");
	if (ok && expire[0] != '\0' && printable(expire))
		ok = add(out, cap, &pos, "EXPIRE %s", expire);
	if (ok && delay > 0)
		ok = add(out, cap, &pos, "LOGIN-DELAY %lld", delay);
	ok = ok && add(out, cap, &pos, "AUTH-RESP-CODE") && add(out, cap, &pos, "IMPLEMENTATION popgate") &&
	     add(out, cap, &pos, ".");
	return ok ? (int)pos : -1;
}

int pop3_cmd_capa(void *session, struct session_args *a)
{
	struct pop3 *p = session;
	char buf[1024];
	struct pop3_capa_in in = {
		.state = p->state,
		.tls_active = p->tls,
		.tls_available = p->ctx->tls != NULL,
		.plaintext_ok = pop3_plaintext_allowed(p->ctx->cfg, &p->ctx->client, p->tls || p->ctx->proxied_tls),
	};
	int n = pop3_capa_format(p->ctx->cfg, &in, buf, sizeof(buf));

	if (n < 0)
		return pop3_reply(p, "-ERR [SYS/TEMP] Capability list too long");
	return lio_write(p->lio, buf, (size_t)n) == 0 ? POP3_CONTINUE : POP3_CLOSE;
}
