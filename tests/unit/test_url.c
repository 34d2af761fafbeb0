/* SPDX-License-Identifier: MIT */
/*
 * url_parse(): the accepted forms with every field they set, the rejected
 * ones with their messages, and that no message shows a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "internal.h"
#include "tap.h"

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)

struct want {
	const char *text;
	enum url_kind kind;
	bool tls;
	const char *host;
	int port;
	const char *path;
	long db;
	const char *user;
	const char *password;
	const char *display;
};

#define TCP(t, h, p, d, u, pw, disp) \
	{ t, URL_TCP, false, h, p, NULL, d, u, pw, disp }
#define TLS(t, h, p, d, u, pw, disp) \
	{ t, URL_TCP, true, h, p, NULL, d, u, pw, disp }
#define UNIX(t, path, d, disp) \
	{ t, URL_UNIX, false, NULL, 0, path, d, NULL, NULL, disp }

static const struct want good[] = {
	TCP("redis://host", "host", 6379, 0, NULL, NULL,
	    "redis://host:6379"),
	TCP("redis://host:6380/2", "host", 6380, 2, NULL, NULL,
	    "redis://host:6380/2"),
	TCP("redis://127.0.0.1:6379/0", "127.0.0.1", 6379, 0, NULL, NULL,
	    "redis://127.0.0.1:6379"),
	TCP("redis://cache-1.example_corp.com", "cache-1.example_corp.com",
	    6379, 0, NULL, NULL, "redis://cache-1.example_corp.com:6379"),
	TCP("redis://LOCALHOST:1", "LOCALHOST", 1, 0, NULL, NULL,
	    "redis://LOCALHOST:1"),
	TCP("redis://h:65535", "h", 65535, 0, NULL, NULL,
	    "redis://h:65535"),
	TCP("redis://h:06380", "h", 6380, 0, NULL, NULL, "redis://h:6380"),
	TCP("redis://h/", "h", 6379, 0, NULL, NULL, "redis://h:6379"),
	TCP("redis://h/15", "h", 6379, 15, NULL, NULL, "redis://h:6379/15"),
	TCP("redis://h/007", "h", 6379, 7, NULL, NULL, "redis://h:6379/7"),
	TCP("redis://h/2147483647", "h", 6379, 2147483647L, NULL, NULL,
	    "redis://h:6379/2147483647"),
	/* defaults */
	TCP("redis://", "127.0.0.1", 6379, 0, NULL, NULL,
	    "redis://127.0.0.1:6379"),
	TCP("redis://:6380", "127.0.0.1", 6380, 0, NULL, NULL,
	    "redis://127.0.0.1:6380"),
	TCP("redis:///3", "127.0.0.1", 6379, 3, NULL, NULL,
	    "redis://127.0.0.1:6379/3"),
	/* user and password, percent-decoded */
	TCP("redis://user:pa%40ss@host", "host", 6379, 0, "user", "pa@ss",
	    "redis://user:***@host:6379"),
	TCP("redis://:pass@host", "host", 6379, 0, NULL, "pass",
	    "redis://:***@host:6379"),
	TCP("redis://user@host", "host", 6379, 0, "user", NULL,
	    "redis://user@host:6379"),
	TCP("redis://user:@host", "host", 6379, 0, "user", "",
	    "redis://user:***@host:6379"),
	TCP("redis://@host", "host", 6379, 0, NULL, NULL,
	    "redis://host:6379"),
	TCP("redis://%75ser:%41%62%4a%6b@host", "host", 6379, 0, "user",
	    "AbJk", "redis://user:***@host:6379"),
	TCP("redis://u:%25%3A%2F%3F%23@h", "h", 6379, 0, "u", "%:/?#",
	    "redis://u:***@h:6379"),
	/* the last '@' ends the user part; the first ':' ends the user */
	TCP("redis://u:p@ss@host", "host", 6379, 0, "u", "p@ss",
	    "redis://u:***@host:6379"),
	TCP("redis://u:a:b@host", "host", 6379, 0, "u", "a:b",
	    "redis://u:***@host:6379"),
	TCP("redis://u:p@ss:w@rd@host:1/3", "host", 1, 3, "u", "p@ss:w@rd",
	    "redis://u:***@host:1/3"),
	TCP("redis://u:p/a?t#h@host", "host", 6379, 0, "u", "p/a?t#h",
	    "redis://u:***@host:6379"),
	TCP("redis://:@:@host", "host", 6379, 0, NULL, "@:",
	    "redis://:***@host:6379"),
	/* IPv6 */
	TCP("redis://[::1]:6379", "::1", 6379, 0, NULL, NULL,
	    "redis://[::1]:6379"),
	TCP("redis://[::1]", "::1", 6379, 0, NULL, NULL,
	    "redis://[::1]:6379"),
	TCP("redis://u:pw@[2001:db8::1]:7000/5", "2001:db8::1", 7000, 5, "u",
	    "pw", "redis://u:***@[2001:db8::1]:7000/5"),
	TCP("redis://[::ffff:192.0.2.1]", "::ffff:192.0.2.1", 6379, 0, NULL,
	    NULL, "redis://[::ffff:192.0.2.1]:6379"),
	/* TLS */
	TLS("rediss://host", "host", 6379, 0, NULL, NULL,
	    "rediss://host:6379"),
	TLS("rediss://default:s3cr%3At@cache.example.com:6380/1",
	    "cache.example.com", 6380, 1, "default", "s3cr:t",
	    "rediss://default:***@cache.example.com:6380/1"),
	TLS("rediss://[::1]:6390", "::1", 6390, 0, NULL, NULL,
	    "rediss://[::1]:6390"),
	/* unix sockets */
	UNIX("unix:///tmp/r.sock", "/tmp/r.sock", 0, "unix:///tmp/r.sock"),
	UNIX("unix:///tmp/r.sock?db=3", "/tmp/r.sock", 3,
	     "unix:///tmp/r.sock?db=3"),
	UNIX("unix:///tmp/r.sock?db=0", "/tmp/r.sock", 0,
	     "unix:///tmp/r.sock"),
	UNIX("unix:///var/run/redis/redis-server.sock",
	     "/var/run/redis/redis-server.sock", 0,
	     "unix:///var/run/redis/redis-server.sock"),
	UNIX("unix:///tmp/my sock", "/tmp/my sock", 0,
	     "unix:///tmp/my sock"),
};

