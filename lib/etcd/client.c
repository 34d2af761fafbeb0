/* SPDX-License-Identifier: MIT */
/*
 * The endpoints of one etcd cluster behind one call: a kept-alive
 * connection to the endpoint that answered last, authentication with a
 * token, and fail-over round the list until the caller's deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/client.h"
#include "etcd/http.h"
#include "etcd/wire.h"

struct etcd_client {
	struct url *endpoints;	/* copies: host, port, tls, display */
	size_t n;
	char *user, *password;
	struct tls_settings tls;	/* all NULL: the defaults */
	size_t current;		/* where conn goes, and where to start */
	struct http_conn *conn;
	char *token;
	int last_code;
	char last_msg[256];	/* etcd's own words with last_code */
	bool reached;		/* any endpoint, ever */
};

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static int copy_endpoint(struct url *to, const struct url *from)
{
	char display[320];
	bool v6 = strchr(from->host, ':') != NULL;

	to->kind = URL_TCP;
	to->tls = from->tls;
	to->port = from->port;
	to->host = strdup(from->host);
	snprintf(display, sizeof(display), "%s://%s%s%s:%d",
		 from->tls ? "etcds" : "etcd", v6 ? "[" : "", from->host,
		 v6 ? "]" : "", from->port);
	to->display = strdup(display);
	return to->host && to->display ? 0 : DLOCK_ENOMEM;
}

int etcd_client_new(const struct etcd_client_settings *s,
		    struct etcd_client **out, struct dlock_error *err)
{
	struct etcd_client *c;
	bool failed = false;

