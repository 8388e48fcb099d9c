/*
 * test_leader_proxy: a standby answering through the leader
 * (core/leader/leader_proxy.c with the intercept hook of
 * core/http/http_server.c).  Two real http_servers on loopback in one loop:
 * a "leader" with test routes (echo, slow, never answering, large body)
 * and a "standby" whose hook forwards everything to it, driven by
 * libevent's client.  AddressSanitizer checks the clients that go away and
 * the proxy or server freed with calls in flight.
 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "http/http_server.h"
#include "leader/leader_proxy.h"
#include "lib/cu_run.h"
#include "lib/loopback.h"
#include "lib/testnet.h"

#define SELF_ID "standby.test:1"
#define BIG_BYTES (3u << 20)

struct leader {
	struct http_server *server;
	uint16_t port;
	char id[64];              /* "127.0.0.1:port" */
	char url[80];             /* for X-Marathon-Leader */
	const char *name;         /* X-Test on its answers */
	int handled;              /* requests its handlers saw */
	int busy, max_busy;       /* slow requests at once */
	struct http_req *never;   /* the one never answered */
};

struct fixture {
	struct event_base *base;
	struct leader a, b;
	struct leader *current;   /* where the standby forwards */
	const char *leader_id;    /* its id, unless overridden */
	struct http_server *standby;
	uint16_t standby_port;
	struct leader_proxy *proxy;
	int standby_local;        /* requests the standby served itself */
};

static struct fixture fx;

/* --- the leader's routes ------------------------------------------------ */

static struct leader *leader_of(struct http_req *req)
{
	return req->app;
}

static void l_echo(struct http_req *req)
{
	struct json_object *o = json_object_new_object();
	struct json_object *h = json_object_new_object();
	const struct evkeyvalq *in = http_req_headers(req);
	const struct evkeyval *kv;
	const char *status = http_req_query(req, "status");
	const char *body;
	size_t len;

	leader_of(req)->handled++;
	TAILQ_FOREACH(kv, in, next)
		json_object_object_add(h, kv->key,
		                       json_object_new_string(kv->value));
	body = http_req_body(req, &len);
	json_object_object_add(o, "method",
	                       json_object_new_string(
				       http_method_name(req->method)));
	json_object_object_add(o, "uri",
	                       json_object_new_string(http_req_uri(req)));
	json_object_object_add(o, "body",
	                       json_object_new_string_len(body, (int)len));
	json_object_object_add(o, "headers", h);
	http_reply_header(req, "X-Test", leader_of(req)->name);
	http_reply_json(req, status != NULL ? atoi(status) : 200, o);
}

struct late {
	struct http_req *req;
	struct leader *l;
};

static void late_reply(evutil_socket_t fd, short what, void *arg)
{
	struct late *late = arg;

	(void)fd;
	(void)what;
	late->l->busy--;
	http_reply_header(late->req, "X-Test", late->l->name);
	http_reply_raw(late->req, 200, "text/plain",
	               http_req_query(late->req, "n") != NULL
	                       ? http_req_query(late->req, "n")
	                       : "late",
	               http_req_query(late->req, "n") != NULL
	                       ? strlen(http_req_query(late->req, "n"))
	                       : 4);
	free(late);
}

