#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "http/http_server.h"
#include "log.h"

struct http_server {
	struct evhttp *http;
	struct http_server_conf conf;
	struct http_req *pending; /* deferred copies waiting for a reply */
};

static const char *status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static unsigned method_bit(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return HTTP_GET;
	case EVHTTP_REQ_POST: return HTTP_POST;
	case EVHTTP_REQ_PUT: return HTTP_PUT;
	case EVHTTP_REQ_DELETE: return HTTP_DELETE;
	case EVHTTP_REQ_PATCH: return HTTP_PATCH;
	case EVHTTP_REQ_HEAD: return HTTP_HEAD;
	case EVHTTP_REQ_OPTIONS: return HTTP_OPTIONS;
	default: return HTTP_OTHER;
	}
}

const char *http_req_query(const struct http_req *req, const char *name)
{
	return evhttp_find_header(&req->query, name);
}

int http_req_query_bool(const struct http_req *req, const char *name, bool def)
{
	const char *v = http_req_query(req, name);

	if (v == NULL)
		return def;
	if (strcasecmp(v, "true") == 0)
		return 1;
	if (strcasecmp(v, "false") == 0)
		return 0;
	return -1;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
	if (req->ev == NULL)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	                          name);
}

const char *http_req_body(struct http_req *req, size_t *len_r)
{
	struct evbuffer *in;
	size_t len;
	unsigned char *p;

	if (req->is_copy) {
		*len_r = req->body_len;
		return req->body;
	}
	in = evhttp_request_get_input_buffer(req->ev);
	len = evbuffer_get_length(in);

	/* A NUL after the body lets parsers read it as a string; it is not
	 * part of the body. */
	if (req->body_terminated)
		len--;
	else if (evbuffer_add(in, "", 1) == 0)
		req->body_terminated = true;
	p = evbuffer_pullup(in, -1);
	*len_r = len;
	return (const char *)p;
}

enum evhttp_cmd_type http_req_command(const struct http_req *req)
{
	return req->ev != NULL ? evhttp_request_get_command(req->ev)
	                       : EVHTTP_REQ_GET;
}

const char *http_req_uri(const struct http_req *req)
{
	const char *uri, *p;

	if (req->ev == NULL)
		return NULL;
	uri = evhttp_request_get_uri(req->ev);
	if (uri == NULL || uri[0] == '/' || (p = strstr(uri, "://")) == NULL)
		return uri;
	/* Absolute form: what follows the authority. */
	p = strchr(p + 3, '/');
	return p != NULL ? p : "/";
}

const struct evkeyvalq *http_req_headers(const struct http_req *req)
{
	if (req->ev == NULL)
		return NULL;
	return evhttp_request_get_input_headers(req->ev);
}

const char *http_req_peer(const struct http_req *req)
{
	struct evhttp_connection *conn;
	char *address = NULL;
	ev_uint16_t port = 0;

	if (req->ev == NULL ||
	    (conn = evhttp_request_get_connection(req->ev)) == NULL)
		return NULL;
	evhttp_connection_get_peer(conn, &address, &port);
	return address;
}

void http_reply_header(struct http_req *req, const char *name,
                       const char *value)
{
	if (req->ev == NULL)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(req->ev), name,
	                  value);
}

static void pending_unlink(struct http_req *d)
{
	struct http_server *server = (struct http_server *)d->server;

	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		server->pending = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	d->next = d->prev = NULL;
}

static void copy_free(struct http_req *d)
{
	pending_unlink(d);
	evhttp_clear_headers(&d->query);
	free(d->path);
	free(d->body);
	free(d);
}

/* The client of a deferred request closed its connection, or the server is
 * going away.  libevent detaches a request it has not answered from a
 * connection the client closed and leaves it to us; one still attached (the
 * whole server is being freed) it frees itself right after this call. */
static void copy_conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct http_req *d = arg;

	(void)conn;
	if (d->ev != NULL && evhttp_request_get_connection(d->ev) != NULL)
		d->ev = NULL;
	d->conn = NULL;
}

/* Whether a reply to deferred copy D can still be sent; when not, what D
 * still holds of libevent's is released. */
static bool copy_can_send(struct http_req *d)
{
	if (d->conn != NULL) {
		/* The connection may serve further requests: it must not
		 * call back into a copy about to be freed. */
		evhttp_connection_set_closecb(d->conn, NULL, NULL);
		return true;
	}
	if (d->ev != NULL)
		evhttp_request_free(d->ev);
	d->ev = NULL;
	return false;
}

