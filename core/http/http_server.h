/*
 * http_server: the REST API's evhttp server.  Decodes each request, routes it
 * through an http_router table, and offers the reply helpers every handler
 * uses, so that all bodies and errors share Marathon's shapes:
 *   errors   {"message": "..."} with the right status
 *   JSON     application/json; charset=utf-8
 * It sets TCP_NODELAY on the listening socket, which Linux copies to every
 * accepted connection (without it any reply over 16 KB stalls ~40 ms on
 * Nagle + delayed ACK), and enforces the request body limit.  Every reply
 * carries Marathon's headers (X-Marathon-Leader, no-cache, X-Frame-Options,
 * X-XSS-Protection); HEAD is answered as GET without the body.
 */
#ifndef STADION_HTTP_SERVER_H
#define STADION_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "http/http_router.h"

/* One request while its handler runs.  Everything is borrowed and valid
 * until the handler replies (every handler replies exactly once, before it
 * returns, for now: nothing is asynchronous yet). */
struct http_req {
	struct evhttp_request *ev;
	unsigned method;          /* enum http_method bit */
	char *path;               /* decoded, without query; owned by server */
	struct evkeyvalq query;   /* decoded query parameters */
	struct http_match match;  /* route and {params} */
	void *app;                /* the server's APP pointer */
	const struct http_server *server;
	bool replied;
};

struct http_server;

struct http_server_conf {
	const char *address;       /* "0.0.0.0", "127.0.0.1", "::" */
	uint16_t port;
	size_t max_body_bytes;     /* larger bodies get 413 */
	const struct http_route *routes; /* borrowed, must outlive the server */
	size_t n_routes;
	void *app;                 /* handed to handlers as req->app */
	/* The leader's URL for X-Marathon-Leader ("http://host:port"), or
	 * NULL when there is none; called for every reply. */
	const char *(*leader_url)(void *app);
};

/* Listen on CONF's address and port.  On failure ERR says why and what to
 * do.  The caller owns *server_r; BASE must outlive it. */
int http_server_new(struct event_base *base, const struct http_server_conf *conf,
                    struct http_server **server_r, char *err, size_t errlen);
/* NULL-safe. */
void http_server_free(struct http_server *server);

/* Query parameter NAME, or NULL. */
const char *http_req_query(const struct http_req *req, const char *name);
/* Query parameter NAME as a boolean: "true"/"false" in any case (Marathon
 * accepts force=True); DEF when absent.  -1 when present but neither. */
int http_req_query_bool(const struct http_req *req, const char *name,
                        bool def);
/* Request header NAME, or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Request body (NUL-terminated copy owned by the request) and its length. */
const char *http_req_body(struct http_req *req, size_t *len_r);
/* Add a response header. */
void http_reply_header(struct http_req *req, const char *name,
                       const char *value);

/* Reply with BODY serialized; takes ownership of BODY (NULL: no body). */
void http_reply_json(struct http_req *req, int status, struct json_object *body);
/* Reply with LEN bytes of BODY as CONTENT_TYPE (copied). */
void http_reply_raw(struct http_req *req, int status, const char *content_type,
                    const void *body, size_t len);
/* Reply {"message": <formatted text>}. */
void http_reply_message(struct http_req *req, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* STADION_HTTP_SERVER_H */
