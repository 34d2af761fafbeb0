/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of lib/. */
#ifndef DLOCK_INTERNAL_H
#define DLOCK_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlock.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Records a failure in err (which may be NULL) and returns code. */
int set_error(struct dlock_error *err, int code, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t now_ms(void);

/* Milliseconds left until deadline, never negative; -1 for no deadline. */
int ms_until(int64_t deadline);

#define NO_DEADLINE INT64_MAX

/* Overwrites s before free() so that a password does not linger. */
void free_secret(char *s);

/* Fills buf with 2*len+1 bytes: len random bytes in hex. */
int random_hex(char *buf, size_t len, struct dlock_error *err);

/*
 * The name of the effective user, for holder details: "?" when it has
 * none. The first look is /etc/passwd itself, because NSS costs a fresh
 * process about 100 us (nsswitch.conf, nscd's socket, then the same
 * file), a twentieth of a whole dlock run; users only NSS knows (LDAP,
 * sssd) still come from NSS.
 */
void user_name(char *buf, size_t size);

/*
 * Whether the passwd(5) file at path names uid before any NIS compat
 * entry, with the first such name, fitting size, in buf.
 */
bool passwd_name(const char *path, unsigned long uid, char *buf, size_t size);

/* ---- URLs ---- */

enum url_kind { URL_TCP, URL_UNIX };

struct url {
	enum url_kind kind;
	bool tls;
	char *host;		/* URL_TCP: name or address, without [] */
	int port;
	char *path;		/* URL_UNIX */
	long db;
	char *user;		/* NULL when absent */
	char *password;		/* NULL when absent */
	char *display;		/* the URL with the password masked */
	/*
	 * redis+cluster://: the seed nodes, tried in turn; host and port
	 * are the first one's. Otherwise nseeds is 0.
	 */
	bool cluster;
	size_t nseeds;
	struct url_seed {
		char *host;
		int port;
	} *seeds;
	/*
	 * redis+sentinel:// and rediss+sentinel://: the sentinels to ask
	 * (host and port stay unset) for the master named service, whose
	 * credentials user and password are.
	 */
	bool sentinel;
	char *service;
	size_t nsentinels;
	struct url_host *sentinels;
	/*
	 * etcd:// and etcds://: the endpoints of one etcd cluster, tried in
	 * turn; host and port are the first one's.
	 */
	bool etcd;
	size_t nendpoints;
	struct url_host *endpoints;
};

/* One host:port of a list (the sentinels of a URL). */
struct url_host {
	char *host;
	int port;
};

/* Sentinels listen on 26379 unless the URL says otherwise. */
#define SENTINEL_PORT 26379
/* etcd serves clients on 2379 unless the URL says otherwise. */
#define ETCD_PORT 2379
/* Longest master name after the sentinels in a URL. */
#define SENTINEL_SERVICE_MAX 128

/* Parses text into u (pure). Returns 0 or DLOCK_ECONFIG. */
int url_parse(const char *text, struct url *u, struct dlock_error *err);
void url_clear(struct url *u);

/* ---- config lines ---- */

/*
 * Splits one line of a config file (pure). On success *key and *value
 * point into line, which is modified; both are NULL for a blank line or
 * a comment. Returns 0 or DLOCK_ECONFIG.
 */
int config_split_line(char *line, char **key, char **value,
		      struct dlock_error *err);

/* Checks a key prefix (pure). Returns 0 or DLOCK_EUSAGE. */
int check_prefix(const char *prefix, struct dlock_error *err);

/* ---- resolved settings ---- */

struct dlock_config {
	char **url_texts;
	size_t nurls;
	bool urls_from_option;
	struct url *urls;
	char *prefix;
	/*
	 * No --prefix, DLOCK_PREFIX or config line: the etcd backend then
	 * uses lock names as they are, as etcdctl lock does.
	 */
	bool prefix_default;
	int64_t connect_timeout_ms;
	bool connect_timeout_set;
	char *user;
	char *password;
	char *password_file;
	/* The sentinels' own credentials, apart from the master's. */
	char *sentinel_user;
	char *sentinel_password;
	char *sentinel_password_file;
	/* --wait-replicas: replicas that must confirm a write (-1: default) */
	long wait_replicas;
	char *config_file;
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *tls_server_name;
	char **warnings;
	size_t nwarnings;
	char **notes;		/* for --verbose: what was read or skipped */
	size_t nnotes;
	bool resolved;
};

/* Frees what a holder's fields own, for any backend, and zeroes it. */
void holder_clear(struct dlock_holder *h);

#endif