#define UNSUPPORTED "unsupported URL"
#define PORT "invalid port in URL"
#define HOST "invalid host in URL"
#define IPV6 "invalid IPv6 address in URL"
#define QUERY "has a query or fragment"
#define DB "invalid database number in URL"
#define ABSOLUTE "needs an absolute socket path"
#define PARAM "the only parameter of a unix:// URL is ?db=N"
#define ESCAPE "invalid %-escape in the user or password"

static const struct {
	const char *text;
	const char *why;
	const char *shown;	/* how the message quotes the URL */
} bad[] = {
	{ "http://host", UNSUPPORTED, NULL },
	{ "https://host", UNSUPPORTED, NULL },
	{ "tcp://host:6379", UNSUPPORTED, NULL },
	{ "redis+tls://host", UNSUPPORTED, NULL },
	{ "", UNSUPPORTED, NULL },
	{ "host", UNSUPPORTED, NULL },
	{ "host:6379", UNSUPPORTED, NULL },
	{ "//host", UNSUPPORTED, NULL },
	{ "redis:/host", UNSUPPORTED, NULL },
	{ "redis:host", UNSUPPORTED, NULL },
	{ "unix:/tmp/r.sock", UNSUPPORTED, NULL },
	{ " redis://host", UNSUPPORTED, NULL },
	/* ports */
	{ "redis://host:0", PORT, NULL },
	{ "redis://host:00000", PORT, NULL },
	{ "redis://host:65536", PORT, NULL },
	{ "redis://host:99999", PORT, NULL },
	{ "redis://host:1234567", PORT, NULL },
	{ "redis://host:12345678", PORT, NULL },
	{ "redis://host:abc", PORT, NULL },
	{ "redis://host:", PORT, NULL },
	{ "redis://host:-1", PORT, NULL },
	{ "redis://host:+1", PORT, NULL },
	{ "redis://host: 1", PORT, NULL },
	{ "redis://host:63:79", PORT, NULL },
	{ "redis://host:6379:6380", PORT, NULL },
	{ "redis://[::1]:0", PORT, NULL },
	{ "redis://[::1]:", PORT, NULL },
	{ "redis://::1", PORT, NULL },
	/* hosts */
	{ "redis://ho st", HOST, NULL },
	{ "redis://ho$t", HOST, NULL },
	{ "redis://ho%74", HOST, NULL },
	{ "redis://h\xc3\xa9", HOST, NULL },
	{ "redis://[::1]6379", HOST, NULL },
	{ "redis://[::1]x", HOST, NULL },
	{ "redis://[::g]", HOST, NULL },
	{ "redis://[host]", HOST, NULL },
	{ "redis://a..b", HOST, NULL },
	{ "redis://.host", HOST, NULL },
	{ "redis://host..", HOST, NULL },
	{ "redis://-host", HOST, NULL },
	{ "redis://host-:6379", HOST, NULL },
	{ "redis://a.-b.c", HOST, NULL },
	{ "redis://"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "a label of 64 bytes", NULL },
	{ "redis://[::1", IPV6, NULL },
	{ "redis://[]", IPV6, NULL },
	{ "redis://[", IPV6, NULL },
	/* databases, queries, fragments */
	{ "redis://host/x", DB, NULL },
	{ "redis://host/-1", DB, NULL },
	{ "redis://host/1/2", DB, NULL },
	{ "redis://host//1", DB, NULL },
	{ "redis://host/ 1", DB, NULL },
	{ "redis://host/2147483648", DB, NULL },
	{ "redis://host/99999999999999999999", DB, NULL },
	{ "redis://host?db=1", QUERY, NULL },
	{ "redis://host?", QUERY, NULL },
	{ "redis://host#x", QUERY, NULL },
	{ "redis://host:6379?x", QUERY, NULL },
	/* unix sockets */
	{ "unix://relative", ABSOLUTE, NULL },
	{ "unix://r.sock", ABSOLUTE, NULL },
	{ "unix://localhost/tmp/r.sock", ABSOLUTE, NULL },
	{ "unix://", ABSOLUTE, NULL },
	{ "unix://?db=1", ABSOLUTE, NULL },
	{ "unix:///tmp/r.sock?db=", DB, NULL },
	{ "unix:///tmp/r.sock?db=x", DB, NULL },
	{ "unix:///tmp/r.sock?db=-1", DB, NULL },
	{ "unix:///tmp/r.sock?db=3&x=1", DB, NULL },
	{ "unix:///tmp/r.sock?db=2147483648", DB, NULL },
	{ "unix:///tmp/r.sock?", PARAM, NULL },
	{ "unix:///tmp/r.sock?foo=1", PARAM, NULL },
	{ "unix:///tmp/r.sock?DB=1", PARAM, NULL },
};

