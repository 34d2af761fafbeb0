/* SPDX-License-Identifier: MIT */
/*
 * One key's watch: a POST /v3/watch whose chunked answer never ends, on a
 * connection of its own so that etcd_call() can go on meanwhile. Each
 * object of the stream is a {"result":{...}} with events, or a
 * notice (created, canceled, compacted, progress).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/client.h"

struct etcd_watch {
	struct etcd_stream st;
	char name[64];		/* the endpoint, for messages */
	bool changed;		/* seen at open: the first wait says so */
};

static bool has(const char *s, const char *word)
{
	return s && strstr(s, word);
}

/*
 * A watch created and canceled at once: compacted history (the caller
 * looks again, as after a change), or a refusal in cancel_reason that
 * the gateway words as a gRPC error.
 */
static int canceled_at_open(struct etcd_client *c, const struct json *res,
			    bool *retry, struct dlock_error *err)
{
	const char *why = json_string(json_get(res, "cancel_reason"), NULL);
	int64_t compact = 0;

	*retry = false;
	if (json_int64(json_get(res, "compact_revision"), &compact) &&
	    compact > 0)
		return 0;
	if (has(why, "invalid auth token")) {
		*retry = true;
		etcd_client_forget_token(c);
		return set_error(err, DLOCK_EAUTH, "%s refused the auth token "
				 "for a watch", etcd_endpoint_name(c));
	}
	if (has(why, "permission denied") || has(why, "user name is empty"))
		return set_error(err, DLOCK_EAUTH, "%s refused a watch: %.200s; "
				 "check the user, password and role",
				 etcd_endpoint_name(c), why);
	return set_error(err, DLOCK_ESERVER, "%s canceled a watch at once: "
			 "%.200s", etcd_endpoint_name(c), why ? why : "");
}

int etcd_watch_open(struct etcd_client *c, const char *key, size_t keylen,
		    int64_t start_revision, int64_t deadline,
		    struct etcd_watch **out, struct dlock_error *err)
{
	return etcd_watch_open_range(c, key, keylen, NULL, 0, start_revision,
				     deadline, out, err);
}

int etcd_watch_open_range(struct etcd_client *c, const char *key,
			  size_t keylen, const char *range_end,
			  size_t range_end_len, int64_t start_revision,
			  int64_t deadline, struct etcd_watch **out,
			  struct dlock_error *err)
{
	struct etcd_watch *w;
	struct jbuf b;
	int rc = 0;

	jbuf_init(&b);
	jbuf_raw(&b, "{\"create_request\":{\"key\":");
	jbuf_base64(&b, key, keylen);
	if (range_end) {
		jbuf_raw(&b, ",\"range_end\":");
		jbuf_base64(&b, range_end, range_end_len);
	}
	if (start_revision > 0)
		jbuf_printf(&b, ",\"start_revision\":\"%lld\"",
			    (long long)start_revision);
	jbuf_raw(&b, "}}");
	w = calloc(1, sizeof(*w));
	if (b.failed || !w) {
		rc = set_error(err, DLOCK_ENOMEM, "out of memory");
		goto out;
	}
	for (int tries = 0; tries < 2; tries++) {
		struct json *first = NULL;
		bool retry = false;

		rc = etcd_stream_open(c, "/v3/watch", b.data, deadline, -1,
				      &w->st, &first, err);
		if (!rc && !json_true(json_get(first, "created")))
			rc = set_error(err, DLOCK_ESERVER, "%s did not confirm "
				       "a watch", etcd_endpoint_name(c));
		if (!rc && json_true(json_get(first, "canceled"))) {
			rc = canceled_at_open(c, first, &retry, err);
			w->changed = !rc;
		}
		json_free(first);
		if (!rc || !retry)
			break;
		http_close(w->st.conn);
		http_response_free(&w->st.r);
	}
	if (rc)
		goto out;
	snprintf(w->name, sizeof(w->name), "%s", etcd_endpoint_name(c));
	*out = w;
	w = NULL;
out:
	if (w) {
		http_close(w->st.conn);
		http_response_free(&w->st.r);
		free(w);
	}
	jbuf_free(&b);
	return rc;
}

/*
 * One object of the stream: true when it tells of a change (events, or
 * the watch canceled or compacted under us). Progress notices and the
 * like are nothing.
 */
static int judge(struct etcd_watch *w, const char *text, size_t len,
		 bool *changed, struct dlock_error *err)
{
	struct json *v = json_parse(text, len, err);
	const struct json *res = json_get(v, "result"), *e;
	int64_t compact = 0;
	int rc = 0;

	if (!v)
		return set_error(err, err->code == DLOCK_ENOMEM ? DLOCK_ENOMEM :
				 DLOCK_ECONN, "%s sent a watch stream that is "
				 "not JSON", w->name);
	e = json_get(v, "error");
	if (e) {
		const char *m = json_string(json_get(e, "message"), NULL);

		rc = set_error(err, DLOCK_ECONN, "%s ended a watch: %.200s",
			       w->name, m ? m : "(no message)");
	} else if (json_count(json_get(res, "events")) ||
		   json_true(json_get(res, "canceled")) ||
		   (json_int64(json_get(res, "compact_revision"), &compact) &&
		    compact > 0)) {
		*changed = true;
	}
	json_free(v);
	return rc;
}

int etcd_watch_wait(struct etcd_watch *w, int64_t until, int cancel_fd,
		    bool *changed, struct dlock_error *err)
{
	struct http_response *r = &w->st.r;

	*changed = false;
	if (w->changed) {
		w->changed = false;
		*changed = true;
		return 0;
	}
	for (;;) {
		ssize_t n = json_scan_value(r->body ? r->body : "",
					    r->body_len);
		bool got = false;
		int rc;

		if (n < 0) {
			http_abandon(w->st.conn);
			return set_error(err, DLOCK_ECONN, "%s sent a watch "
					 "stream that is not JSON", w->name);
		}
		if (n > 0) {
			rc = judge(w, r->body, (size_t)n, changed, err);
			http_response_consume(r, (size_t)n);
			if (rc || *changed)
				return rc;
			continue;
		}
		if (r->state == HTTP_DONE)
			return set_error(err, DLOCK_ECONN, "%s ended a watch "
					 "stream", w->name);
		rc = http_read(w->st.conn, r, true, until, cancel_fd, &got,
			       err);
		if (rc == DLOCK_ETIMEDOUT)
			return 0;
		if (rc == DLOCK_ESERVER)
			rc = DLOCK_ECONN;	/* the stream is no more */
		if (rc) {
			err->code = rc;
			return rc;
		}
	}
}

void etcd_watch_close(struct etcd_watch *w)
{
	if (!w)
		return;
	http_close(w->st.conn);
	http_response_free(&w->st.r);
	free(w);
}