void http_req_on_drop(struct http_req *req, void (*fn)(void *arg), void *arg)
{
	req->drop_fn = fn;
	req->drop_arg = arg;
}

struct http_req *http_req_defer(struct http_req *req)
{
	struct http_server *server = (struct http_server *)req->server;
	struct evbuffer *in;
	struct http_req *d;
	struct evkeyval *kv;

	if (req->is_copy)
		return req;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	in = evhttp_request_get_input_buffer(req->ev);
	d->body_len = evbuffer_get_length(in);
	/* Not the NUL http_req_body() added. */
	if (req->body_terminated)
		d->body_len--;
	if ((d->body = malloc(d->body_len + 1)) == NULL) {
		free(d);
		return NULL;
	}
	if (evbuffer_copyout(in, d->body, d->body_len) !=
	    (ev_ssize_t)d->body_len) {
		free(d->body);
		free(d);
		return NULL;
	}
	d->body[d->body_len] = '\0';
	d->ev = req->ev;
	d->method = req->method;
	d->path = req->path;
	d->match = req->match;
	d->app = req->app;
	d->server = req->server;
	d->is_copy = true;
	/* A TAILQ head cannot be copied (its last pointer points into the
	 * head): move the entries one by one. */
	TAILQ_INIT(&d->query);
	while ((kv = TAILQ_FIRST(&req->query)) != NULL) {
		TAILQ_REMOVE(&req->query, kv, next);
		TAILQ_INSERT_TAIL(&d->query, kv, next);
	}
	d->conn = evhttp_request_get_connection(req->ev);
	if (d->conn != NULL)
		evhttp_connection_set_closecb(d->conn, copy_conn_closed, d);
	d->next = server->pending;
	if (d->next != NULL)
		d->next->prev = d;
	server->pending = d;
	req->path = NULL;
	req->deferred = true;
	return d;
}

/* The headers Marathon puts on every answer of its leader. */
static void add_standard_headers(struct http_req *req)
{
	const struct http_server_conf *conf = &req->server->conf;
	const char *leader = conf->leader_url != NULL
	                             ? conf->leader_url(conf->app)
	                             : NULL;

	if (leader != NULL)
		http_reply_header(req, "X-Marathon-Leader", leader);
	http_reply_header(req, "Cache-Control",
	                  "no-cache, no-store, must-revalidate");
	http_reply_header(req, "Pragma", "no-cache");
	http_reply_header(req, "Expires", "0");
	http_reply_header(req, "X-Frame-Options", "DENY");
	http_reply_header(req, "X-XSS-Protection", "1; mode=block");
}

/* The one way out: with DONE, BODY is referenced, not copied, and DONE
 * runs once libevent is done with it (or at once when it is not sent). */
static void reply_body(struct http_req *req, int status,
                       const char *content_type, const void *body,
                       size_t len, http_body_done_fn *done, void *arg)
{
	struct evbuffer *out;
	char length[32];
	bool referenced = false;

	if (req->replied) {
		log_error("BUG: second reply to %s", req->path);
		goto out_done;
	}
	req->replied = true;
	if (req->is_copy && !copy_can_send(req)) {
		copy_free(req);
		goto out_done;
	}
	out = evbuffer_new();
	add_standard_headers(req);
	if (content_type != NULL)
		http_reply_header(req, "Content-Type", content_type);
	if (req->method == HTTP_HEAD) {
		/* libevent would send the body after a HEAD answer too. */
		snprintf(length, sizeof(length), "%zu", len);
		http_reply_header(req, "Content-Length", length);
	} else if (out != NULL && len > 0) {
		if (done == NULL)
			evbuffer_add(out, body, len);
		else
			referenced = evbuffer_add_reference(
				out, body, len,
				(evbuffer_ref_cleanup_cb)done, arg) == 0;
	}
	evhttp_send_reply(req->ev, status, status_reason(status), out);
	if (out != NULL)
		evbuffer_free(out);
	if (req->is_copy)
		copy_free(req);
	if (referenced)
		return;
out_done:
	if (done != NULL)
		done(body, len, arg);
}

/* Headers that describe one connection, not the answer: the connection
 * to our client gets its own. */