/* Broken %-escapes, in the password and in the user. */
static const struct {
	const char *text;
	const char *shown;
} bad_escapes[] = {
	{ "redis://u:p%zz@h", "redis://u:***@h" },
	{ "redis://u:p%4@h", "redis://u:***@h" },
	{ "redis://u:p%@h", "redis://u:***@h" },
	{ "redis://u:%g1@h", "redis://u:***@h" },
	{ "redis://u:p%00@h", "redis://u:***@h" },
	{ "redis://u:%00x@h", "redis://u:***@h" },
	{ "redis://u:hunter2%zz@host", "redis://u:***@host" },
	{ "redis://u:hunter2%00@host", "redis://u:***@host" },
	{ "redis://u%00:p@h", "redis://u%00:***@h" },
	{ "redis://%0@h", "redis://%0@h" },
	{ "redis://%@h", "redis://%@h" },
	{ "redis://us%zzer@h", "redis://us%zzer@h" },
};

static void test_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const struct want *w = &good[i];
		struct dlock_error err = { 0, "" };
		struct url u;
		int rc = url_parse(w->text, &u, &err);

		if (!is_int(rc, 0, "'%s' is accepted", w->text)) {
			diag("message: %s", err.msg);
			continue;
		}
		ok(u.kind == w->kind && u.tls == w->tls,
		   "'%s': %s%s", w->text,
		   w->kind == URL_TCP ? "tcp" : "unix", w->tls ? ", tls" : "");
		is_str(u.host, w->host, "'%s': host", w->text);
		is_int(u.port, w->port, "'%s': port", w->text);
		is_str(u.path, w->path, "'%s': path", w->text);
		is_int(u.db, w->db, "'%s': db", w->text);
		is_str(u.user, w->user, "'%s': user", w->text);
		is_str(u.password, w->password, "'%s': password", w->text);
		is_str(u.display, w->display, "'%s': display", w->text);
		if (w->password && *w->password)
			ok(!strstr(u.display, w->password),
			   "'%s': display hides the password", w->text);
		url_clear(&u);
		ok(!u.host && !u.path && !u.user && !u.password &&
		   !u.display && u.db == 0,
		   "'%s': url_clear() empties the struct", w->text);
		url_clear(&u);
	}
}

