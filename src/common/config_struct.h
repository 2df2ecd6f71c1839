/* config_struct.h - every popgate.conf setting as a typed field: conf(cfg)->section.key. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Written by convert_cfg.py from the key tables in keys_*.c (re-run it after adding a key, or
 * add the field by hand: a key row whose field is missing or of another type does not compile).
 * Included by config.h, after the list types. Strings and lists belong to the config.
 */
#ifndef POPGATE_CONFIG_STRUCT_H
#define POPGATE_CONFIG_STRUCT_H

/* [server] */
struct cfg_server {
	const char *hostname;
	const char *user;
	const char *group;
	const char *login_user;
	const char *state_dir; /* an absolute path or "" */
	const char *pid_file; /* an absolute path or "" */
	long long max_connections;
	long long process_reuse;
	long long process_idle_timeout; /* seconds */
	long long max_connections_per_ip;
	struct cidr_list connection_limit_exceptions;
	bool connection_limit_exempts_relay_allow;
	struct cidr_list proxy_networks;
	long long proxy_timeout; /* seconds */
	long long shutdown_timeout; /* seconds */
	const char *log_facility; /* one of the choices */
	const char *log_level; /* one of the choices */
};

/* [tls] */
struct cfg_tls {
	const char *cert_file; /* an absolute path or "" */
	const char *key_file; /* an absolute path or "" */
	const char *min_protocol; /* one of the choices */
	const char *ciphers;
	long long handshake_timeout; /* seconds */
};

/* [auth] */
struct cfg_auth {
	const char *backend; /* one of the choices */
	const char *passwd_file; /* an absolute path or "" */
	const char *apop_secrets_file; /* an absolute path or "" */
	const char *system_mailbox;
	long long workers;
	long long first_valid_uid;
	long long fail_delay; /* seconds */
	long long fail_delay_max; /* seconds */
	long long max_failures;
	long long lockout; /* seconds */
};

/* [pop3] */
struct cfg_pop3 {
	struct listen_list listen;
	struct listen_list listen_tls;
	struct listen_list listen_proxy;
	struct listen_list listen_tls_proxy;
	const char *plaintext_auth; /* one of the choices */
	struct cidr_list trusted_networks;
	long long idle_timeout; /* seconds */
	long long session_timeout; /* seconds */
	long long mailbox_process_idle; /* seconds */
	long long max_bad_commands;
	bool apop;
	const char *expire;
	long long login_delay; /* seconds */
};

/* [smtp] */
struct cfg_smtp {
	struct listen_list listen;
	struct listen_list listen_tls;
	struct listen_list listen_proxy;
	struct listen_list listen_tls_proxy;
	struct str_list relay_domains;
	const char *forward;
	const char *forward_tls; /* one of the choices */
	const char *forward_auth_file; /* an absolute path or "" */
	bool forward_tls_verify;
	long long forward_timeout; /* seconds */
	uint64_t max_message_size; /* bytes */
	long long max_recipients;
	long long command_timeout; /* seconds */
	long long data_timeout; /* seconds */
	long long session_timeout; /* seconds */
	long long stress_timeout; /* seconds */
	long long max_errors;
	const char *plaintext_auth; /* one of the choices */
	struct cidr_list trusted_networks;
	bool forward_client_info;
};

/* [relay] */
struct cfg_relay {
	const char *backend; /* one of the choices */
	const char *postgresql;
	const char *store_timeout;
	long long store_cache_max;
	const char *db_dir; /* an absolute path or "" */
	long long timeout; /* seconds */
	struct cidr_list allow;
	struct cidr_list deny;
	const char *export_map; /* an absolute path or "" */
	long long sweep_interval; /* seconds */
	const char *socketmap_listen;
	struct cidr_list socketmap_clients;
	long long socketmap_idle_timeout; /* seconds */
	const char *drac_listen;
	struct cidr_list drac_clients;
};

/* [admin] */
struct cfg_admin {
	struct listen_list listen;
	bool tls;
	const char *users_file; /* an absolute path or "" */
	const char *www_dir; /* an absolute path or "" */
	long long session_timeout; /* seconds */
};

/* The whole file, one member per section. */
struct popgate_conf {
	struct cfg_server server;
	struct cfg_tls tls;
	struct cfg_auth auth;
	struct cfg_pop3 pop3;
	struct cfg_smtp smtp;
	struct cfg_relay relay;
	struct cfg_admin admin;
};

#endif