/* Defer and answer after ?delay= ms with ?n= as the body. */
static void l_slow(struct http_req *req)
{
	struct late *late = calloc(1, sizeof(*late));
	const char *delay = http_req_query(req, "delay");
	int ms = delay != NULL ? atoi(delay) : 50;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct leader *l = leader_of(req);

	l->handled++;
	if (late == NULL || (late->req = http_req_defer(req)) == NULL) {
		free(late);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	late->l = l;
	if (++l->busy > l->max_busy)
		l->max_busy = l->busy;
	event_base_once(fx.base, -1, EV_TIMEOUT, late_reply, late, &tv);
}

static void never_dropped(void *arg)
{
	((struct leader *)arg)->never = NULL;
}

/* Defer and never answer (the server frees the copy at the end). */
static void l_never(struct http_req *req)
{
	struct leader *l = leader_of(req);

	l->handled++;
	if ((l->never = http_req_defer(req)) == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_req_on_drop(l->never, never_dropped, l);
}

static void l_big(struct http_req *req)
{
	char *big = malloc(BIG_BYTES);

	leader_of(req)->handled++;
	if (big == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < BIG_BYTES; i++)
		big[i] = (char)('a' + i % 26);
	http_reply_raw(req, 200, "application/octet-stream", big, BIG_BYTES);
	free(big);
}

static void l_ping(struct http_req *req)
{
	leader_of(req)->handled++;
	http_reply_raw(req, 200, "text/plain", "leader pong", 11);
}

#define ALL (HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE | \
             HTTP_HEAD | HTTP_OPTIONS)

static const struct http_route leader_routes[] = {
	{.methods = ALL, .pattern = "/echo/{x*}", .handler = l_echo},
	{.methods = HTTP_GET, .pattern = "/slow", .handler = l_slow},
	{.methods = HTTP_GET, .pattern = "/never", .handler = l_never},
	{.methods = HTTP_GET, .pattern = "/big", .handler = l_big},
	{.methods = HTTP_GET, .pattern = "/ping", .handler = l_ping,
	 .flags = HTTP_ROUTE_ANY_NODE},
};

static const char *leader_url(void *app)
{
	return ((struct leader *)app)->url;
}

/* --- the standby -------------------------------------------------------- */

static void s_ping(struct http_req *req)
{
	fx.standby_local++;
	http_reply_raw(req, 200, "text/plain", "standby pong", 12);
}

static void s_local(struct http_req *req)
{
	fx.standby_local++;
	http_reply_message(req, 200, "served by the standby");
}

static const struct http_route standby_routes[] = {
	{.methods = HTTP_GET, .pattern = "/ping", .handler = s_ping,
	 .flags = HTTP_ROUTE_ANY_NODE},
	{.methods = HTTP_GET | HTTP_POST, .pattern = "/v2/apps",
	 .handler = s_local},
	{.methods = HTTP_GET, .pattern = "/v2/events", .handler = s_local},
};

static bool standby_intercept(void *app, struct http_req *req)
{
	(void)app;
	if (strcmp(req->path, "/v2/events") == 0)
		leader_proxy_redirect(req, fx.leader_id);
	else
		leader_proxy_forward(fx.proxy, req, fx.leader_id);
	return true;
}

/* --- set-up --------------------------------------------------------------- */

static int server_up(struct http_server_conf *conf, struct http_server **s_r,
                     uint16_t *port_r)
{
	char err[256] = "";

	for (int tries = 0; tries < 20; tries++) {
		conf->port = *port_r = testnet_free_port();
		if (*port_r != 0 &&
		    http_server_new(fx.base, conf, s_r, err, sizeof(err)) == 0)
			return 0;
	}
	fprintf(stderr, "\ncannot start a server: %s\n", err);
	return -1;
}

static int leader_up(struct leader *l, const char *name)
{
	struct http_server_conf conf = {
		.address = "127.0.0.1",
		.max_body_bytes = 8u << 20,
		.routes = leader_routes,
		.n_routes = sizeof(leader_routes) / sizeof(leader_routes[0]),
		.app = l,
		.leader_url = leader_url,
	};

	l->name = name;
	if (server_up(&conf, &l->server, &l->port) != 0)
		return -1;
	snprintf(l->id, sizeof(l->id), "127.0.0.1:%u", (unsigned)l->port);
	snprintf(l->url, sizeof(l->url), "http://%s", l->id);
	return 0;
}

static int fixture_up_with(int64_t connect_ms, int64_t read_ms,
                           unsigned max_connections)
{
	struct http_server_conf conf = {
		.address = "127.0.0.1",
		.max_body_bytes = 8u << 20,
		.routes = standby_routes,
		.n_routes = sizeof(standby_routes) / sizeof(standby_routes[0]),
		.intercept = standby_intercept,
	};
	struct leader_proxy_config pc = {
		.connect_timeout_ms = connect_ms,
		.read_timeout_ms = read_ms,
		.max_connections = max_connections,
		.self_id = SELF_ID,
	};

	memset(&fx, 0, sizeof(fx));
	if ((fx.base = event_base_new()) == NULL)
		return -1;
	pc.base = fx.base;
	if ((fx.proxy = leader_proxy_new(&pc)) == NULL ||
	    leader_up(&fx.a, "leader-a") != 0 ||
	    leader_up(&fx.b, "leader-b") != 0 ||
	    server_up(&conf, &fx.standby, &fx.standby_port) != 0)
		return -1;
	fx.current = &fx.a;
	fx.leader_id = fx.a.id;
	return 0;
}

static int fixture_up(void)
{
	return fixture_up_with(2000, 5000, 4);
}

static void fixture_down(void)
{
	leader_proxy_free(fx.proxy);
	http_server_free(fx.standby);
	http_server_free(fx.a.server);
	http_server_free(fx.b.server);
	if (fx.base != NULL)
		event_base_free(fx.base);
	memset(&fx, 0, sizeof(fx));
}

static bool run_until_fn(bool (*done)(const void *), const void *arg)
{
	return loop_run_until(fx.base, done, arg, LOOP_STEPS);
}

static void run_steps(int n)
{
	loop_run_steps(fx.base, n);
}

/* --- the client ------------------------------------------------------- */

struct exchange {
	bool done;
	int status;
	char *body;               /* owned, NUL-terminated */
	size_t body_len;
	struct evkeyvalq headers; /* copies of the answer's */
};

static void exchange_done(struct evhttp_request *ev, void *arg)
{
	struct exchange *x = arg;
	struct evbuffer *in;
	const struct evkeyval *kv;

	x->done = true;
	if (ev == NULL)
		return;
	x->status = evhttp_request_get_response_code(ev);
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(ev), next)
		evhttp_add_header(&x->headers, kv->key, kv->value);
	in = evhttp_request_get_input_buffer(ev);
	x->body_len = evbuffer_get_length(in);
	if ((x->body = malloc(x->body_len + 1)) != NULL) {
		evbuffer_remove(in, x->body, x->body_len);
		x->body[x->body_len] = '\0';
	}
}

