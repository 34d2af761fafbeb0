/* SPDX-License-Identifier: MIT */
/* What watch.c needs of the client beyond wire.h. Internal to lib/etcd/. */
#ifndef DLOCK_ETCD_CLIENT_H
#define DLOCK_ETCD_CLIENT_H

#include "etcd/http.h"
#include "etcd/wire.h"

/* A streaming call's connection, and its body read beyond what was taken. */
struct etcd_stream {
	struct http_conn *conn;
	struct http_response r;
};

/*
 * POSTs body to a streaming path on a connection of its own, with the
 * fail-over and authentication of etcd_call(), and returns once the
 * stream's first object has come: *first is its "result" (json_free it),
 * and st holds the connection and what followed the first object. An
 * {"error":...} first is a failure, with etcd_call()'s codes.
 */
int etcd_stream_open(struct etcd_client *c, const char *path,
		     const char *body, int64_t deadline, int cancel_fd,
		     struct etcd_stream *st, struct json **first,
		     struct dlock_error *err);

/* Drops the auth token that etcd refused: the next call gets a new one. */
void etcd_client_forget_token(struct etcd_client *c);

#endif
