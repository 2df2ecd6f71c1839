/* tls.h - OpenSSL contexts for popgate's servers and for its smarthost client. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_TLS_H
#define POPGATE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "common/config.h"

/* tls_server_ctx - a server context from [tls]; NULL with a "FILE:LINE: ..." reason in ERR. */
SSL_CTX *tls_server_ctx(const struct config *cfg, struct cfg_error *err);

/* tls_client_ctx - a client context; VERIFY asks for certificate verification against the system CAs. */
SSL_CTX *tls_client_ctx(bool verify, char *err, size_t errlen);

/* tls_configured - whether [tls] names a certificate and key. */
bool tls_configured(const struct config *cfg);

/* tls_error_string - the latest OpenSSL error queue entry as text (and clears the queue). */
const char *tls_error_string(char *buf, size_t cap);

#endif