static bool exchange_is_done(const void *arg)
{
	return ((const struct exchange *)arg)->done;
}

static void exchange_init(struct exchange *x)
{
	memset(x, 0, sizeof(*x));
	TAILQ_INIT(&x->headers);
}

static void exchange_clear(struct exchange *x)
{
	evhttp_clear_headers(&x->headers);
	free(x->body);
	exchange_init(x);
}

static const char *answer_header(struct exchange *x, const char *name)
{
	return evhttp_find_header(&x->headers, name);
}

static struct evhttp_connection *client_conn(void)
{
	return evhttp_connection_base_new(fx.base, NULL, "127.0.0.1",
	                                  fx.standby_port);
}

/* Send METHOD URI with BODY (NULL: none) and header pairs HDRS (NULL
 * terminated) to the standby on CONN; X is answered later. */
static int client_send(struct evhttp_connection *conn, enum evhttp_cmd_type cmd,
                       const char *uri, const char *body,
                       const char *const *hdrs, struct exchange *x)
{
	struct evhttp_request *ev = evhttp_request_new(exchange_done, x);
	struct evkeyvalq *out;

	if (ev == NULL)
		return -1;
	out = evhttp_request_get_output_headers(ev);
	evhttp_add_header(out, "Host", "standby");
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2)
		evhttp_add_header(out, hdrs[i], hdrs[i + 1]);
	if (body != NULL) {
		char len[32];

		snprintf(len, sizeof(len), "%zu", strlen(body));
		evhttp_add_header(out, "Content-Length", len);
		evbuffer_add(evhttp_request_get_output_buffer(ev), body,
		             strlen(body));
	}
	return evhttp_make_request(conn, ev, cmd, uri);
}

/* One exchange on a fresh connection; false when there was no answer. */
static bool call(enum evhttp_cmd_type cmd, const char *uri, const char *body,
                 const char *const *hdrs, struct exchange *x)
{
	struct evhttp_connection *conn = client_conn();
	bool ok;

	exchange_init(x);
	ok = CHECK(conn != NULL) &&
	     CHECK(client_send(conn, cmd, uri, body, hdrs, x) == 0) &&
	     CHECK(run_until_fn(exchange_is_done, x)) &&
	     CHECK(x->status != 0);
	if (conn != NULL)
		evhttp_connection_free(conn);
	return ok;
}

/* The echo's JSON answer: member NAME of "headers" when HEADER, of the
 * top level otherwise. */
