/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "internal.h"

#define URL_FORMS "use redis://[user[:password]@]host[:port][/db], " \
	"rediss://..., unix:///path[?db=N], " \
	"redis+cluster://host[:port],host[:port]..., " \
	"redis+sentinel://[user[:password]@]host[:port],.../SERVICE[/db] or " \
	"etcd://[user@]host[:port],host[:port]... (etcds:// for TLS)"

/* Databases are numbered by a C int on the server. */
#define DB_MAX 2147483647L

/*
 * The URL for messages: a password between "scheme://user:" and the last
 * '@' is shown as "***", since messages end up in logs and cron mail.
 * A mistyped scheme must not expose it either, so without "://" before
 * the '@' everything from the first ':' is taken as the password.
 */
static void mask_url(const char *text, char *out, size_t size)
{
	const char *scheme_end = strstr(text, "://");
	const char *at = strrchr(text, '@');
	const char *user = text;
	const char *colon;

	if (!at) {
		snprintf(out, size, "%s", text);
		return;
	}
	if (scheme_end && scheme_end < at)
		user = scheme_end + 3;
	colon = memchr(user, ':', (size_t)(at - user));
	if (!colon) {
		snprintf(out, size, "%s", text);
		return;
	}
	snprintf(out, size, "%.*s:***%s", (int)(colon - text), text, at);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes the %XX escapes of [s, s+len) into *out. Returns 0, DLOCK_ENOMEM,
 * or DLOCK_ECONFIG for a broken escape or an escaped NUL.
 */
static int percent_decode(const char *s, size_t len, char **out)
{
	char *buf = malloc(len + 1), *o = buf;
	int rc = 0;

	if (!buf)
		return DLOCK_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
		lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || hi + lo == 0) {
			rc = DLOCK_ECONFIG;
			break;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	if (rc) {
		free_secret(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * A DNS name (RFC 1035, RFC 1123): at most 253 bytes without the final
 * dot, labels of 1 to 63 bytes that neither start nor end with '-'. A
 * name the resolver could never find is a mistake in the settings (78),
 * not a server that cannot be reached (69). '_' stays allowed: /etc/hosts
 * and container networks use it.
 */
static int check_host_name(const char *host, size_t len, const char *url,
			   struct dlock_error *err)
{
	const char *label = host, *end = host + len;

	if (len && host[len - 1] == '.')
		end--;
	if (end - host > 253)
		return set_error(err, DLOCK_ECONFIG, "invalid host in URL "
				 "'%s': the name is %zu bytes long, and a host "
				 "name has at most 253", url,
				 (size_t)(end - host));
	while (label <= end) {
		const char *dot = memchr(label, '.', (size_t)(end - label));
		size_t n = (size_t)((dot ? dot : end) - label);

		if (n == 0)
			return set_error(err, DLOCK_ECONFIG, "invalid host in "
					 "URL '%s': an empty label (two dots "
					 "in a row, or a leading dot)", url);
		if (n > 63)
			return set_error(err, DLOCK_ECONFIG, "invalid host in "
					 "URL '%s': a label of %zu bytes, and "
					 "a label has at most 63", url, n);
		if (label[0] == '-' || label[n - 1] == '-')
			return set_error(err, DLOCK_ECONFIG, "invalid host in "
					 "URL '%s': a label starts or ends "
					 "with '-'", url);
		label += n + 1;
	}
	return 0;
}

static bool ipv6_char(char c)
{
	return hex_value(c) >= 0 || c == ':' || c == '.' || c == '%';
}

static int parse_db(const char *text, const char *url, long *db,
		    struct dlock_error *err)
{
	struct dlock_error num;

	if (dlock_parse_uint(text, DB_MAX, db, &num))
		return set_error(err, DLOCK_ECONFIG,
				 "invalid database number in URL '%s': %s",
				 url, num.msg);
	return 0;
}

static int parse_userinfo(const char *s, size_t len, struct url *u,
			  const char *url, struct dlock_error *err)
{
	const char *colon = memchr(s, ':', len);
	size_t user_len = colon ? (size_t)(colon - s) : len;
	int rc;

	if (user_len) {
		rc = percent_decode(s, user_len, &u->user);
		if (rc)
			goto fail;
	}
	if (colon) {
		rc = percent_decode(colon + 1, len - user_len - 1,
				    &u->password);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	if (rc == DLOCK_ENOMEM)
		return set_error(err, rc, "out of memory");
	return set_error(err, rc, "invalid %%-escape in the user or password "
			 "of URL '%s'", url);
}

static int parse_hostport(const char *s, size_t len, struct url *u,
			  const char *url, struct dlock_error *err)
{
	const char *end = s + len, *host = s, *host_end, *p;
	/* A caller may preset another default (a sentinel's). */
	long port = u->port ? u->port : 6379;

	if (len && *s == '[') {
		host = s + 1;
		host_end = memchr(host, ']', len - 1);
		if (!host_end || host_end == host)
			return set_error(err, DLOCK_ECONFIG,
					 "invalid IPv6 address in URL '%s': "
					 "write it as [::1]", url);
		for (p = host; p < host_end; p++)
			if (!ipv6_char(*p))
				goto bad_host;
		p = host_end + 1;
	} else {
		host_end = memchr(s, ':', len);
		if (!host_end)
			host_end = end;
		for (p = host; p < host_end; p++)
			if (!host_char(*p))
				goto bad_host;
		if (host_end > host &&
		    check_host_name(host, (size_t)(host_end - host), url, err))
			return DLOCK_ECONFIG;
		p = host_end;
	}
	if (p < end) {
		char digits[8];
		size_t n = (size_t)(end - p - 1);
		struct dlock_error num;

		if (*p != ':')
			goto bad_host;
		if (n == 0 || n >= sizeof(digits) ||
		    (memcpy(digits, p + 1, n), digits[n] = '\0',
		     dlock_parse_uint(digits, 65535, &port, &num)) ||
		    port == 0)
			return set_error(err, DLOCK_ECONFIG,
					 "invalid port in URL '%s': use a "
					 "number from 1 to 65535", url);
	}
	if (host_end == host)
		u->host = strdup("127.0.0.1");
	else
		u->host = strndup(host, (size_t)(host_end - host));
	if (!u->host)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	u->port = (int)port;
	return 0;
bad_host:
	return set_error(err, DLOCK_ECONFIG, "invalid host in URL '%s'; "
			 URL_FORMS, url);
}

static int parse_tcp(const char *rest, struct url *u, const char *url,
		     struct dlock_error *err)
{
	/* The last '@' ends the user part, so a password may hold '@'. */
	const char *at = strrchr(rest, '@');
	const char *authority = at ? at + 1 : rest;
	size_t auth_len = strcspn(authority, "/?#");
	const char *path = authority + auth_len;
	int rc;

	if (at) {
		rc = parse_userinfo(rest, (size_t)(at - rest), u, url, err);
		if (rc)
			return rc;
	}
	rc = parse_hostport(authority, auth_len, u, url, err);
	if (rc)
		return rc;
	if (*path == '?' || *path == '#')
		return set_error(err, DLOCK_ECONFIG,
				 "URL '%s' has a query or fragment, which "
				 "dlock does not use; %s", url, URL_FORMS);
	if (*path == '/' && path[1])
		return parse_db(path + 1, url, &u->db, err);
	return 0;
}

static int add_seed(struct url *u, const char *s, size_t len,
		    const char *url, struct dlock_error *err)
{
	struct url one = { 0 };
	struct url_seed *grown;
	int rc;

	if (len == 0)
		return set_error(err, DLOCK_ECONFIG, "URL '%s' has an empty "
				 "node name (nodes are separated by commas); "
				 "%s", url, URL_FORMS);
	rc = parse_hostport(s, len, &one, url, err);
	if (rc)
		return rc;
	grown = realloc(u->seeds, (u->nseeds + 1) * sizeof(*u->seeds));
	if (!grown) {
		free(one.host);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	u->seeds = grown;
	u->seeds[u->nseeds].host = one.host;
	u->seeds[u->nseeds++].port = one.port;
	return 0;
}

/*
 * redis+cluster://[user[:password]@]h1[:p1],h2[:p2],...: any node of a
 * cluster will do as a seed. A cluster has database 0 only.
 */
static int parse_cluster(const char *rest, struct url *u, const char *url,
			 struct dlock_error *err)
{
	const char *at = strrchr(rest, '@');
	const char *authority = at ? at + 1 : rest;
	size_t auth_len = strcspn(authority, "/?#");
	const char *p = authority, *end = authority + auth_len;
	int rc;

	u->cluster = true;
	if (at) {
		rc = parse_userinfo(rest, (size_t)(at - rest), u, url, err);
		if (rc)
			return rc;
	}
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		rc = add_seed(u, p, (size_t)(stop - p), url, err);
		if (rc)
			return rc;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (*end == '?' || *end == '#' || (*end == '/' && end[1] &&
					   strcmp(end + 1, "0") != 0))
		return set_error(err, DLOCK_ECONFIG, "URL '%s': a cluster URL "
				 "takes no database or query (a cluster has "
				 "database 0 only); %s", url, URL_FORMS);
	u->host = strdup(u->seeds[0].host);
	if (!u->host)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	u->port = u->seeds[0].port;
	return 0;
}

static int parse_unix(const char *rest, struct url *u, const char *url,
		      struct dlock_error *err)
{
	const char *query = strchr(rest, '?');
	size_t len = query ? (size_t)(query - rest) : strlen(rest);

	if (len == 0 || rest[0] != '/')
		return set_error(err, DLOCK_ECONFIG,
				 "URL '%s' needs an absolute socket path: "
				 "unix:///path/to/redis.sock", url);
	if (len >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return set_error(err, DLOCK_ECONFIG,
				 "the socket path in URL '%s' is longer than "
				 "%zu bytes", url,
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	u->path = strndup(rest, len);
	if (!u->path)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	if (query) {
		if (strncmp(query, "?db=", 4) != 0)
			return set_error(err, DLOCK_ECONFIG,
					 "URL '%s': the only parameter of a "
					 "unix:// URL is ?db=N", url);
		return parse_db(query + 4, url, &u->db, err);
	}
	return 0;
}

/* redis+cluster://user:***@h1:p1,h2:p2 */
static int cluster_display(struct url *u)
{
	char buf[1024];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s+cluster://%s%s%s",
			     u->tls ? "rediss" : "redis",
			     u->user ? u->user : "",
			     u->password ? ":***" : "",
			     u->user || u->password ? "@" : "");
	for (size_t i = 0; i < u->nseeds && n < sizeof(buf); i++) {
		bool v6 = strchr(u->seeds[i].host, ':') != NULL;

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s%s%s:%d",
				      i ? "," : "", v6 ? "[" : "",
				      u->seeds[i].host, v6 ? "]" : "",
				      u->seeds[i].port);
	}
	u->display = strdup(buf);
	return u->display ? 0 : DLOCK_ENOMEM;
}

/* A master name as sentinel.conf takes it: one word, no '/'. */
static bool service_char(char c)
{
	return host_char(c) || c == ':' || c == '+' || c == '=' || c == '@';
}

static int parse_service(const char *path, struct url *u, const char *url,
			 struct dlock_error *err)
{
	const char *slash = strchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : strlen(path);

	if (len == 0)
		return set_error(err, DLOCK_ECONFIG, "URL '%s' names no "
				 "master: add /SERVICE after the sentinels, "
				 "the name of 'sentinel monitor SERVICE ...'",
				 url);
	if (len > SENTINEL_SERVICE_MAX)
		return set_error(err, DLOCK_ECONFIG, "the master name in URL "
				 "'%s' is longer than %d bytes", url,
				 SENTINEL_SERVICE_MAX);
	for (size_t i = 0; i < len; i++)
		if (!service_char(path[i]))
			return set_error(err, DLOCK_ECONFIG, "invalid master "
					 "name in URL '%s': letters, digits "
					 "and . _ - : + = @ only", url);
	u->service = strndup(path, len);
	if (!u->service)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	if (slash && slash[1])
		return parse_db(slash + 1, url, &u->db, err);
	return 0;
}

/*
 * One host[:port] of a comma-separated list (what names a sentinel or an
 * etcd endpoint), appended to *list.
 */
static int add_host(const char *s, size_t len, int port, const char *what,
		    struct url_host **list, size_t *n, const char *url,
		    struct dlock_error *err)
{
	struct url one = { .port = port };
	struct url_host *v;
	int rc;

	if (len == 0)
		return set_error(err, DLOCK_ECONFIG, "URL '%s' has an empty "
				 "%s address (two commas in a row, or one at "
				 "an end)", url, what);
	rc = parse_hostport(s, len, &one, url, err);
	if (rc)
		return rc;
	v = realloc(*list, (*n + 1) * sizeof(*v));
	if (!v) {
		free(one.host);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	*list = v;
	v[*n].host = one.host;
	v[*n].port = one.port;
	(*n)++;
	return 0;
}

static int parse_sentinel(const char *rest, struct url *u, const char *url,
			  struct dlock_error *err)
{
	const char *at = strrchr(rest, '@');
	const char *list = at ? at + 1 : rest;
	size_t list_len = strcspn(list, "/?#");
	const char *path = list + list_len, *p = list;
	int rc;

	u->sentinel = true;
	if (at) {
		rc = parse_userinfo(rest, (size_t)(at - rest), u, url, err);
		if (rc)
			return rc;
	}
	while (p <= list + list_len) {
		const char *comma = memchr(p, ',', (size_t)(list + list_len - p));
		size_t n = (size_t)((comma ? comma : list + list_len) - p);

		if (n == 0 && !comma && u->nsentinels == 0)
			return set_error(err, DLOCK_ECONFIG, "URL '%s' names "
					 "no sentinel; give host[:port] for "
					 "each, separated by commas", url);
		rc = add_host(p, n, SENTINEL_PORT, "sentinel", &u->sentinels,
			      &u->nsentinels, url, err);
		if (rc)
			return rc;
		p += n + 1;
	}
	if (strpbrk(path, "?#"))
		return set_error(err, DLOCK_ECONFIG,
				 "URL '%s' has a query or fragment, which "
				 "dlock does not use; %s", url, URL_FORMS);
	return parse_service(*path ? path + 1 : path, u, url, err);
}

/* redis+sentinel://user:***@h1:p1,h2:p2/SERVICE/DB */
static void sentinel_display(const struct url *u, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s://%s%s%s",
				    u->tls ? "rediss+sentinel" :
				    "redis+sentinel", u->user ? u->user : "",
				    u->password ? ":***" : "",
				    u->user || u->password ? "@" : "");

	for (size_t i = 0; i < u->nsentinels && n < size; i++) {
		bool v6 = strchr(u->sentinels[i].host, ':');

		n += (size_t)snprintf(buf + n, size - n, "%s%s%s%s:%d",
				      i ? "," : "", v6 ? "[" : "",
				      u->sentinels[i].host, v6 ? "]" : "",
				      u->sentinels[i].port);
	}
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n, "/%s", u->service);
	if (n < size && u->db)
		snprintf(buf + n, size - n, "/%ld", u->db);
}

/*
 * etcd://[user@]h1[:p1],h2[:p2],...: the endpoints of one cluster, any
 * of which serves every request. A password here is taken, as in a
 * redis:// URL, but it is better given by --password-file.
 */
static int parse_etcd(const char *rest, struct url *u, const char *url,
		      struct dlock_error *err)
{
	const char *at = strrchr(rest, '@');
	const char *list = at ? at + 1 : rest;
	size_t list_len = strcspn(list, "/?#");
	const char *tail = list + list_len, *p = list;
	int rc;

	u->etcd = true;
	if (at) {
		rc = parse_userinfo(rest, (size_t)(at - rest), u, url, err);
		if (rc)
			return rc;
	}
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(tail - p));
		const char *stop = comma ? comma : tail;

		rc = add_host(p, (size_t)(stop - p), ETCD_PORT, "endpoint",
			      &u->endpoints, &u->nendpoints, url, err);
		if (rc)
			return rc;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (*tail && strcmp(tail, "/") != 0)
		return set_error(err, DLOCK_ECONFIG, "URL '%s': an etcd URL "
				 "takes no path or query, only endpoints; %s",
				 url, URL_FORMS);
	u->host = strdup(u->endpoints[0].host);
	if (!u->host)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	u->port = u->endpoints[0].port;
	return 0;
}

/* etcd://user:***@h1:p1,h2:p2 */
static void etcd_display(const struct url *u, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s://%s%s%s",
				    u->tls ? "etcds" : "etcd",
				    u->user ? u->user : "",
				    u->password ? ":***" : "",
				    u->user || u->password ? "@" : "");

	for (size_t i = 0; i < u->nendpoints && n < size; i++) {
		bool v6 = strchr(u->endpoints[i].host, ':');

		n += (size_t)snprintf(buf + n, size - n, "%s%s%s%s:%d",
				      i ? "," : "", v6 ? "[" : "",
				      u->endpoints[i].host, v6 ? "]" : "",
				      u->endpoints[i].port);
	}
}

static int make_display(struct url *u)
{
	char buf[1024], db[24] = "";
	bool v6 = u->host && strchr(u->host, ':');

	if (u->cluster)
		return cluster_display(u);
	if (u->sentinel) {
		sentinel_display(u, buf, sizeof(buf));
	} else if (u->etcd) {
		etcd_display(u, buf, sizeof(buf));
	} else if (u->kind == URL_UNIX) {
		if (u->db)
			snprintf(db, sizeof(db), "?db=%ld", u->db);
		snprintf(buf, sizeof(buf), "unix://%s%s", u->path, db);
	} else {
		if (u->db)
			snprintf(db, sizeof(db), "/%ld", u->db);
		snprintf(buf, sizeof(buf), "%s://%s%s%s%s%s%s:%d%s",
			 u->tls ? "rediss" : "redis", u->user ? u->user : "",
			 u->password ? ":***" : "",
			 u->user || u->password ? "@" : "", v6 ? "[" : "",
			 u->host, v6 ? "]" : "", u->port, db);
	}
	u->display = strdup(buf);
	return u->display ? 0 : DLOCK_ENOMEM;
}

int url_parse(const char *raw, struct url *u, struct dlock_error *err)
{
	char text[512];
	int rc;

	memset(u, 0, sizeof(*u));
	mask_url(raw, text, sizeof(text));
	if (strncmp(raw, "redis://", 8) == 0) {
		u->kind = URL_TCP;
		rc = parse_tcp(raw + 8, u, text, err);
	} else if (strncmp(raw, "rediss://", 9) == 0) {
		u->kind = URL_TCP;
		u->tls = true;
		rc = parse_tcp(raw + 9, u, text, err);
	} else if (strncmp(raw, "redis+cluster://", 16) == 0) {
		u->kind = URL_TCP;
		rc = parse_cluster(raw + 16, u, text, err);
	} else if (strncmp(raw, "rediss+cluster://", 17) == 0) {
		u->kind = URL_TCP;
		u->tls = true;
		rc = parse_cluster(raw + 17, u, text, err);
	} else if (strncmp(raw, "redis+sentinel://", 17) == 0) {
		u->kind = URL_TCP;
		rc = parse_sentinel(raw + 17, u, text, err);
	} else if (strncmp(raw, "rediss+sentinel://", 18) == 0) {
		u->kind = URL_TCP;
		u->tls = true;
		rc = parse_sentinel(raw + 18, u, text, err);
	} else if (strncmp(raw, "etcd://", 7) == 0) {
		u->kind = URL_TCP;
		rc = parse_etcd(raw + 7, u, text, err);
	} else if (strncmp(raw, "etcds://", 8) == 0) {
		u->kind = URL_TCP;
		u->tls = true;
		rc = parse_etcd(raw + 8, u, text, err);
	} else if (strncmp(raw, "unix://", 7) == 0) {
		u->kind = URL_UNIX;
		rc = parse_unix(raw + 7, u, text, err);
	} else {
		rc = set_error(err, DLOCK_ECONFIG,
			       "unsupported URL '%s'; %s", text, URL_FORMS);
	}
	if (!rc && make_display(u))
		rc = set_error(err, DLOCK_ENOMEM, "out of memory");
	if (rc)
		url_clear(u);
	return rc;
}

void url_clear(struct url *u)
{
	free(u->host);
	free(u->path);
	free(u->user);
	free_secret(u->password);
	free(u->display);
	for (size_t i = 0; i < u->nseeds; i++)
		free(u->seeds[i].host);
	free(u->seeds);
	for (size_t i = 0; i < u->nsentinels; i++)
		free(u->sentinels[i].host);
	free(u->sentinels);
	free(u->service);
	for (size_t i = 0; i < u->nendpoints; i++)
		free(u->endpoints[i].host);
	free(u->endpoints);
	memset(u, 0, sizeof(*u));
}