static void check_bad(const char *text, const char *why, const char *shown)
{
	struct dlock_error err = { 0, "" };
	char quoted[1024];
	struct url u;
	int rc = url_parse(text, &u, &err);
	bool good_msg;

	is_int(rc, DLOCK_ECONFIG, "'%s' is rejected", text);
	is_int(err.code, DLOCK_ECONFIG, "'%s': err.code is set", text);
	good_msg = ok(strstr(err.msg, why), "'%s': message has '%s'", text,
		      why);
	snprintf(quoted, sizeof(quoted), "'%s'", shown ? shown : text);
	if (!ok(strstr(err.msg, quoted), "'%s': message quotes %s", text,
		quoted) || !good_msg)
		diag("message: %s", err.msg);
	ok(!u.host && !u.path && !u.user && !u.password && !u.display,
	   "'%s': nothing is left allocated", text);
	url_clear(&u);
}

static void test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		check_bad(bad[i].text, bad[i].why, bad[i].shown);
}

static void test_messages(void)
{
	struct dlock_error err = { 0, "" };
	struct url u;

	url_parse("redis://u:hunter2@host:0", &u, &err);
	is_str(err.msg, "invalid port in URL 'redis://u:***@host:0': use a "
	       "number from 1 to 65535", "a bad port: the whole message");
	url_parse("ftp://h", &u, &err);
	is_str(err.msg, "unsupported URL 'ftp://h'; use "
	       "redis://[user[:password]@]host[:port][/db], rediss://..., "
	       "unix:///path[?db=N], "
	       "redis+cluster://host[:port],host[:port]..., "
	       "redis+sentinel://[user[:password]@]host[:port],.../SERVICE[/db] "
	       "or etcd://[user@]host[:port],host[:port]... (etcds:// for TLS)",
	       "a bad scheme: the whole message");
	url_parse("redis://h/x", &u, &err);
	is_str(err.msg, "invalid database number in URL 'redis://h/x': "
	       "invalid number 'x': use digits only",
	       "a bad database: the whole message");
	is_int(url_parse("http://h", &u, NULL), DLOCK_ECONFIG,
	       "a NULL err is allowed");
}