static const char *echo_field(struct json_object *o, const char *name,
                              bool header)
{
	struct json_object *v;

	if (o == NULL)
		return NULL;
	if (header && !json_object_object_get_ex(o, "headers", &o))
		return NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	return json_object_get_string(v);
}

/* --- tests ---------------------------------------------------------------- */

static void test_pass_through(void)
{
	static const char *const hdrs[] = {
		"X-Custom", "v1", "Accept", "application/json",
		"Keep-Alive", "timeout=5", "Proxy-Authorization", "secret",
		NULL,
	};
	static const char body[] = "{\"id\":\"/web\",\"cmd\":\"sleep 1\"}";
	struct exchange x;
	struct json_object *o = NULL;

	if (!CHECK(fixture_up() == 0))
		goto out;
	if (!call(EVHTTP_REQ_POST, "/echo/a%20b/c?force=true&x=%2F&status=201",
	          body, hdrs, &x))
		goto out_x;
	/* The leader's status, headers and body come back. */
	CHECK_INT(x.status, 201);
	CHECK_STR(answer_header(&x, "X-Test"), "leader-a");
	CHECK_STR(answer_header(&x, "X-Marathon-Leader"), fx.a.url);
	CHECK_STR(answer_header(&x, "Content-Type"),
	          "application/json; charset=utf-8");
	o = json_tokener_parse(x.body);
	CHECK_STR(echo_field(o, "method", false), "POST");
	CHECK_STR(echo_field(o, "uri", false),
	          "/echo/a%20b/c?force=true&x=%2F&status=201");
	CHECK_STR(echo_field(o, "body", false), body);
	CHECK_STR(echo_field(o, "X-Custom", true), "v1");
	CHECK_STR(echo_field(o, "Accept", true), "application/json");
	CHECK_STR(echo_field(o, "Host", true), fx.a.id);
	CHECK_STR(echo_field(o, "X-Forwarded-For", true), "127.0.0.1");
	CHECK_STR(echo_field(o, "X-Marathon-Via", true), "1.1 " SELF_ID);
	/* Hop-by-hop headers stay on their hop. */
	CHECK(echo_field(o, "Keep-Alive", true) == NULL);
	CHECK(echo_field(o, "Proxy-Authorization", true) == NULL);
	CHECK_INT(fx.a.handled, 1);
	CHECK_INT(fx.standby_local, 0);
	json_object_put(o);
out_x:
	exchange_clear(&x);
out:
	fixture_down();
}

/* Every method, and bodies where libevent's client would drop them. */
static void test_methods(void)
{
	static const struct {
		enum evhttp_cmd_type cmd;
		const char *name, *body;
	} cases[] = {
		{EVHTTP_REQ_GET, "GET", NULL},
		{EVHTTP_REQ_PUT, "PUT", "[{\"id\":\"a\"}]"},
		{EVHTTP_REQ_PATCH, "PATCH", "{\"instances\":2}"},
		{EVHTTP_REQ_DELETE, "DELETE", "{\"ids\":[\"t\"]}"},
		{EVHTTP_REQ_OPTIONS, "OPTIONS", NULL},
	};
	struct exchange x;

	if (!CHECK(fixture_up() == 0))
		goto out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o;

		if (!call(cases[i].cmd, "/echo/m?q=1", cases[i].body, NULL,
		          &x)) {
			exchange_clear(&x);
			continue;
		}
		CHECK_INT(x.status, 200);
		o = json_tokener_parse(x.body);
		CHECK_STR(echo_field(o, "method", false), cases[i].name);
		CHECK_STR(echo_field(o, "body", false),
		          cases[i].body != NULL ? cases[i].body : "");
		json_object_put(o);
		exchange_clear(&x);
	}
	/* HEAD: the leader's status and length, no body. */
	if (call(EVHTTP_REQ_HEAD, "/echo/h", NULL, NULL, &x)) {
		CHECK_INT(x.status, 200);
		CHECK_INT(x.body_len, 0);
		CHECK(answer_header(&x, "Content-Length") != NULL &&
		      atoi(answer_header(&x, "Content-Length")) > 10);
		CHECK_STR(answer_header(&x, "X-Test"), "leader-a");
	}
	exchange_clear(&x);
out:
	fixture_down();
}