	if (!s->nendpoints)
		return set_error(err, DLOCK_ECONFIG, "no etcd endpoint given");
	for (size_t i = 0; i < s->nendpoints; i++)
		if (s->endpoints[i].kind != URL_TCP || !s->endpoints[i].host)
			return set_error(err, DLOCK_ECONFIG, "an etcd endpoint "
					 "is host:port, not a socket path");
	c = calloc(1, sizeof(*c));
	if (!c)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	c->endpoints = calloc(s->nendpoints, sizeof(*c->endpoints));
	if (!c->endpoints)
		failed = true;
	else
		c->n = s->nendpoints;
	for (size_t i = 0; i < c->n && !failed; i++)
		failed = copy_endpoint(&c->endpoints[i], &s->endpoints[i]) != 0;
	c->user = dup_or_null(s->user, &failed);
	/* An empty password is one too: etcd decides. */
	c->password = dup_or_null(s->user && !s->password ? "" : s->password,
				  &failed);
	if (s->tls) {
		c->tls.ca = dup_or_null(s->tls->ca, &failed);
		c->tls.cert = dup_or_null(s->tls->cert, &failed);
		c->tls.key = dup_or_null(s->tls->key, &failed);
		c->tls.server_name = dup_or_null(s->tls->server_name, &failed);
	}
	if (failed) {
		etcd_client_free(c);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

void etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	http_close(c->conn);
	for (size_t i = 0; i < c->n; i++)
		url_clear(&c->endpoints[i]);
	free(c->endpoints);
	free(c->user);
	free_secret(c->password);
	free_secret(c->token);
	free((char *)c->tls.ca);
	free((char *)c->tls.cert);
	free((char *)c->tls.key);
	free((char *)c->tls.server_name);
	free(c);
}

bool etcd_client_reached(const struct etcd_client *c)
{
	return c->reached;
}

int etcd_last_code(const struct etcd_client *c)
{
	return c->last_code;
}

const char *etcd_endpoint_name(const struct etcd_client *c)
{
	/* The display without its scheme: "h1:2379". */
	return strstr(c->endpoints[c->current].display, "://") + 3;
}

void etcd_client_forget_token(struct etcd_client *c)
{
	free_secret(c->token);
	c->token = NULL;
}

static const char *name_of(const struct etcd_client *c)
{
	return etcd_endpoint_name(c);
}

/* Text from the server, fit for a message: one line, not too long. */
static void clean_text(char *dst, size_t size, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < size && j < 200; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[j++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	dst[j] = '\0';
}

/* The gRPC API behind the gateway; /version and /health are plain HTTP. */
static bool v3_api(const char *path)
{
	return strncmp(path, "/v3/", 4) == 0;
}

/*
 * One request and its whole answer on the connection to c->current,
 * opened if need be. A kept-alive connection that the server closed
 * while idle fails before any byte of the answer: then once more on a
 * new one.
 */
static int exchange(struct etcd_client *c, const char *method,
		    const char *path, const char *token, const char *body,
		    int64_t deadline, int cancel_fd, struct http_response *r,
		    struct dlock_error *err)
{
	for (int attempt = 0;; attempt++) {
		bool reused, got = false;
		int rc = 0;

		if (c->conn && http_stale(c->conn)) {
			http_close(c->conn);
			c->conn = NULL;
		}
		reused = c->conn != NULL;
		if (!c->conn)
			rc = http_open(&c->endpoints[c->current], &c->tls,
				       deadline, cancel_fd, &c->conn, err);
		if (rc)
			return rc;
		http_response_free(r);
		http_response_init(r, strcmp(method, "HEAD") == 0);
		rc = http_send(c->conn, method, path, token, v3_api(path),
			       body, deadline, cancel_fd, err);
		if (!rc)
			rc = http_read(c->conn, r, false, deadline, cancel_fd,
				       &got, err);
		if (!rc) {
			c->reached = true;
			if (http_stale(c->conn)) {
				http_close(c->conn);
				c->conn = NULL;
			}
			return 0;
		}
		http_close(c->conn);
		c->conn = NULL;
		/* A silent server is no stale connection: on to the next. */
		if (rc == DLOCK_ETIMEDOUT) {
			c->reached = true;
			return set_error(err, DLOCK_ECONN, "%s did not answer "
					 "%s in time", name_of(c), path);
		}
		if (rc == DLOCK_ECONN && reused && !got && attempt == 0)
			continue;
		return rc;
	}
}

/*
 * A stream on a connection of its own, read until its first object has
 * come whole (or the body has ended).
 */
static int stream_exchange(struct etcd_client *c, const char *path,
			   const char *token, const char *body,
			   int64_t deadline, int cancel_fd,
			   struct http_conn **out, struct http_response *r,
			   struct dlock_error *err)
{
	struct http_conn *conn = NULL;
	bool got = false;
	int rc;

	rc = http_open(&c->endpoints[c->current], &c->tls, deadline,
		       cancel_fd, &conn, err);
	if (rc)
		return rc;
	http_response_free(r);
	http_response_init(r, false);
	rc = http_send(conn, "POST", path, token, true, body, deadline,
		       cancel_fd, err);
	while (!rc && r->state != HTTP_DONE &&
	       !json_scan_value(r->body ? r->body : "", r->body_len))
		rc = http_read(conn, r, true, deadline, cancel_fd, &got, err);
	if (rc) {
		http_close(conn);
		if (rc == DLOCK_ETIMEDOUT) {
			c->reached = true;
			rc = set_error(err, DLOCK_ECONN, "%s did not answer "
				       "%s in time", name_of(c), path);
		}
		return rc;
	}
	c->reached = true;
	*out = conn;
	return 0;
}

/* What one answer means, for the fail-over loop. */
enum verdict {
	V_DONE,		/* rc says it all: success or a final failure */
	V_NEXT,		/* this endpoint cannot serve: try another */
	V_REAUTH,	/* the token has expired */
};

/* {"error":"...","code":N,"message":"..."} or a stream's {"error":{...}} */
static void grpc_error(const struct json *e, int *code, char *msg,
		       size_t size)
{
	const struct json *m = json_get(e, "message");
	const char *text;
	size_t len = 0;
	int64_t n = -1;

	if (!json_int64(json_get(e, "code"), &n))
		json_int64(json_get(e, "grpc_code"), &n);
	*code = n >= 0 && n < 100 ? (int)n : -1;
	text = json_string(m, &len);
	if (!text)
		text = json_string(json_get(e, "error"), &len);
	if (!text) {
		text = "(no message)";
		len = strlen(text);
	}
	clean_text(msg, size, text, len);
}

static enum verdict refused(struct etcd_client *c, const char *path,
			    int code, const char *msg, int *rc,
			    struct dlock_error *err)
{
	c->last_code = code;
	snprintf(c->last_msg, sizeof(c->last_msg), "%s", msg);
	switch (code) {
	case GRPC_UNAVAILABLE:
	case GRPC_DEADLINE_EXCEEDED:
		*rc = set_error(err, DLOCK_ECONN, "%s cannot serve requests: "
				"%s", name_of(c), msg);
		return V_NEXT;
	case GRPC_UNAUTHENTICATED:
		*rc = set_error(err, DLOCK_EAUTH, "%s refused the auth token: "
				"%s%s", name_of(c), msg, c->user ? "" :
				"; give --user and a password");
		return c->user ? V_REAUTH : V_DONE;
	case GRPC_PERMISSION_DENIED:
		*rc = set_error(err, DLOCK_EAUTH, "%s: user '%s' may not use "
				"%s: %s; grant its role that key range "
				"(etcdctl role grant-permission)", name_of(c),
				c->user ? c->user : "(none)", path, msg);
		return V_DONE;
	default:
		break;
	}
	/* A member without quorum lets the gateway's own context run out. */
	if (code == GRPC_UNKNOWN && strstr(msg, "deadline exceeded")) {
		*rc = set_error(err, DLOCK_ECONN, "%s cannot serve requests: "
				"%s", name_of(c), msg);
		return V_NEXT;
	}
	/* etcd's words for a request without a token when auth is on. */
	if (strstr(msg, "user name is empty")) {
		*rc = set_error(err, DLOCK_EAUTH, "%s requires authentication: "
				"give --user and a password (DLOCK_PASSWORD or "
				"--password-file)", name_of(c));
		return V_DONE;
	}
	*rc = set_error(err, DLOCK_ESERVER, "%s refused %s: %s", name_of(c),
			path, msg);
	return V_DONE;
}

static enum verdict not_json(struct etcd_client *c, const char *method,
			     const char *path, const struct http_response *r,
			     int *rc, struct dlock_error *err)
{
	char text[256];

	clean_text(text, sizeof(text), r->body ? r->body : "", r->body_len);
	/* Go's TLS server answers a plain request with this, and closes. */
	if (r->status == 400 && strstr(text, "HTTPS server")) {
		*rc = set_error(err, DLOCK_ECONFIG, "%s speaks TLS: use "
				"etcds:// (with --tls-ca for its CA)",
				name_of(c));
		return V_DONE;
	}
	if (r->status == 404) {
		*rc = set_error(err, DLOCK_ESERVER, "%s answered 404 to %s %s; "
				"is it the client URL of etcd 3.4 or later?",
				name_of(c), method, path);
		return V_DONE;
	}
	/* A proxy in front of a member that is down. */
	if (r->status >= 500) {
		*rc = set_error(err, DLOCK_ECONN, "%s answered %d: %s",
				name_of(c), r->status, text);
		return V_NEXT;
	}
	*rc = set_error(err, DLOCK_ESERVER, "%s answered %d to %s with no "
			"JSON (%s); is it an etcd client URL?", name_of(c),
			r->status, path, text);
	return V_DONE;
}

/*
 * Makes sense of one answer. A stream's first object is
 * {"result":{...}} or {"error":{...}}; a unary call's body is the
 * result itself, or with an error status {"code":N,"message":...}.
 */
static enum verdict interpret(struct etcd_client *c, const char *method,
			      const char *path, struct http_response *r,
			      struct json **reply, int *rc,
			      struct dlock_error *err)
{
	char msg[256];
	ssize_t n = json_scan_value(r->body ? r->body : "", r->body_len);
	struct json *v;
	const struct json *e;
	bool stream;
	int code;

	if (n <= 0)
		return not_json(c, method, path, r, rc, err);
	v = json_parse(r->body, (size_t)n, err);
	if (!v) {
		char why[DLOCK_ERRMSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		*rc = set_error(err, err->code, "%s answered %s with %s",
				name_of(c), path, why);
		return V_DONE;
	}
	stream = json_get(v, "result") ||
		 json_type(json_get(v, "error")) == JSON_OBJECT;
	if (!stream) {
		for (size_t i = (size_t)n; i < r->body_len; i++)
			if (!strchr(" \t\r\n", r->body[i])) {
				json_free(v);
				*rc = set_error(err, DLOCK_ESERVER, "%s "
						"answered %s with text after "
						"its JSON", name_of(c), path);
				return V_DONE;
			}
	}
	e = json_get(v, "error");
	if (json_type(e) == JSON_OBJECT || (r->status != 200 &&
					   json_get(v, "code"))) {
		grpc_error(json_type(e) == JSON_OBJECT ? e : v, &code, msg,
			   sizeof(msg));
		json_free(v);
		return refused(c, path, code, msg, rc, err);
	}
	if (stream) {
		struct json *result = json_take(v, "result");

		json_free(v);
		v = result;
	}
	c->last_code = 0;
	*reply = v;
	*rc = 0;
	return V_DONE;
}

static int authenticate(struct etcd_client *c, int64_t deadline,
			int cancel_fd, enum verdict *verdict,
			struct dlock_error *err)
{
	struct http_response r = { 0 };
	struct json *reply = NULL;
	struct jbuf b;
	const char *token;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{\"name\":");
	jbuf_string(&b, c->user, strlen(c->user));
	jbuf_raw(&b, ",\"password\":");
	jbuf_string(&b, c->password, strlen(c->password));
	jbuf_raw(&b, "}");
	if (b.failed) {
		jbuf_free(&b);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	*verdict = V_DONE;
	rc = exchange(c, "POST", "/v3/auth/authenticate", NULL, b.data,
		      deadline, cancel_fd, &r, err);
	jbuf_free(&b);
	if (rc) {
		if (rc == DLOCK_ECONN)
			*verdict = V_NEXT;
		goto out;
	}
	*verdict = interpret(c, "POST", "/v3/auth/authenticate", &r, &reply,
			     &rc, err);
	if (rc == DLOCK_ESERVER || (rc && *verdict == V_REAUTH)) {
		/*
		 * etcd says "authentication failed, invalid user ID or
		 * password" (InvalidArgument), or that auth is not enabled.
		 */
		*verdict = V_DONE;
		if (c->last_code == GRPC_FAILED_PRECONDITION)
			rc = set_error(err, DLOCK_EAUTH, "a user was given but "
				       "%s has authentication off (%s); remove "
				       "the user and password settings",
				       name_of(c), c->last_msg);
		else
			rc = set_error(err, DLOCK_EAUTH, "%s refused user "
				       "'%s': %s", name_of(c), c->user,
				       c->last_msg);
	}
	if (rc)
		goto out;
	token = json_string(json_get(reply, "token"), NULL);
	if (!token || !*token) {
		rc = set_error(err, DLOCK_ESERVER, "%s gave no auth token",
			       name_of(c));
		goto out;
	}
	free_secret(c->token);
	c->token = strdup(token);
	if (!c->token)
		rc = set_error(err, DLOCK_ENOMEM, "out of memory");
out:
	json_free(reply);
	if (r.body)
		explicit_bzero(r.body, r.body_cap);	/* the token */
	http_response_free(&r);
	return rc;
}

static bool wants_token(const struct etcd_client *c, const char *path)
{
	return c->user && v3_api(path);
}

/*
 * One try on c->current, with the token, authenticating first if need
 * be. With st, a stream on a connection of its own (left in st).
 */
static int try_endpoint(struct etcd_client *c, const char *method,
			const char *path, const char *body, int64_t deadline,
			int cancel_fd, struct json **reply,
			struct etcd_stream *st, enum verdict *verdict,
			struct dlock_error *err)
{
	struct http_response r = { 0 }, *rp = st ? &st->r : &r;
	const char *token;
	int rc;

	if (wants_token(c, path) && !c->token) {
		rc = authenticate(c, deadline, cancel_fd, verdict, err);
		if (rc)
			return rc;
	}
	*verdict = V_DONE;
	token = wants_token(c, path) ? c->token : NULL;
	if (st)
		rc = stream_exchange(c, path, token, body, deadline, cancel_fd,
				     &st->conn, rp, err);
	else
		rc = exchange(c, method, path, token, body, deadline,
			      cancel_fd, rp, err);
	if (!rc)
		*verdict = interpret(c, method, path, rp, reply, &rc, err);
	else if (rc == DLOCK_ECONN)
		*verdict = V_NEXT;
	if (st && !rc) {
		/* The first object is read: the rest is the stream's. */
		http_response_consume(rp, (size_t)json_scan_value(rp->body,
								  rp->body_len));
	} else if (st) {
		http_close(st->conn);
		st->conn = NULL;
		http_response_free(rp);
	}
	http_response_free(&r);
	return rc;
}

/* Between rounds of the endpoints, a pause that grows, up to a second. */
static int pause_between_rounds(int round, int64_t deadline, int cancel_fd)
{
	int64_t until = now_ms() + (50LL << (round < 5 ? round : 5));
	struct pollfd pfd = { .fd = cancel_fd, .events = POLLIN };
	int rc;

	if (until > deadline)
		until = deadline;
	if (until - now_ms() > 1000)
		until = now_ms() + 1000;
	do
		rc = poll(&pfd, cancel_fd >= 0 ? 1 : 0, ms_until(until));
	while (rc < 0 && errno == EINTR);
	return rc > 0 ? DLOCK_ECANCELED : 0;
}

/*
 * How long one try may take. A member that has passed our request on to
 * a leader that just died sits on it until etcd's own time-out (7 s),
 * while the same request sent again once a new leader is elected (about
 * a second: etcd's election timeout) succeeds; a stopped member never
 * answers at all. So a try gets at most TRY_FIRST_MS, twice that in each
 * later round (a slow cluster costs a repeat or two, not a failure), and
 * at most an even share of what is left between the endpoints not yet
 * tried in this round.
 */
#define TRY_FIRST_MS 1000

static int64_t try_deadline(int64_t deadline, size_t untried, int round)
{
	int64_t now = now_ms();
	int64_t cap = (int64_t)TRY_FIRST_MS << (round < 10 ? round : 10);
	int64_t end = now + cap;

	if (deadline == NO_DEADLINE)
		return end;
	if (untried > 1 && now + (deadline - now) / (int64_t)untried < end)
		end = now + (deadline - now) / (int64_t)untried;
	return end < deadline ? end : deadline;
}

static void next_endpoint(struct etcd_client *c)
{
	http_close(c->conn);
	c->conn = NULL;
	c->current = (c->current + 1) % c->n;
}

static int call(struct etcd_client *c, bool fixed, const char *method,
		const char *path, const char *body, int64_t deadline,
		int cancel_fd, struct json **reply, struct etcd_stream *st,
		struct dlock_error *err)
{
	bool reauthed = false;
	size_t tried = 0;
	int round = 0;

	*reply = NULL;
	for (;;) {
		enum verdict verdict;
		size_t untried = fixed ? 1 : c->n - tried;
		int rc = try_endpoint(c, method, path, body,
				      try_deadline(deadline, untried, round),
				      cancel_fd, reply, st, &verdict, err);

		if (verdict == V_REAUTH && !reauthed) {
			etcd_client_forget_token(c);
			reauthed = true;
			continue;
		}
		/* Left on the endpoint that failed last, for messages. */
		if (!rc || verdict != V_NEXT || now_ms() >= deadline)
			return rc;
		if (!fixed && ++tried < c->n) {
			next_endpoint(c);
			continue;
		}
		tried = 0;
		if (pause_between_rounds(round++, deadline, cancel_fd))
			return set_error(err, DLOCK_ECANCELED, "canceled");
		if (now_ms() >= deadline)
			return rc;
		if (!fixed)
			next_endpoint(c);
	}
}

int etcd_call(struct etcd_client *c, const char *path, const char *body,
	      int64_t deadline, int cancel_fd, struct json **reply,
	      struct dlock_error *err)
{
	return call(c, false, "POST", path, body, deadline, cancel_fd, reply,
		    NULL, err);
}

int etcd_stream_open(struct etcd_client *c, const char *path,
		     const char *body, int64_t deadline, int cancel_fd,
		     struct etcd_stream *st, struct json **first,
		     struct dlock_error *err)
{
	memset(st, 0, sizeof(*st));
	return call(c, false, "POST", path, body, deadline, cancel_fd, first,
		    st, err);
}

int etcd_call_endpoint(struct etcd_client *c, size_t index,
		       const char *method, const char *path,
		       const char *body, int64_t deadline, int cancel_fd,
		       struct json **reply, struct dlock_error *err)
{
	if (index >= c->n)
		return set_error(err, DLOCK_EUSAGE, "no etcd endpoint %zu",
				 index);
	if (index != c->current) {
		http_close(c->conn);
		c->conn = NULL;
		c->current = index;
	}
	return call(c, true, method, path, body, deadline, cancel_fd, reply,
		    NULL, err);
}