/* The longest path sun_path holds with its NUL, and one byte more. */
static void test_socket_path(void)
{
	char text[SUN_PATH_SIZE + 32], path[SUN_PATH_SIZE + 1], want[64];
	struct dlock_error err = { 0, "" };
	struct url u;

	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[SUN_PATH_SIZE - 1] = '\0';
	snprintf(text, sizeof(text), "unix://%s?db=1", path);
	if (is_int(url_parse(text, &u, &err), 0,
		   "a socket path of %zu bytes is accepted", strlen(path))) {
		is_str(u.path, path, "the long path is kept whole");
		is_int(u.db, 1, "with its db");
		url_clear(&u);
	} else {
		diag("message: %s", err.msg);
	}
	path[SUN_PATH_SIZE - 1] = 'p';
	path[SUN_PATH_SIZE] = '\0';
	snprintf(text, sizeof(text), "unix://%s", path);
	snprintf(want, sizeof(want), "is longer than %zu bytes",
		 SUN_PATH_SIZE - 1);
	check_bad(text, want, NULL);
}

/* Rejected URLs that carry the password "hunter2". */
static const char *const secret_bad[] = {
	"redis://u:hunter2@host:0",
	"redis://u:hunter2@host:65536",
	"redis://u:hunter2@host:abc",
	"redis://:hunter2@host/x",
	"redis://u:hunter2@host?x",
	"redis://u:hunter2@host#frag",
	"redis://u:hunter2@ho st",
	"redis://u:hunter2@[::1",
	"redis://u:hunter2@[::g]",
	"redis://u:hun@ter2@host:0",
	"redis://u:hun:ter2@host:0",
	"redis://u:hun/ter2@host:0",
	"redis://u:hunter2@host:1/2/3",
	"rediss://u:hunter2@host:0",
	"http://u:hunter2@host",
	"ftp://:hunter2@host",
	"unix://u:hunter2@/tmp/r.sock",
	"unix://:hunter2@tmp/r.sock",
	/* a mistyped scheme: the password is still a password */
	"redis:/u:hunter2@host",
	"redis:u:hunter2@host",
	"redis//u:hunter2@host",
	"u:hunter2@host",
};

static void test_no_password_in_messages(void)
{
	char text[2048];
	struct dlock_error err;
	struct url u;

	for (size_t i = 0; i < ARRAY_SIZE(secret_bad); i++) {
		memset(&err, 0, sizeof(err));
		is_int(url_parse(secret_bad[i], &u, &err), DLOCK_ECONFIG,
		       "'%s' is rejected", secret_bad[i]);
		if (!ok(!strstr(err.msg, "hunter") && !strstr(err.msg, "ter2"),
			"'%s': the message hides the password", secret_bad[i]))
			diag("message: %s", err.msg);
	}

	/* a long user pushes the URL past the 512 bytes of the message */
	memcpy(text, "redis://", 8);
	memset(text + 8, 'u', 600);
	snprintf(text + 608, sizeof(text) - 608, ":hunter2@host:0");
	memset(&err, 0, sizeof(err));
	is_int(url_parse(text, &u, &err),
	       DLOCK_ECONFIG, "a 600-byte user with a bad port is rejected");
	ok(!strstr(err.msg, "hunter"), "a long URL: the message hides the "
	   "password");

	/* and a long host after it */
	snprintf(text, sizeof(text), "redis://u:hunter2@");
	memset(text + 18, 'h', 1000);
	snprintf(text + 1018, sizeof(text) - 1018, ":0");
	memset(&err, 0, sizeof(err));
	is_int(url_parse(text, &u, &err), DLOCK_ECONFIG,
	       "a 1000-byte host with a bad port is rejected");
	ok(!strstr(err.msg, "hunter"), "a long host: the message hides the "
	   "password");
}

/*
 * Last: a broken escape makes the decoder fail half-way, and a sanitizer
 * that stops the program there should not take the other checks with it.
 */