/* X-Forwarded-For and X-Marathon-Via from an earlier hop are kept. */
static void test_headers_appended(void)
{
	static const char *const hdrs[] = {
		"X-Forwarded-For", "10.0.0.1",
		"X-Marathon-Via", "1.1 other.test:8080",
		NULL,
	};
	struct exchange x;
	struct json_object *o;

	if (!CHECK(fixture_up() == 0))
		goto out;
	if (call(EVHTTP_REQ_GET, "/echo/x", NULL, hdrs, &x)) {
		o = json_tokener_parse(x.body);
		CHECK_STR(echo_field(o, "X-Forwarded-For", true),
		          "10.0.0.1, 127.0.0.1");
		CHECK_STR(echo_field(o, "X-Marathon-Via", true),
		          "1.1 other.test:8080, 1.1 " SELF_ID);
		json_object_put(o);
	}
	exchange_clear(&x);
out:
	fixture_down();
}

/* ANY_NODE routes are the standby's own; every other path goes to the
 * leader, routed here or not. */
static void test_routing(void)
{
	struct exchange x;

	if (!CHECK(fixture_up() == 0))
		goto out;
	if (call(EVHTTP_REQ_GET, "/ping", NULL, NULL, &x)) {
		CHECK_INT(x.status, 200);
		CHECK_STR(x.body, "standby pong");
		CHECK_INT(fx.standby_local, 1);
		CHECK_INT(fx.a.handled, 0);
	}
	exchange_clear(&x);
	/* Routed on the standby, but not ANY_NODE: the leader's 404. */
	if (call(EVHTTP_REQ_POST, "/v2/apps", "{}", NULL, &x)) {
		CHECK_INT(x.status, 404);
		CHECK_STR(x.body, "{\"message\":\"URI /v2/apps not found\"}");
		CHECK_STR(answer_header(&x, "X-Marathon-Leader"), fx.a.url);
		CHECK_INT(fx.standby_local, 1);
	}
	exchange_clear(&x);
	/* Routed nowhere on the standby, known to the leader. */
	if (call(EVHTTP_REQ_GET, "/big", NULL, NULL, &x)) {
		CHECK_INT(x.status, 200);
		CHECK_INT(x.body_len, BIG_BYTES);
		CHECK(x.body != NULL && x.body[0] == 'a' &&
		      x.body[BIG_BYTES - 1] ==
		              (char)('a' + (BIG_BYTES - 1) % 26));
		CHECK_INT(fx.a.handled, 1);
	}
	exchange_clear(&x);
	/* A method the standby's route lacks: the leader's 405. */
	if (call(EVHTTP_REQ_DELETE, "/ping", NULL, NULL, &x)) {
		CHECK_INT(x.status, 405);
		CHECK_STR(answer_header(&x, "X-Marathon-Leader"), fx.a.url);
		CHECK_CONTAINS(answer_header(&x, "Allow"), "GET");
	}
	exchange_clear(&x);
	/* The event stream is redirected, not proxied. */
	if (call(EVHTTP_REQ_GET, "/v2/events?event_type=x", NULL, NULL, &x)) {
		char want[128];

		snprintf(want, sizeof(want), "http://%s/v2/events?event_type=x",
		         fx.a.id);
		CHECK_INT(x.status, 307);
		CHECK_STR(answer_header(&x, "Location"), want);
		CHECK_INT(fx.standby_local, 1);
	}
	exchange_clear(&x);
out:
	fixture_down();
}

static void test_loop(void)
{
	static const char *const hdrs[] = {
		"X-Marathon-Via", "1.1 a.test:1,1.1 " SELF_ID, NULL,
	};
	struct exchange x;

	if (!CHECK(fixture_up() == 0))
		goto out;
	if (call(EVHTTP_REQ_GET, "/echo/loop", NULL, hdrs, &x)) {
		CHECK_INT(x.status, 502);
		CHECK_CONTAINS(x.body, "proxy loop");
		CHECK_CONTAINS(x.body, fx.a.id);
		CHECK_INT(fx.a.handled, 0);
	}
	exchange_clear(&x);
out:
	fixture_down();
}