static bool hop_by_hop(const char *name)
{
	static const char *const names[] = {
		"Connection", "Keep-Alive", "Transfer-Encoding",
		"Content-Length", "TE", "Trailer", "Upgrade",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return strncasecmp(name, "Proxy-", 6) == 0;
}

void http_reply_proxied(struct http_req *req, int status, const char *reason,
                        const struct evkeyvalq *headers, struct evbuffer *body)
{
	struct evkeyvalq *out_headers;
	struct evbuffer *out;
	struct evkeyval *kv;

	if (req->replied) {
		log_error("BUG: second reply to %s", req->path);
		return;
	}
	req->replied = true;
	if (req->is_copy && !copy_can_send(req)) {
		copy_free(req);
		return;
	}
	out_headers = evhttp_request_get_output_headers(req->ev);
	if (headers != NULL)
		TAILQ_FOREACH(kv, headers, next) {
			if (!hop_by_hop(kv->key) ||
			    (req->method == HTTP_HEAD &&
			     strcasecmp(kv->key, "Content-Length") == 0))
				evhttp_add_header(out_headers, kv->key,
				                  kv->value);
		}
	out = evbuffer_new();
	/* libevent would send a body after a HEAD answer too. */
	if (out != NULL && body != NULL && req->method != HTTP_HEAD)
		evbuffer_add_buffer(out, body);
	evhttp_send_reply(req->ev, status,
	                  reason != NULL ? reason : status_reason(status), out);
	if (out != NULL)
		evbuffer_free(out);
	if (req->is_copy)
		copy_free(req);
}

void http_reply_raw(struct http_req *req, int status, const char *content_type,
                    const void *body, size_t len)
{
	reply_body(req, status, content_type, body, len, NULL, NULL);
}

void http_reply_ref(struct http_req *req, int status, const char *content_type,
                    const void *body, size_t len, http_body_done_fn *done,
                    void *arg)
{
	reply_body(req, status, content_type, body, len, done, arg);
}

void http_reply_json(struct http_req *req, int status, struct json_object *body)
{
	size_t len = 0;
	const char *s = "";

	if (body != NULL)
		s = json_object_to_json_string_length(
			body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			&len);
	http_reply_raw(req, status, "application/json; charset=utf-8", s, len);
	json_object_put(body);
}

void http_reply_message(struct http_req *req, int status, const char *fmt, ...)
{
	struct json_object *body = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(body, "message", json_object_new_string(msg));
	http_reply_json(req, status, body);
}

/* Answer REQ, matched as FOUND: its route's handler, or a 405 or a 404. */
static void serve(struct http_req *req, enum http_route_result found)
{
	char allow[96];

	switch (found) {
	case HTTP_ROUTE_FOUND:
		req->match.route->handler(req);
		break;
	case HTTP_ROUTE_NO_METHOD:
		if (req->match.allowed & HTTP_GET)
			req->match.allowed |= HTTP_HEAD;
		http_methods_format(req->match.allowed, allow, sizeof(allow));
		http_reply_header(req, "Allow", allow);
		http_reply_message(req, 405,
		                   "HTTP method %s is not allowed for %s; "
		                   "use %s",
		                   http_method_name(req->method) != NULL
		                           ? http_method_name(req->method)
		                           : "(other)",
		                   req->path, allow);
		break;
	case HTTP_ROUTE_NO_PATH:
		http_reply_message(req, 404, "URI %s not found", req->path);
		break;
	}
}

/* The route table's answer for REQ's method and path. */
static enum http_route_result match(const struct http_server *server,
                                    struct http_req *req)
{
	/* HEAD is GET without the body (http_reply_raw drops it). */
	return http_router_match(server->conf.routes, server->conf.n_routes,
	                         req->method == HTTP_HEAD ? HTTP_GET | HTTP_HEAD
	                                                  : req->method,
	                         req->path, &req->match);
}

void http_req_serve(struct http_req *req)
{
	http_req_on_drop(req, NULL, NULL);
	/* A copy is freed by its reply: nothing of it is read after. */
	serve(req, match(req->server, req));
}

/* Every request enters here. */
static void http_dispatch(struct evhttp_request *ev, void *arg)
{
	struct http_server *server = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw_path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *raw_query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct http_req req = {.ev = ev, .app = server->conf.app,
	                       .server = server};
	enum http_route_result found;

	TAILQ_INIT(&req.query);
	req.method = method_bit(evhttp_request_get_command(ev));
	req.path = evhttp_uridecode(raw_path != NULL && raw_path[0] != '\0'
	                                    ? raw_path
	                                    : "/",
	                            0, NULL);
	if (req.path == NULL ||
	    (raw_query != NULL && evhttp_parse_query_str(raw_query, &req.query) != 0)) {
		if (req.path == NULL)
			req.path = strdup("?");
		http_reply_message(&req, 400, "The request URI cannot be decoded");
		goto out_free;
	}
	/* "/v2/apps/" is "/v2/apps", as in Marathon (JAX-RS). */
	for (size_t len = strlen(req.path); len > 1 && req.path[len - 1] == '/';)
		req.path[--len] = '\0';
	if (evbuffer_get_length(evhttp_request_get_input_buffer(ev)) >
	    server->conf.max_body_bytes) {
		/* The rest of a body we refuse may still be in flight: close
		 * rather than read it as the next request. */
		http_reply_header(&req, "Connection", "close");
		http_reply_message(&req, 413,
		                   "Request body is larger than %zu bytes; send "
		                   "less or raise --http_max_body_bytes",
		                   server->conf.max_body_bytes);
		goto out_free;
	}
	found = match(server, &req);
	/* A standby hands over every path but the node's own, unrouted ones
	 * too: the leader may know routes this node does not. */
	if (server->conf.intercept != NULL &&
	    (found != HTTP_ROUTE_FOUND ||
	     !(req.match.route->flags & HTTP_ROUTE_ANY_NODE)) &&
	    server->conf.intercept(server->conf.app, &req)) {
		if (!req.replied && !req.deferred) {
			log_error("BUG: intercepted %s without a reply",
			          req.path);
			http_reply_message(&req, 500,
			                   "Internal error: no reply");
		}
		goto out_free;
	}
	serve(&req, found);
	if (!req.replied && !req.deferred) {
		log_error("BUG: no reply to %s", req.path);
		http_reply_message(&req, 500, "Internal error: no reply");
	}
out_free:
	evhttp_clear_headers(&req.query);
	free(req.path);
}

int http_server_new(struct event_base *base, const struct http_server_conf *conf,
                    struct http_server **server_r, char *err, size_t errlen)
{
	struct http_server *server = calloc(1, sizeof(*server));
	struct evhttp_bound_socket *bound;
	int one = 1;
	/* libevent answers bodies over its own cap with a 413 of its own,
	 * before any handler runs; keep that cap well above ours so our JSON
	 * 413 answers everything but abuse. */
	size_t cap = conf->max_body_bytes > SIZE_MAX / 4 ? SIZE_MAX
	                                               : conf->max_body_bytes * 4;

	if (server == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	server->conf = *conf;
	server->http = evhttp_new(base);
	if (server->http == NULL) {
		snprintf(err, errlen, "cannot create the HTTP server");
		goto fail_free_server;
	}
	evhttp_set_allowed_methods(
		server->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
		                      EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
		                      EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
		                      EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	if (cap > (size_t)EV_SSIZE_MAX)
		cap = (size_t)EV_SSIZE_MAX;
	evhttp_set_max_body_size(server->http, (ev_ssize_t)cap);
	evhttp_set_flags(server->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(server->http, http_dispatch, server);
	bound = evhttp_bind_socket_with_handle(server->http, conf->address,
	                                       conf->port);
	if (bound == NULL) {
		snprintf(err, errlen,
		         "cannot listen on %s port %u: %s; stop what uses the "
		         "port or choose another --http_address/--http_port",
		         conf->address, (unsigned)conf->port, strerror(errno));
		goto fail_free_http;
	}
	/* Accepted sockets inherit TCP_NODELAY from the listener on Linux. */
	if (setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP,
	               TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("cannot set TCP_NODELAY on the API socket: %s",
		         strerror(errno));
	*server_r = server;
	return 0;

fail_free_http:
	evhttp_free(server->http);
fail_free_server:
	free(server);
	return -1;
}

void http_server_free(struct http_server *server)
{
	if (server == NULL)
		return;
	/* Before evhttp_free, whose connection close callbacks would find
	 * them: requests still attached are libevent's to free. */
	while (server->pending != NULL) {
		struct http_req *d = server->pending;

		if (d->conn != NULL)
			evhttp_connection_set_closecb(d->conn, NULL, NULL);
		else if (d->ev != NULL)
			evhttp_request_free(d->ev);
		if (d->drop_fn != NULL)
			d->drop_fn(d->drop_arg);
		copy_free(d);
	}
	evhttp_free(server->http);
	free(server);
}
