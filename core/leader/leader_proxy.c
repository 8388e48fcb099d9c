#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "leader/leader_proxy.h"
#include "log.h"

/* One connection to a leader. */
struct proxy_conn {
	struct leader_proxy *p;
	struct evhttp_connection *evcon; /* owned */
	char *leader;                    /* owned: "host:port" it goes to */
	unsigned inflight;               /* calls sent on it, not finished */
	bool retired;                    /* the leader changed: no new calls */
	/* Armed while the connection is being made: connect_timeout_ms. */
	struct event *connect_timer;     /* owned */
	TAILQ_ENTRY(proxy_conn) link;
};

/* One forwarded call. */
struct proxy_call {
	struct leader_proxy *p;
	struct proxy_conn *pc;    /* borrowed from p->conns */
	struct http_req *req;     /* deferred copy; NULL once the server
	                           * dropped it (the reply goes nowhere) */
	struct evhttp_request *up; /* libevent's while sent; NULL after */
	bool failed;              /* libevent reported an error */
	enum evhttp_request_error error;
	int sys_errno;            /* errno when it did */
	/* Inside evhttp_make_request(): callbacks only record. */
	bool sending;
	bool finished_while_sending;
	char leader[256];         /* for messages */
	char what[256];           /* "POST /v2/apps", for messages */
	TAILQ_ENTRY(proxy_call) link;
};

struct leader_proxy {
	struct event_base *base;
	struct evdns_base *dns;      /* owned; NULL: blocking resolution */
	int64_t connect_ms, read_ms;
	unsigned max_connections;
	char *via;                   /* owned: "1.1 <self_id>" */
	TAILQ_HEAD(, proxy_conn) conns;
	unsigned n_active;           /* conns not retired */
	TAILQ_HEAD(, proxy_call) calls;
	/* Frees idle retired connections outside libevent's callbacks (a
	 * connection must not be freed from its own request callback). */
	struct event *sweep;         /* owned */
};

static struct timeval ms_tv(int64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

static const char *cmd_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "?";
}

/* Split "host:port" or "[v6]:port" into HOST (HOSTLEN bytes) and *PORT_R. */
static int parse_leader(const char *leader, char *host, size_t hostlen,
                        uint16_t *port_r)
{
	const char *colon = strrchr(leader, ':');
	const char *start = leader, *end = colon;
	char *stop;
	unsigned long port;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &stop, 10);
	if (errno != 0 || *stop != '\0' || port == 0 || port > 65535)
		return -1;
	if (*start == '[') {
		if (end == start || end[-1] != ']')
			return -1;
		start++;
		end--;
	}
	if (end == start || (size_t)(end - start) >= hostlen)
		return -1;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port_r = (uint16_t)port;
	return 0;
}

/* Whether X-Marathon-Via VIA names P's node: one of its comma-separated
 * entries is "1.1 <self_id>". */
static bool via_names_self(const struct leader_proxy *p, const char *via)
{
	size_t n = strlen(p->via);

	for (const char *s = via; s != NULL && *s != '\0';) {
		const char *comma = strchr(s, ',');
		const char *e = comma != NULL ? comma : s + strlen(s);

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == n && strncasecmp(s, p->via, n) == 0)
			return true;
		s = comma != NULL ? comma + 1 : NULL;
	}
	return false;
}

static void conn_free(struct proxy_conn *pc)
{
	struct leader_proxy *p = pc->p;

	TAILQ_REMOVE(&p->conns, pc, link);
	if (!pc->retired)
		p->n_active--;
	if (pc->connect_timer != NULL)
		event_free(pc->connect_timer);
	if (pc->evcon != NULL)
		evhttp_connection_free(pc->evcon);
	free(pc->leader);
	free(pc);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct leader_proxy *p = arg;
	struct proxy_conn *pc, *next;

	(void)fd;
	(void)what;
	for (pc = TAILQ_FIRST(&p->conns); pc != NULL; pc = next) {
		next = TAILQ_NEXT(pc, link);
		if (pc->retired && pc->inflight == 0)
			conn_free(pc);
	}
}