static void test_leader_down(void)
{
	struct exchange x;
	char closed[64];

	if (!CHECK(fixture_up() == 0))
		goto out;
	snprintf(closed, sizeof(closed), "127.0.0.1:%u",
	         (unsigned)testnet_free_port());
	fx.leader_id = closed;
	if (call(EVHTTP_REQ_POST, "/v2/apps", "{}", NULL, &x)) {
		CHECK_INT(x.status, 503);
		CHECK_CONTAINS(x.body, closed);
		CHECK_CONTAINS(x.body, "POST /v2/apps");
		CHECK_CONTAINS(x.body, "Connection refused");
		CHECK_STR(answer_header(&x, "Content-Type"),
		          "application/json; charset=utf-8");
	}
	exchange_clear(&x);
	/* Still refused the second time, on the same pooled connection. */
	if (call(EVHTTP_REQ_GET, "/v2/apps", NULL, NULL, &x))
		CHECK_INT(x.status, 503);
	exchange_clear(&x);
out:
	fixture_down();
}

static void test_read_timeout(void)
{
	struct exchange x;

	if (!CHECK(fixture_up_with(2000, 300, 4) == 0))
		goto out;
	if (call(EVHTTP_REQ_GET, "/never", NULL, NULL, &x)) {
		CHECK_INT(x.status, 503);
		CHECK_CONTAINS(x.body, "no answer within 300 ms");
		CHECK_CONTAINS(x.body, fx.a.id);
		CHECK_CONTAINS(x.body, "GET /never");
		CHECK_INT(fx.a.handled, 1);
	}
	exchange_clear(&x);
	/* A slow answer inside the timeout passes. */
	if (call(EVHTTP_REQ_GET, "/slow?delay=100&n=slow", NULL, NULL, &x)) {
		CHECK_INT(x.status, 200);
		CHECK_STR(x.body, "slow");
	}
	exchange_clear(&x);
out:
	fixture_down();
}

/* A leader whose accept queue is full never completes the handshake. */
static void test_connect_timeout(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int lfd = -1, fill[4] = {-1, -1, -1, -1};
	uint16_t port = 0;
	char id[64];
	struct exchange x;

	exchange_init(&x);
	if (!CHECK(fixture_up_with(200, 5000, 4) == 0))
		goto out;
	lfd = loopback_listen(0, &port);
	if (!CHECK(lfd >= 0))
		goto out;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fill[i] >= 0)
			(void)connect(fill[i], (struct sockaddr *)&sa,
			              sizeof(sa));
	}
	snprintf(id, sizeof(id), "127.0.0.1:%u", (unsigned)port);
	fx.leader_id = id;
	if (call(EVHTTP_REQ_GET, "/v2/apps", NULL, NULL, &x)) {
		CHECK_INT(x.status, 503);
		CHECK_CONTAINS(x.body, "no connection within 200 ms");
		CHECK_CONTAINS(x.body, id);
	}
out:
	exchange_clear(&x);
	for (int i = 0; i < 4; i++)
		if (fill[i] >= 0)
			close(fill[i]);
	if (lfd >= 0)
		close(lfd);
	fixture_down();
}

struct fake_leader {
	int lfd, fd;
};

static bool fake_accepted(const void *arg)
{
	struct fake_leader *f = (struct fake_leader *)arg;

	if (f->fd < 0)
		f->fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK);
	return f->fd >= 0;
}

/* A "leader" that answers garbage, and one that resets the connection:
 * 503 either way, with what went wrong. */
static void test_leader_garbage(void)
{
	static const struct {
		const char *answer; /* NULL: reset */
		const char *cause;
	} cases[] = {
		{"HTTP/1.1 banana\r\nX: y\r\n\r\n", "malformed answer"},
		{NULL, "reset"},
	};
	struct fake_leader f = {.lfd = -1, .fd = -1};
	uint16_t port = 0;
	char id[64];

	if (!CHECK(fixture_up() == 0))
		goto out;
	f.lfd = loopback_listen(8, &port);
	if (!CHECK(f.lfd >= 0))
		goto out;
	snprintf(id, sizeof(id), "127.0.0.1:%u", (unsigned)port);
	fx.leader_id = id;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct evhttp_connection *conn = client_conn();
		struct exchange x;

		exchange_init(&x);
		if (CHECK(conn != NULL) &&
		    CHECK(client_send(conn, EVHTTP_REQ_GET, "/v2/apps", NULL,
		                      NULL, &x) == 0) &&
		    CHECK(run_until_fn(fake_accepted, &f))) {
			/* Let the request arrive before the answer. */
			run_steps(5);
			if (cases[i].answer != NULL) {
				CHECK(write(f.fd, cases[i].answer,
				            strlen(cases[i].answer)) > 0);
			} else {
				struct linger lg = {.l_onoff = 1,
				                    .l_linger = 0};

				setsockopt(f.fd, SOL_SOCKET, SO_LINGER, &lg,
				           sizeof(lg));
			}
			close(f.fd);
			f.fd = -1;
			if (CHECK(run_until_fn(exchange_is_done, &x))) {
				CHECK_INT(x.status, 503);
				CHECK_CONTAINS(x.body, id);
				CHECK_CONTAINS(x.body, cases[i].cause);
			}
		}
		if (conn != NULL)
			evhttp_connection_free(conn);
		exchange_clear(&x);
	}