static void test_bad_escapes(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_escapes); i++) {
		struct dlock_error err = { 0, "" };
		struct url u;

		check_bad(bad_escapes[i].text, ESCAPE, bad_escapes[i].shown);
		url_parse(bad_escapes[i].text, &u, &err);
		ok(!strstr(err.msg, "hunter"), "'%s': the message hides the "
		   "password", bad_escapes[i].text);
	}
}

/* "redis://" and labels of the given sizes, joined by dots. */
static void dns_url(char *buf, const size_t *labels, size_t n,
		    const char *tail)
{
	char *p = buf + sprintf(buf, "redis://");

	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = '.';
		memset(p, 'a' + (int)i, labels[i]);
		p += labels[i];
	}
	strcpy(p, tail);
}

static void test_host_lengths(void)
{
	static const size_t longest[] = { 63, 63, 63, 61 };
	static const size_t too_long[] = { 63, 63, 63, 62 };
	char text[400];
	struct url u;

	dns_url(text, longest, 4, ":6379");
	is_int(url_parse(text, &u, NULL), 0, "a 253-byte host name is taken");
	is_int((int)strlen(u.host), 253, "... whole");
	url_clear(&u);
	dns_url(text, longest, 4, ".:6379");
	is_int(url_parse(text, &u, NULL), 0,
	       "... and so is it with a final dot");
	url_clear(&u);
	dns_url(text, too_long, 4, "");
	check_bad(text, "the name is 254 bytes long", NULL);
	dns_url(text, (const size_t[]){ 63 }, 1, "");
	is_int(url_parse(text, &u, NULL), 0, "a 63-byte label is taken");
	url_clear(&u);
}

/* redis+cluster://: every seed, the first as host and port. */
static const struct {
	const char *text;
	bool tls;
	size_t nseeds;
	const char *hosts[3];
	int ports[3];
	const char *user, *password, *display;
} cluster_good[] = {
	{ "redis+cluster://a:7000,b:7001,[::1]:7002", false, 3,
	  { "a", "b", "::1" }, { 7000, 7001, 7002 }, NULL, NULL,
	  "redis+cluster://a:7000,b:7001,[::1]:7002" },
	{ "redis+cluster://h", false, 1, { "h" }, { 6379 }, NULL, NULL,
	  "redis+cluster://h:6379" },
	{ "redis+cluster://u:hunter2@h1,h2:1/", false, 2, { "h1", "h2" },
	  { 6379, 1 }, "u", "hunter2", "redis+cluster://u:***@h1:6379,h2:1" },
	{ "rediss+cluster://:p@h:6380/0", true, 1, { "h" }, { 6380 }, NULL,
	  "p", "rediss+cluster://:***@h:6380" },
};

static const struct {
	const char *text;
	const char *why;
} cluster_bad[] = {
	{ "redis+cluster://a,,b", "empty node" },
	{ "redis+cluster://a,", "empty node" },
	{ "redis+cluster://", "empty node" },
	{ "redis+cluster://a:0,b", "invalid port" },
	{ "redis+cluster://a,b c", "invalid host" },
	{ "redis+cluster://a,b/2", "database 0 only" },
	{ "redis+cluster://a?x=1", "takes no database or query" },
};