static void retire(struct proxy_conn *pc)
{
	if (pc->retired)
		return;
	pc->retired = true;
	pc->p->n_active--;
	event_active(pc->p->sweep, EV_TIMEOUT, 0);
}

/* Send the answer (or the error) to the client and forget CALL. */
static void call_finish(struct proxy_call *call, struct evhttp_request *up)
{
	struct leader_proxy *p = call->p;
	struct http_req *req = call->req;
	int code = up != NULL ? evhttp_request_get_response_code(up) : 0;
	char cause[160];

	if (call->pc != NULL) {
		call->pc->inflight--;
		if (call->pc->retired && call->pc->inflight == 0)
			event_active(p->sweep, EV_TIMEOUT, 0);
	}
	TAILQ_REMOVE(&p->calls, call, link);
	if (req != NULL)
		http_req_on_drop(req, NULL, NULL);
	if (!call->failed && code >= 100) {
		/* Without REQ, the server was freed first: nobody to tell. */
		if (req != NULL)
			http_reply_proxied(
				req, code,
				evhttp_request_get_response_code_line(up),
				evhttp_request_get_input_headers(up),
				evhttp_request_get_input_buffer(up));
		free(call);
		return;
	}
	if (call->failed && call->error == EVREQ_HTTP_TIMEOUT)
		snprintf(cause, sizeof(cause),
		         "no answer within %" PRId64
		         " ms, --leader_proxy_read_timeout",
		         p->read_ms);
	else if (call->failed && call->error == EVREQ_HTTP_INVALID_HEADER)
		snprintf(cause, sizeof(cause), "it sent a malformed answer");
	else if (call->failed && call->error == EVREQ_HTTP_DATA_TOO_LONG)
		snprintf(cause, sizeof(cause), "its answer is too large");
	else if (call->sys_errno == ECONNREFUSED ||
	         call->sys_errno == ECONNRESET ||
	         call->sys_errno == EHOSTUNREACH ||
	         call->sys_errno == ENETUNREACH || call->sys_errno == EPIPE ||
	         call->sys_errno == ETIMEDOUT)
		snprintf(cause, sizeof(cause), "%s", strerror(call->sys_errno));
	else
		snprintf(cause, sizeof(cause),
		         "the connection closed before the answer");
	log_warn("cannot forward %s to the leader %s: %s", call->what,
	         call->leader, cause);
	if (req != NULL)
		http_reply_message(req, 503,
		                   "cannot reach the leader %s (%s) to forward "
		                   "%s; retry, or check that node",
		                   call->leader, cause, call->what);
	free(call);
}

static void call_error_cb(enum evhttp_request_error error, void *arg)
{
	struct proxy_call *call = arg;

	call->failed = true;
	call->error = error;
	call->sys_errno = errno;
}

/* libevent is done with the upstream request: UP is its answer, or NULL
 * (or without a status) when the exchange failed. */
static void call_done_cb(struct evhttp_request *up, void *arg)
{
	struct proxy_call *call = arg;

	if (!call->failed && (up == NULL ||
	                      evhttp_request_get_response_code(up) == 0)) {
		/* libevent 2.1 reports a refused connection only this way:
		 * no error callback, no status, errno overwritten. */
		call->failed = true;
		call->error = EVREQ_HTTP_EOF;
		call->sys_errno = up != NULL ? ECONNREFUSED : errno;
	}
	call->up = NULL;
	if (call->sending) {
		call->finished_while_sending = true;
		return;
	}
	call_finish(call, up);
}

/* The server let go of the client's request (it is being freed). */
static void call_drop_cb(void *arg)
{
	struct proxy_call *call = arg;

	call->req = NULL;
}

/* Answer every call on PC with 503 CAUSE and free PC.  Not from a
 * callback of PC's connection. */