out:
	if (f.fd >= 0)
		close(f.fd);
	if (f.lfd >= 0)
		close(f.lfd);
	fixture_down();
}

static bool a_handled(const void *arg)
{
	return fx.a.handled >= *(const int *)arg;
}

static bool a_idle(const void *arg)
{
	(void)arg;
	return fx.a.busy == 0;
}

/* Clients that go away while their call is with the leader. */
static void test_client_gone(void)
{
	struct exchange x;
	int fd, n = 1;

	exchange_init(&x);
	if (!CHECK(fixture_up() == 0))
		goto out;
	fd = loopback_send_raw(fx.standby_port,
	                       "GET /slow?delay=100 HTTP/1.1\r\n"
	                       "Host: s\r\n\r\n");
	if (!CHECK(fd >= 0))
		goto out;
	CHECK(run_until_fn(a_handled, &n));
	close(fd);
	/* The leader answers after the client left. */
	CHECK(run_until_fn(a_idle, NULL));
	run_steps(10);
	/* And the proxy goes on. */
	if (call(EVHTTP_REQ_GET, "/slow?delay=1&n=after", NULL, NULL, &x)) {
		CHECK_INT(x.status, 200);
		CHECK_STR(x.body, "after");
	}
out:
	exchange_clear(&x);
	fixture_down();
}

/* Send GET URI to the standby on a new connection (*CONN_R, the
 * caller frees it) and wait until the leader has it. */
static bool call_at_leader(const char *uri, struct evhttp_connection **conn_r,
                           struct exchange *x)
{
	int n = fx.a.handled + 1;

	*conn_r = client_conn();
	return *conn_r != NULL &&
	       client_send(*conn_r, EVHTTP_REQ_GET, uri, NULL, NULL, x) == 0 &&
	       run_until_fn(a_handled, &n);
}

/* The standby's server goes first, with a call at the leader: the proxy
 * must forget the request; the leader's late answer goes nowhere. */
static void test_server_freed_first(void)
{
	struct evhttp_connection *conn = NULL;
	struct exchange x;

	exchange_init(&x);
	if (!CHECK(fixture_up() == 0) ||
	    !CHECK(call_at_leader("/slow?delay=100", &conn, &x)))
		goto out;
	http_server_free(fx.standby);
	fx.standby = NULL;
	CHECK(run_until_fn(a_idle, NULL));
	run_steps(10);
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	exchange_clear(&x);
	fixture_down();
}

/* The proxy goes first: its calls are answered 503. */
static void test_proxy_freed_first(void)
{
	struct evhttp_connection *conn = NULL;
	struct exchange x;

	exchange_init(&x);
	if (!CHECK(fixture_up() == 0) ||
	    !CHECK(call_at_leader("/never", &conn, &x)))
		goto out;
	leader_proxy_free(fx.proxy);
	fx.proxy = NULL;
	if (CHECK(run_until_fn(exchange_is_done, &x))) {
		CHECK_INT(x.status, 503);
		CHECK_CONTAINS(x.body, "shutting down");
	}
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	exchange_clear(&x);
	fixture_down();
}

#define N_CONCURRENT 40

static bool all_done(const void *arg)
{
	const struct exchange *x = arg;

	for (int i = 0; i < N_CONCURRENT; i++)
		if (!x[i].done)
			return false;
	return true;
}

