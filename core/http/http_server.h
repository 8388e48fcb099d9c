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
 * until the handler returns: a handler either replies before it returns, or
 * hands the request over with http_req_defer() and replies later on the
 * copy (once the state commit it waits for completed). */
struct http_req {
	/* libevent's request; NULL on a deferred copy whose client went away
	 * while the server was being freed (replies are then dropped). */
	struct evhttp_request *ev;
	unsigned method;          /* enum http_method bit */
	char *path;               /* decoded, without query; owned by server */
	struct evkeyvalq query;   /* decoded query parameters */
	struct http_match match;  /* route and {params} */
	void *app;                /* the server's APP pointer */
	const struct http_server *server;
	bool replied;
	/* http_req_body() put a NUL after the body in libevent's buffer. */
	bool body_terminated;
	/* The dispatcher's request was handed to a deferred copy: it must not
	 * answer for the handler. */
	bool deferred;
	/* Deferred copies only (http_req_defer). */
	bool is_copy;
	struct evhttp_connection *conn; /* NULL once the client went away */
	char *body;               /* owned copy of the body, NUL-terminated */
	size_t body_len;
	void (*drop_fn)(void *arg); /* see http_req_on_drop() */
	void *drop_arg;
	struct http_req *next, *prev; /* the server's pending copies */
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
	/* Cluster mode: called with the request before it is served, for
	 * every request whose route lacks HTTP_ROUTE_ANY_NODE, including
	 * those that match no route (a standby proxies every path, its
	 * 404s and 405s too).  True: the hook took REQ (it replied, or
	 * deferred REQ with http_req_defer() and replies later); false:
	 * served here as usual.  NULL: everything is served here (a
	 * standalone daemon, or the leader). */
	bool (*intercept)(void *app, struct http_req *req);
};

/* Listen on CONF's address and port.  On failure ERR says why and what to
 * do.  The caller owns *server_r; BASE must outlive it. */
int http_server_new(struct event_base *base, const struct http_server_conf *conf,
                    struct http_server **server_r, char *err, size_t errlen);
/* NULL-safe.  Frees the deferred requests still waiting for their reply
 * (their clients get no answer), each after its drop callback
 * (http_req_on_drop) told its holder to forget it. */
void http_server_free(struct http_server *server);

/* Hand REQ over for a reply after the handler has returned.  Returns a heap
 * copy that owns the path, the query and a copy of the body; the matched
 * {params} point into the path and stay valid.  Every http_reply_* on the
 * copy sends the reply and frees the copy; reply exactly once.  If the
 * client closes its connection first, the reply is dropped (and the copy
 * freed) all the same.  REQ itself must not be used after a successful
 * call (the dispatcher no longer answers for it).  Calling it on a copy
 * returns the copy.  NULL when out of memory: REQ is unchanged and still
 * needs its reply. */
struct http_req *http_req_defer(struct http_req *req);

/* Deferred copy REQ is freed unanswered when the server is freed first:
 * FN(ARG) is called right before, so that whatever will complete later
 * forgets REQ instead of replying to freed memory.  One per copy; a later
 * call replaces it.  Not called when the copy is answered. */
void http_req_on_drop(struct http_req *req, void (*fn)(void *arg), void *arg);

/* Answer deferred copy REQ through the route table now, as if it had just
 * arrived but without the intercept hook: for a call a node held while it
 * could not serve it yet.  Clears its http_req_on_drop(); the handler
 * replies or defers, as always. */
void http_req_serve(struct http_req *req);

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
/* What a proxy needs to forward REQ; each is NULL (the method
 * EVHTTP_REQ_GET) on a deferred copy whose client went away. */
/* The method as libevent's client sends it (TRACE and CONNECT too). */
enum evhttp_cmd_type http_req_command(const struct http_req *req);
/* The request target as the client sent it: path and query, not decoded
 * (an absolute "http://host/p?q" target is reduced to "/p?q"); owned by
 * REQ. */
const char *http_req_uri(const struct http_req *req);
/* All request headers, in the client's order; owned by REQ. */
const struct evkeyvalq *http_req_headers(const struct http_req *req);
/* The client's address ("127.0.0.1", "::1"); owned by libevent, valid
 * while REQ is. */
const char *http_req_peer(const struct http_req *req);
/* Add a response header. */
void http_reply_header(struct http_req *req, const char *name,
                       const char *value);

/* Reply with BODY serialized; takes ownership of BODY (NULL: no body). */
void http_reply_json(struct http_req *req, int status, struct json_object *body);
/* Reply with LEN bytes of BODY as CONTENT_TYPE (copied). */
void http_reply_raw(struct http_req *req, int status, const char *content_type,
                    const void *body, size_t len);
/* Called when a referenced body is no longer needed. */
typedef void http_body_done_fn(const void *body, size_t len, void *arg);
/* Reply with LEN bytes of BODY as CONTENT_TYPE without copying them (a
 * cached listing of megabytes, polled all day): BODY stays borrowed until
 * DONE(BODY, LEN, ARG) runs, once the bytes are sent or dropped, possibly
 * before this returns. */
void http_reply_ref(struct http_req *req, int status, const char *content_type,
                    const void *body, size_t len, http_body_done_fn *done,
                    void *arg);
/* Pass on the answer of another server (the leader, to a standby's
 * client) as it is: STATUS and REASON (NULL: the usual one), HEADERS
 * (borrowed) but the hop-by-hop ones (Connection, Keep-Alive,
 * Transfer-Encoding, Content-Length, TE, Trailer, Upgrade, Proxy-*), and
 * the bytes of BODY (NULL: none), which are moved out of it (BODY stays
 * the caller's).  None of our own headers are added: the answer carries
 * its server's.  To HEAD, the Content-Length from HEADERS is kept and no
 * body sent. */
void http_reply_proxied(struct http_req *req, int status, const char *reason,
                        const struct evkeyvalq *headers, struct evbuffer *body);
/* Reply {"message": <formatted text>}. */
void http_reply_message(struct http_req *req, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* STADION_HTTP_SERVER_H */