static void conn_fail(struct proxy_conn *pc, const char *cause)
{
	struct leader_proxy *p = pc->p;
	struct proxy_call *call, *next;

	/* libevent frees the requests queued on the connection without
	 * calling them back. */
	for (call = TAILQ_FIRST(&p->calls); call != NULL; call = next) {
		next = TAILQ_NEXT(call, link);
		if (call->pc != pc)
			continue;
		TAILQ_REMOVE(&p->calls, call, link);
		log_warn("cannot forward %s to the leader %s: %s", call->what,
		         call->leader, cause);
		if (call->req != NULL) {
			http_req_on_drop(call->req, NULL, NULL);
			http_reply_message(call->req, 503,
			                   "cannot reach the leader %s (%s) to "
			                   "forward %s; retry, or check that "
			                   "node",
			                   call->leader, cause, call->what);
		}
		free(call);
	}
	pc->inflight = 0;
	conn_free(pc);
}

static bool conn_established(struct proxy_conn *pc)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(pc->evcon);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

/* libevent 2.1 has one timeout for a connection (evcon->timeout), used
 * both to connect and between reads; the connect timeout is ours. */
static void connect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *pc = arg;
	char cause[128];

	(void)fd;
	(void)what;
	if (conn_established(pc))
		return;
	snprintf(cause, sizeof(cause),
	         "no connection within %" PRId64
	         " ms, --leader_proxy_connection_timeout",
	         pc->p->connect_ms);
	conn_fail(pc, cause);
}

static struct proxy_conn *conn_new(struct leader_proxy *p, const char *leader,
                                   const char *host, uint16_t port)
{
	struct proxy_conn *pc = calloc(1, sizeof(*pc));
	struct timeval read_tv = ms_tv(p->read_ms);

	if (pc == NULL)
		return NULL;
	pc->p = p;
	if ((pc->leader = strdup(leader)) == NULL)
		goto fail_free_pc;
	pc->evcon = evhttp_connection_base_new(p->base, p->dns, host, port);
	if (pc->evcon == NULL)
		goto fail_free_leader;
	pc->connect_timer = evtimer_new(p->base, connect_timer_cb, pc);
	if (pc->connect_timer == NULL)
		goto fail_free_evcon;
	evhttp_connection_set_timeout_tv(pc->evcon, &read_tv);
	evhttp_connection_set_retries(pc->evcon, 0);
	/* An answer the leader sent before closing (413 to a body it
	 * refused) is read rather than lost to EPIPE. */
	evhttp_connection_set_flags(pc->evcon, EVHTTP_CON_READ_ON_WRITE_ERROR);
	TAILQ_INSERT_TAIL(&p->conns, pc, link);
	p->n_active++;
	return pc;

fail_free_evcon:
	evhttp_connection_free(pc->evcon);
fail_free_leader:
	free(pc->leader);
fail_free_pc:
	free(pc);
	return NULL;
}

/* The connection for the next call to LEADER: an idle one, else a new one
 * while under the limit, else the least busy (libevent queues the call). */
static struct proxy_conn *conn_pick(struct leader_proxy *p, const char *leader,
                                    const char *host, uint16_t port)
{
	struct proxy_conn *pc, *best = NULL;

	TAILQ_FOREACH(pc, &p->conns, link) {
		if (pc->retired)
			continue;
		if (strcmp(pc->leader, leader) != 0) {
			/* A new leader: the old one's connections go. */
			retire(pc);
			continue;
		}
		if (best == NULL || pc->inflight < best->inflight)
			best = pc;
	}
	if (best != NULL &&
	    (best->inflight == 0 || p->n_active >= p->max_connections))
		return best;
	pc = conn_new(p, leader, host, port);
	return pc != NULL ? pc : best;
}

/* Copy the client's headers to UP but the hop-by-hop ones and those we
 * set. */
static bool header_forwarded(const char *name)
{
	static const char *const skip[] = {
		"Connection", "Keep-Alive", "Transfer-Encoding",
		"Content-Length", "TE", "Trailer", "Upgrade", "Host",
		"X-Forwarded-For", "X-Marathon-Via",
	};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcasecmp(name, skip[i]) == 0)
			return false;
	return strncasecmp(name, "Proxy-", 6) != 0;
}