/* Many clients at once over at most 3 connections to the leader. */
static void test_concurrent(void)
{
	struct evhttp_connection *conns[N_CONCURRENT] = {0};
	struct exchange x[N_CONCURRENT];

	for (int i = 0; i < N_CONCURRENT; i++)
		exchange_init(&x[i]);
	if (!CHECK(fixture_up_with(2000, 5000, 3) == 0))
		goto out;
	for (int i = 0; i < N_CONCURRENT; i++) {
		char uri[64];

		snprintf(uri, sizeof(uri), "/slow?delay=10&n=%d", i);
		conns[i] = client_conn();
		if (!CHECK(conns[i] != NULL) ||
		    !CHECK(client_send(conns[i], EVHTTP_REQ_GET, uri, NULL,
		                       NULL, &x[i]) == 0))
			goto out;
	}
	CHECK(run_until_fn(all_done, x));
	for (int i = 0; i < N_CONCURRENT; i++) {
		char want[16];

		snprintf(want, sizeof(want), "%d", i);
		CHECK_INT(x[i].status, 200);
		CHECK_STR(x[i].body, want);
	}
	CHECK_INT(fx.a.handled, N_CONCURRENT);
	/* Never more at the leader at once than connections, and more than
	 * one connection used. */
	CHECK(fx.a.max_busy <= 3);
	CHECK(fx.a.max_busy >= 2);
out:
	for (int i = 0; i < N_CONCURRENT; i++) {
		if (conns[i] != NULL)
			evhttp_connection_free(conns[i]);
		exchange_clear(&x[i]);
	}
	fixture_down();
}

/* A request body near the limit, and the new leader after a change. */
static void test_large_body_and_leader_change(void)
{
	size_t n = 2u << 20;
	char *body = malloc(n + 1);
	char by_name[64];
	struct exchange x;
	struct json_object *o;

	exchange_init(&x);
	if (!CHECK(body != NULL) || !CHECK(fixture_up() == 0))
		goto out;
	for (size_t i = 0; i < n; i++)
		body[i] = (char)('0' + i % 10);
	body[n] = '\0';
	if (call(EVHTTP_REQ_PUT, "/echo/big", body, NULL, &x)) {
		CHECK_INT(x.status, 200);
		o = json_tokener_parse(x.body);
		CHECK(echo_field(o, "body", false) != NULL &&
		      strcmp(echo_field(o, "body", false), body) == 0);
		json_object_put(o);
	}
	exchange_clear(&x);
	/* By name: resolved without blocking the loop. */
	snprintf(by_name, sizeof(by_name), "localhost:%u",
	         (unsigned)fx.b.port);
	fx.leader_id = by_name;
	if (call(EVHTTP_REQ_GET, "/echo/b", NULL, NULL, &x)) {
		CHECK_INT(x.status, 200);
		CHECK_STR(answer_header(&x, "X-Test"), "leader-b");
		CHECK_STR(answer_header(&x, "X-Marathon-Leader"), fx.b.url);
	}
	exchange_clear(&x);
	CHECK_INT(fx.a.handled, 1);
	CHECK_INT(fx.b.handled, 1);
out:
	free(body);
	exchange_clear(&x);
	fixture_down();
}

static CU_TestInfo proxy_tests[] = {
	{"method, target, headers and body pass through", test_pass_through},
	{"every method; bodies of PATCH and DELETE; HEAD", test_methods},
	{"X-Forwarded-For and X-Marathon-Via appended", test_headers_appended},
	{"ANY_NODE local, everything else to the leader", test_routing},
	{"proxy loop is 502", test_loop},
	{"leader refusing connections is 503", test_leader_down},
	{"leader not answering is 503 after the read timeout",
	 test_read_timeout},
	{"leader not accepting is 503 after the connect timeout",
	 test_connect_timeout},
	{"leader answering garbage or resetting is 503", test_leader_garbage},
	{"client gone while proxied", test_client_gone},
	{"standby server freed with a call in flight",
	 test_server_freed_first},
	{"proxy freed with a call in flight", test_proxy_freed_first},
	{"many concurrent calls on few connections", test_concurrent},
	{"large bodies; leader change", test_large_body_and_leader_change},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"leader proxy", NULL, NULL, NULL, NULL, proxy_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return cu_run(suites);
}
