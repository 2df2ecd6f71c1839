/* keys_tls.c - [tls]: the certificate and protocol settings shared by POP3S, SMTPS and HTTPS. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "common/config_keys.h"

/* The struct popgate_conf member the rows below fill. */
#define CFG_SECTION tls

const struct cfg_key cfg_keys_tls[] = {
	CFG_KEY(cert_file, CFG_PATH, "", "PEM certificate chain, server certificate first"),
	CFG_KEY(key_file, CFG_PATH, "", "PEM private key for tls.cert_file"),
	CFG_KEY_ENUM(min_protocol, "TLSv1.2", "TLSv1.2|TLSv1.3", "oldest TLS version accepted"),
	CFG_KEY(ciphers, CFG_STRING, "", "OpenSSL TLS 1.2 cipher list; empty means OpenSSL's default"),
	CFG_KEY_RANGE(handshake_timeout, CFG_DURATION, "30s",
		      "time a client has to complete the whole TLS handshake", 1, 3600),
	CFG_KEYS_END,
};
