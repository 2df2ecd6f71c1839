/* smtp_forward.c - choose the next hop from smtp.forward and load its settings once per session. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "smtpd/smtp_forward.h"

/* parse_smtp_hop - "HOST:PORT" or "[V6]:PORT" after "smtp:". */
static int parse_smtp_hop(const char *t, struct smtp_forward_cfg *fc, char *err, size_t errlen)
{
	const char *colon, *host = t;
	size_t hl;

	if (t[0] == '[') {
		const char *end = strchr(t, ']');

		if (end == NULL || end[1] != ':')
			return snprintf(err, errlen, "smtp:[ADDRESS]:PORT expected"), -1;
		host = t + 1;
		hl = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(t, ':');
		if (colon == NULL)
			return snprintf(err, errlen, "smtp:HOST:PORT expected"), -1;
		hl = (size_t)(colon - t);
		if (memchr(t, ':', hl) != NULL)
			return snprintf(err, errlen, "write an IPv6 smarthost as smtp:[ADDRESS]:PORT"), -1;
	}
	if (hl == 0 || hl >= sizeof(fc->host))
		return snprintf(err, errlen, "bad smarthost name"), -1;
	memcpy(fc->host, host, hl);
	fc->host[hl] = '\0';
	colon++;
	if (strlen(colon) == 0 || strlen(colon) > 5 || strspn(colon, "0123456789") != strlen(colon) ||
	    atoi(colon) < 1 || atoi(colon) > 65535)
		return snprintf(err, errlen, "bad smarthost port \"%s\"", colon), -1;
	snprintf(fc->port, sizeof(fc->port), "%s", colon);
	fc->kind = SMTP_HOP_SMTP;
	return 0;
}

int smtp_next_hop_parse(const char *text, struct smtp_forward_cfg *fc, char *err, size_t errlen)
{
	if (strncmp(text, "sendmail:", 9) == 0) {
		const char *path = text + 9;

		if (path[0] != '/' || strlen(path) >= sizeof(fc->path))
			return snprintf(err, errlen, "sendmail: needs an absolute path"), -1;
		snprintf(fc->path, sizeof(fc->path), "%s", path);
		fc->kind = SMTP_HOP_SENDMAIL;
		return 0;
	}
	if (strncmp(text, "smtp:", 5) == 0)
		return parse_smtp_hop(text + 5, fc, err, errlen);
	snprintf(err, errlen, "expected sendmail:/path or smtp:HOST:PORT");
	return -1;
}

/* load_auth_file - the first "user:password" line of PATH; comments (#) and blank lines skipped. */
static int load_auth_file(const char *path, struct smtp_forward_cfg *fc)
{
	char line[AUTH_NAME_MAX + AUTH_PASS_MAX + 2];
	FILE *f = fopen(path, "re");
	int rc = -1;

	if (f == NULL) {
		log_err("smtp: smtp.forward_auth_file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon;
		size_t len = strcspn(line, "\r\n");

		line[len] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (colon == NULL || colon == line || (size_t)(colon - line) >= sizeof(fc->auth_user) ||
		    strlen(colon + 1) >= sizeof(fc->auth_pass)) {
			log_err("smtp: smtp.forward_auth_file %s: expected one line user:password", path);
			break;
		}
		*colon = '\0';
		memcpy(fc->auth_user, line, (size_t)(colon - line) + 1);
		memcpy(fc->auth_pass, colon + 1, strlen(colon + 1) + 1);
		fc->have_auth = true;
		rc = 0;
		break;
	}
	if (rc < 0 && !ferror(f) && !fc->have_auth)
		log_err("smtp: smtp.forward_auth_file %s: no user:password line", path);
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return rc;
}

void smtp_forward_cfg_load(const struct config *cfg, const char *helo, struct smtp_forward_cfg *fc)
{
	const char *tls = conf(cfg)->smtp.forward_tls;
	const char *auth_file = conf(cfg)->smtp.forward_auth_file;
	char err[256];

	memset(fc, 0, sizeof(*fc));
	fc->helo = helo;
	fc->tls = strcmp(tls, "require") == 0 ? SMTP_HOP_TLS_REQUIRE
		: strcmp(tls, "no") == 0 ? SMTP_HOP_TLS_NO : SMTP_HOP_TLS_MAY;
	fc->tls_verify = conf(cfg)->smtp.forward_tls_verify;
	fc->client_info = conf(cfg)->smtp.forward_client_info;
	fc->total_timeout = (int)conf(cfg)->smtp.forward_timeout;
	/* One exchange may use the whole budget; RFC 5321 4.5.3.2 allows the next hop minutes per step. */
	fc->step_timeout = fc->total_timeout;
	if (smtp_next_hop_parse(conf(cfg)->smtp.forward, fc, err, sizeof(err)) < 0) {
		log_err("smtp: smtp.forward = %s: %s; every message will be refused with 451",
			conf(cfg)->smtp.forward, err);
		return;
	}
	if (fc->kind == SMTP_HOP_SMTP && auth_file[0] != '\0' && load_auth_file(auth_file, fc) < 0)
		return;
	fc->usable = true;
}

void smtp_forward_cfg_wipe(struct smtp_forward_cfg *fc)
{
	explicit_bzero(fc->auth_pass, sizeof(fc->auth_pass));
	fc->have_auth = false;
}

enum smtp_forward_status smtp_forward(const struct smtp_forward_cfg *fc, const struct smtp_envelope *env,
				      struct smtp_spool *msg, struct smtp_forward_result *res)
{
	res->detail[0] = res->said[0] = '\0';
	if (!fc->usable) {
		snprintf(res->detail, sizeof(res->detail), "smtp.forward is not usable (see the startup error)");
		return SMTP_FWD_TEMPFAIL;
	}
	if (smtp_spool_rewind(msg) < 0) {
		snprintf(res->detail, sizeof(res->detail), "spool read error");
		return SMTP_FWD_TEMPFAIL;
	}
	if (fc->kind == SMTP_HOP_SENDMAIL)
		return smtp_forward_sendmail(fc, env, msg, res);
	return smtp_forward_smtp(fc, env, msg, res);
}