/* NAME: OLD, ADD (or ADD alone); false when out of memory. */
static bool header_append(struct evkeyvalq *h, const char *name,
                          const char *old, const char *add)
{
	char *value;
	int rc;

	if (old == NULL || old[0] == '\0')
		return evhttp_add_header(h, name, add) == 0;
	if (asprintf(&value, "%s, %s", old, add) < 0)
		return false;
	rc = evhttp_add_header(h, name, value);
	free(value);
	return rc == 0;
}

static int build_request(struct leader_proxy *p, struct proxy_call *call,
                         struct http_req *req, const char *leader)
{
	const struct evkeyvalq *in = http_req_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(call->up);
	const char *peer = http_req_peer(req);
	const struct evkeyval *kv;
	const char *body;
	size_t len;
	char length[32];
	bool ok = true;

	TAILQ_FOREACH(kv, in, next)
		if (ok && header_forwarded(kv->key))
			ok = evhttp_add_header(out, kv->key, kv->value) == 0;
	ok = ok && evhttp_add_header(out, "Host", leader) == 0;
	ok = ok && header_append(out, "X-Forwarded-For",
	                         evhttp_find_header(in, "X-Forwarded-For"),
	                         peer != NULL ? peer : "unknown");
	ok = ok && header_append(out, "X-Marathon-Via",
	                         evhttp_find_header(in, "X-Marathon-Via"),
	                         p->via);
	body = http_req_body(req, &len);
	/* libevent 2.1 only adds Content-Length to POST and PUT: a PATCH or
	 * DELETE body would be lost. */
	if (ok && (len > 0 || http_req_command(req) == EVHTTP_REQ_POST ||
	           http_req_command(req) == EVHTTP_REQ_PUT ||
	           http_req_command(req) == EVHTTP_REQ_PATCH)) {
		snprintf(length, sizeof(length), "%zu", len);
		ok = evhttp_add_header(out, "Content-Length", length) == 0 &&
		     evbuffer_add(evhttp_request_get_output_buffer(call->up),
		                  body, len) == 0;
	}
	return ok ? 0 : -1;
}

void leader_proxy_forward(struct leader_proxy *p, struct http_req *req,
                          const char *leader)
{
	enum evhttp_cmd_type cmd = http_req_command(req);
	const char *uri = http_req_uri(req);
	const char *via = http_req_header(req, "X-Marathon-Via");
	struct proxy_call *call;
	struct http_req *d;
	char host[256];
	uint16_t port;
	bool connecting;
	int rc;

	if (uri == NULL)
		uri = "/";
	if (via != NULL && via_names_self(p, via)) {
		log_warn("proxy loop: %s %s came back through X-Marathon-Via "
		         "\"%s\"",
		         cmd_name(cmd), uri, via);
		http_reply_message(req, 502,
		                   "proxy loop: %s %s already passed through "
		                   "this node (X-Marathon-Via: %s) on its way "
		                   "to the leader %s; the nodes disagree on who "
		                   "leads, check their ZooKeeper connection",
		                   cmd_name(cmd), uri, via, leader);
		return;
	}
	if (parse_leader(leader, host, sizeof(host), &port) != 0) {
		http_reply_message(req, 503,
		                   "the leader's address \"%s\" is not "
		                   "host:port; cannot forward %s %s, check the "
		                   "leader's --hostname and --http_port",
		                   leader, cmd_name(cmd), uri);
		return;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL)
		goto fail_nomem;
	call->p = p;
	snprintf(call->leader, sizeof(call->leader), "%s", leader);
	snprintf(call->what, sizeof(call->what), "%s %s", cmd_name(cmd), uri);
	call->up = evhttp_request_new(call_done_cb, call);
	if (call->up == NULL)
		goto fail_free_call;
	evhttp_request_set_error_cb(call->up, call_error_cb);
	if (build_request(p, call, req, leader) != 0)
		goto fail_free_up;
	if ((d = http_req_defer(req)) == NULL)
		goto fail_free_up;
	call->req = d;
	http_req_on_drop(d, call_drop_cb, call);
	call->pc = conn_pick(p, leader, host, port);
	if (call->pc == NULL) {
		/* REQ is deferred: the reply goes to the copy from now on. */
		evhttp_request_free(call->up);
		http_req_on_drop(d, NULL, NULL);
		http_reply_message(d, 503,
		                   "out of memory forwarding %s to the leader "
		                   "%s",
		                   call->what, leader);
		free(call);
		return;
	}
	TAILQ_INSERT_TAIL(&p->calls, call, link);
	call->pc->inflight++;
	connecting = call->pc->inflight == 1 && !conn_established(call->pc);
	call->sending = true;
	/* UP is libevent's from here on, even when this fails. */
	rc = evhttp_make_request(call->pc->evcon, call->up, cmd, uri);
	call->sending = false;
	if (rc != 0 || call->finished_while_sending) {
		if (rc != 0 && !call->failed) {
			call->failed = true;
			call->error = EVREQ_HTTP_EOF;
			call->sys_errno = errno;
		}
		call->up = NULL;
		call_finish(call, NULL);
		return;
	}
	if (connecting) {
		/* libevent times the connect with its single timeout too:
		 * keep it from striking before ours. */
		struct timeval tv = ms_tv(p->connect_ms);
		struct timeval backstop = ms_tv(p->connect_ms + p->read_ms);
		struct bufferevent *bev =
			evhttp_connection_get_bufferevent(call->pc->evcon);

		if (bev != NULL)
			bufferevent_set_timeouts(bev, &backstop, &backstop);
		evtimer_add(call->pc->connect_timer, &tv);
	}
	return;

fail_free_up:
	evhttp_request_free(call->up);
fail_free_call:
	free(call);
fail_nomem:
	http_reply_message(req, 503,
	                   "out of memory forwarding %s %s to the leader %s",
	                   cmd_name(cmd), uri, leader);
}