static void test_cluster(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cluster_good); i++) {
		const char *text = cluster_good[i].text;
		struct dlock_error err = { 0, "" };
		struct url u;
		bool seeds_ok;

		if (!is_int(url_parse(text, &u, &err), 0, "'%s' is accepted",
			    text)) {
			diag("message: %s", err.msg);
			continue;
		}
		ok(u.cluster && u.kind == URL_TCP && u.tls ==
		   cluster_good[i].tls, "'%s': a cluster URL", text);
		is_int(u.nseeds, cluster_good[i].nseeds, "'%s': seeds", text);
		seeds_ok = u.nseeds == cluster_good[i].nseeds;
		for (size_t j = 0; seeds_ok && j < u.nseeds; j++)
			seeds_ok = strcmp(u.seeds[j].host,
					  cluster_good[i].hosts[j]) == 0 &&
				   u.seeds[j].port == cluster_good[i].ports[j];
		ok(seeds_ok, "'%s': every seed's host and port", text);
		is_str(u.host, cluster_good[i].hosts[0], "'%s': host", text);
		is_int(u.port, cluster_good[i].ports[0], "'%s': port", text);
		is_str(u.user, cluster_good[i].user, "'%s': user", text);
		is_str(u.password, cluster_good[i].password, "'%s': password",
		       text);
		is_str(u.display, cluster_good[i].display, "'%s': display",
		       text);
		url_clear(&u);
		ok(!u.seeds && !u.nseeds && !u.cluster,
		   "'%s': url_clear() empties the seeds", text);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cluster_bad); i++)
		check_bad(cluster_bad[i].text, cluster_bad[i].why, NULL);
	check_bad("redis://a,b", "invalid host", NULL);
}

struct want_sentinel {
	const char *text;
	bool tls;
	const char *hosts;	/* "h:p,h:p" */
	const char *service;
	long db;
	const char *user;
	const char *password;
	const char *display;
};

static const struct want_sentinel good_sentinel[] = {
	{ "redis+sentinel://s1/svc", false, "s1:26379", "svc", 0, NULL, NULL,
	  "redis+sentinel://s1:26379/svc" },
	{ "redis+sentinel://s1:1,s2,[::1]:3/my-master/4", false,
	  "s1:1,s2:26379,::1:3", "my-master", 4, NULL, NULL,
	  "redis+sentinel://s1:1,s2:26379,[::1]:3/my-master/4" },
	{ "rediss+sentinel://u:p%40w@a,b:26380/m/", true,
	  "a:26379,b:26380", "m", 0, "u", "p@w",
	  "rediss+sentinel://u:***@a:26379,b:26380/m" },
	{ "redis+sentinel://:26380/svc", false, "127.0.0.1:26380", "svc", 0,
	  NULL, NULL, "redis+sentinel://127.0.0.1:26380/svc" },
};

static void hosts_text(const struct url *u, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < u->nsentinels && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s:%d",
				      i ? "," : "", u->sentinels[i].host,
				      u->sentinels[i].port);
}

static void test_sentinel(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_sentinel); i++) {
		const struct want_sentinel *w = &good_sentinel[i];
		struct dlock_error err = { 0, "" };
		char hosts[256];
		struct url u;

		if (!is_int(url_parse(w->text, &u, &err), 0,
			    "'%s' is accepted", w->text)) {
			diag("message: %s", err.msg);
			continue;
		}
		ok(u.sentinel && u.tls == w->tls && u.kind == URL_TCP,
		   "'%s': sentinel%s", w->text, w->tls ? ", tls" : "");
		hosts_text(&u, hosts, sizeof(hosts));
		is_str(hosts, w->hosts, "'%s': sentinels", w->text);
		is_str(u.service, w->service, "'%s': service", w->text);
		is_int(u.db, w->db, "'%s': db", w->text);
		is_str(u.user, w->user, "'%s': user", w->text);
		is_str(u.password, w->password, "'%s': password", w->text);
		is_str(u.display, w->display, "'%s': display", w->text);
		url_clear(&u);
		ok(!u.sentinels && !u.service && !u.nsentinels,
		   "'%s': url_clear() empties the struct", w->text);
	}
	check_bad("redis+sentinel://s1,s2", "names no master", NULL);
	check_bad("redis+sentinel://s1/", "names no master", NULL);
	check_bad("redis+sentinel:///svc", "names no sentinel", NULL);
	check_bad("redis+sentinel://s1,,s2/svc", "empty sentinel", NULL);
	check_bad("redis+sentinel://s1,/svc", "empty sentinel", NULL);
	check_bad("redis+sentinel://s1:0/svc", "invalid port", NULL);
	check_bad("redis+sentinel://s1:99999/svc", "invalid port", NULL);
	check_bad("redis+sentinel://s!1/svc", "invalid host", NULL);
	check_bad("redis+sentinel://s1/sv c", "invalid master name", NULL);
	check_bad("redis+sentinel://s1/svc/x", "invalid database", NULL);
	check_bad("redis+sentinel://s1/svc?x=1", "query", NULL);
	check_bad("redis+sentinel://u:secret@s1:0/svc", "invalid port",
		  "redis+sentinel://u:***@s1:0/svc");
}

