/* tls.c - OpenSSL server and client contexts built from the [tls] section. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/tls.h"

const char *tls_error_string(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, cap, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

bool tls_configured(const struct config *cfg)
{
	return *conf(cfg)->tls.cert_file != '\0' && *conf(cfg)->tls.key_file != '\0';
}

/* harden - settings every popgate context shares: no compression, no renegotiation, modern floor. */
static void harden(SSL_CTX *ctx, int min_version)
{
	SSL_CTX_set_min_proto_version(ctx, min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

SSL_CTX *tls_server_ctx(const struct config *cfg, struct cfg_error *err)
{
	const char *cert = conf(cfg)->tls.cert_file, *key = conf(cfg)->tls.key_file;
	const char *ciphers = conf(cfg)->tls.ciphers;
	char why[256];
	SSL_CTX *ctx;

	if (*cert == '\0' || *key == '\0') {
		cfg_fail(cfg, *cert == '\0' ? "tls.cert_file" : "tls.key_file", err,
			 "a TLS listener needs tls.cert_file and tls.key_file");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err->msg, sizeof(err->msg), "TLS: %s", tls_error_string(why, sizeof(why)));
		return NULL;
	}
	harden(ctx, strcmp(conf(cfg)->tls.min_protocol, "TLSv1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION);
	/* One process per session: a session cache would never be hit again. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		cfg_fail(cfg, "tls.cert_file", err, "%s: %s", cert, tls_error_string(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		cfg_fail(cfg, "tls.key_file", err, "%s: %s", key, tls_error_string(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		cfg_fail(cfg, "tls.key_file", err, "%s does not match %s", key, cert);
		goto fail;
	}
	if (*ciphers != '\0' && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		cfg_fail(cfg, "tls.ciphers", err, "no usable cipher in '%s'", ciphers);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx(bool verify, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(err, errlen, "TLS: %s", tls_error_string(why, sizeof(why)));
		return NULL;
	}
	harden(ctx, TLS1_2_VERSION);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "TLS: cannot load system CAs: %s", tls_error_string(why, sizeof(why)));
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}