void leader_proxy_redirect(struct http_req *req, const char *leader)
{
	const char *uri = http_req_uri(req);
	char *location;

	if (asprintf(&location, "http://%s%s", leader,
	             uri != NULL ? uri : "/") < 0) {
		http_reply_message(req, 503,
		                   "out of memory redirecting to the leader %s",
		                   leader);
		return;
	}
	http_reply_header(req, "Location", location);
	free(location);
	http_reply_raw(req, 307, NULL, NULL, 0);
}

struct leader_proxy *leader_proxy_new(const struct leader_proxy_config *cfg)
{
	struct leader_proxy *p;

	if (cfg->base == NULL || cfg->self_id == NULL ||
	    cfg->connect_timeout_ms <= 0 || cfg->read_timeout_ms <= 0 ||
	    cfg->max_connections == 0)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = cfg->base;
	p->connect_ms = cfg->connect_timeout_ms;
	p->read_ms = cfg->read_timeout_ms;
	p->max_connections = cfg->max_connections;
	TAILQ_INIT(&p->conns);
	TAILQ_INIT(&p->calls);
	if (asprintf(&p->via, "1.1 %s", cfg->self_id) < 0) {
		p->via = NULL;
		goto fail_free_p;
	}
	p->sweep = event_new(p->base, -1, 0, sweep_cb, p);
	if (p->sweep == NULL)
		goto fail_free_via;
	/* Leader ids are host names: resolve them off the loop.  Without
	 * resolv.conf, evdns still reads /etc/hosts; failing that, libevent
	 * resolves (blocking) itself. */
	p->dns = evdns_base_new(p->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (p->dns == NULL)
		log_warn("leader proxy: no asynchronous DNS; the leader's host "
		         "name is resolved on the event loop");
	return p;

fail_free_via:
	free(p->via);
fail_free_p:
	free(p);
	return NULL;
}

void leader_proxy_free(struct leader_proxy *p)
{
	struct proxy_conn *pc;

	if (p == NULL)
		return;
	while ((pc = TAILQ_FIRST(&p->conns)) != NULL)
		conn_fail(pc, "this node is shutting down");
	if (p->dns != NULL)
		evdns_base_free(p->dns, 1);
	event_free(p->sweep);
	free(p->via);
	free(p);
}