/* etcd://: the endpoints of one cluster, 2379 unless given. */
static const struct {
	const char *text;
	bool tls;
	const char *hosts;	/* "h:p,h:p" */
	const char *user, *password, *display;
} etcd_good[] = {
	{ "etcd://e1", false, "e1:2379", NULL, NULL, "etcd://e1:2379" },
	{ "etcd://e1:1,e2,[::1]:3/", false, "e1:1,e2:2379,::1:3", NULL,
	  NULL, "etcd://e1:1,e2:2379,[::1]:3" },
	{ "etcds://root@a:2379,b", true, "a:2379,b:2379", "root", NULL,
	  "etcds://root@a:2379,b:2379" },
	{ "etcd://u:p%40w@h", false, "h:2379", "u", "p@w",
	  "etcd://u:***@h:2379" },
};

static void endpoints_text(const struct url *u, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < u->nendpoints && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s:%d",
				      i ? "," : "", u->endpoints[i].host,
				      u->endpoints[i].port);
}

static void test_etcd(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(etcd_good); i++) {
		const char *text = etcd_good[i].text;
		struct dlock_error err = { 0, "" };
		char hosts[256];
		struct url u;

		if (!is_int(url_parse(text, &u, &err), 0, "'%s' is accepted",
			    text)) {
			diag("message: %s", err.msg);
			continue;
		}
		ok(u.etcd && !u.sentinel && !u.cluster && u.kind == URL_TCP &&
		   u.tls == etcd_good[i].tls, "'%s': an etcd URL%s", text,
		   etcd_good[i].tls ? ", tls" : "");
		endpoints_text(&u, hosts, sizeof(hosts));
		is_str(hosts, etcd_good[i].hosts, "'%s': endpoints", text);
		ok(u.host && u.port == u.endpoints[0].port &&
		   strcmp(u.host, u.endpoints[0].host) == 0,
		   "'%s': host and port are the first endpoint's", text);
		is_str(u.user, etcd_good[i].user, "'%s': user", text);
		is_str(u.password, etcd_good[i].password, "'%s': password",
		       text);
		is_str(u.display, etcd_good[i].display, "'%s': display", text);
		url_clear(&u);
		ok(!u.endpoints && !u.nendpoints && !u.etcd,
		   "'%s': url_clear() empties the endpoints", text);
	}
	check_bad("etcd://", "empty endpoint", NULL);
	check_bad("etcd://a,,b", "empty endpoint", NULL);
	check_bad("etcd://a,", "empty endpoint", NULL);
	check_bad("etcd://a:0", "invalid port", NULL);
	check_bad("etcd://a:70000,b", "invalid port", NULL);
	check_bad("etcd://a b", "invalid host", NULL);
	check_bad("etcd://a/locks", "takes no path or query", NULL);
	check_bad("etcd://a?x=1", "takes no path or query", NULL);
	check_bad("etcds://u:secret@a:0", "invalid port",
		  "etcds://u:***@a:0");
}

int main(void)
{
	test_good();
	test_bad();
	test_messages();
	test_socket_path();
	test_no_password_in_messages();
	test_bad_escapes();
	test_host_lengths();
	test_cluster();
	test_sentinel();
	test_etcd();
	return done_testing();
}
