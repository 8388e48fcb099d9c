/*
 * test_http_defer: deferred replies of the API server (http_req_defer() in
 * core/http/http_server.c), on a real evhttp server on loopback driven by a
 * libevent client in the same loop: a reply sent from a later loop callback,
 * a deferred request answered before its handler returned, a client that
 * closes its connection before the reply, keep-alive connections that go on
 * after a deferred reply, and a server freed with replies still pending.
 * AddressSanitizer does the rest: no use after free, no leak.
 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http/http_server.h"
#include "lib/cu_run.h"
#include "lib/loopback.h"
#include "lib/testnet.h"

/* How many loop turns a test waits for something before it gives up
 * (each blocks at most LOOP_STEP_MS): a bound, not a timing assertion. */
#define WAIT_STEPS 500

struct fixture {
	struct event_base *base;
	struct http_server *server;
	uint16_t port;
	/* What the handlers saw and kept. */
	struct http_req *held;   /* the deferred copy waiting for a reply */
	int handled;
};

static struct fixture fx;

/* Defer and keep the copy for the test to answer. */
static void h_later(struct http_req *req)
{
	size_t len;

	fx.handled++;
	/* A handler reads the body before it defers (api_apps does):
	 * twice, and the copy must not see the NUL added for parsers. */
	if (http_req_query(req, "read") != NULL) {
		http_req_body(req, &len);
		http_req_body(req, &len);
	}
	fx.held = http_req_defer(req);
	if (fx.held == NULL)
		http_reply_message(req, 500, "out of memory");
}

/* Defer, then answer at once, as a completion refused synchronously
 * does. */
static void h_now(struct http_req *req)
{
	struct http_req *d = http_req_defer(req);

	fx.handled++;
	if (d == NULL) {
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_message(d, 409, "refused at once");
}

static const struct http_route routes[] = {
	{HTTP_GET | HTTP_POST | HTTP_HEAD, "/later/{x*}", h_later, 0},
	{HTTP_GET, "/now", h_now, 0},
};

static int fixture_up(void)
{
	struct http_server_conf conf = {
		.address = "127.0.0.1",
		.max_body_bytes = 1 << 20,
		.routes = routes,
		.n_routes = sizeof(routes) / sizeof(routes[0]),
	};
	char err[256];

	memset(&fx, 0, sizeof(fx));
	if ((fx.base = event_base_new()) == NULL)
		return -1;
	for (int tries = 0; tries < 20; tries++) {
		conf.port = fx.port = testnet_free_port();
		if (fx.port != 0 &&
		    http_server_new(fx.base, &conf, &fx.server, err,
		                    sizeof(err)) == 0)
			return 0;
	}
	fprintf(stderr, "\ncannot start the server: %s\n", err);
	return -1;
}

static void fixture_down(void)
{
	http_server_free(fx.server);
	if (fx.base != NULL)
		event_base_free(fx.base);
	memset(&fx, 0, sizeof(fx));
}

static bool run_until_fn(bool (*done)(const void *), const void *arg)
{
	return loop_run_until(fx.base, done, arg, WAIT_STEPS);
}

static bool flag_set(const void *arg)
{
	return *(const bool *)arg;
}

static bool run_until(const bool *flag)
{
	return run_until_fn(flag_set, flag);
}

static bool handled_enough(const void *arg)
{
	return fx.handled >= *(const int *)arg;
}

static bool run_until_handled(int n)
{
	return run_until_fn(handled_enough, &n);
}

static void run_steps(int n)
{
	loop_run_steps(fx.base, n);
}

/* One client exchange through libevent's own client. */
struct exchange {
	bool done;
	int status;
	char body[512];
	char deployment[64];
};

static void exchange_done(struct evhttp_request *ev, void *arg)
{
	struct exchange *x = arg;
	struct evbuffer *in;
	const char *h;
	size_t n;

	x->done = true;
	if (ev == NULL)
		return;
	x->status = evhttp_request_get_response_code(ev);
	h = evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Test");
	if (h != NULL)
		snprintf(x->deployment, sizeof(x->deployment), "%s", h);
	in = evhttp_request_get_input_buffer(ev);
	n = evbuffer_get_length(in);

	if (n >= sizeof(x->body))
		n = sizeof(x->body) - 1;
	evbuffer_remove(in, x->body, n);
	x->body[n] = '\0';
}

static struct evhttp_connection *client_conn(void)
{
	return evhttp_connection_base_new(fx.base, NULL, "127.0.0.1", fx.port);
}

static int client_send(struct evhttp_connection *conn, enum evhttp_cmd_type cmd,
                       const char *uri, const char *body, struct exchange *x)
{
	struct evhttp_request *ev = evhttp_request_new(exchange_done, x);

	if (ev == NULL)
		return -1;
	evhttp_add_header(evhttp_request_get_output_headers(ev), "Host",
	                  "127.0.0.1");
	if (body != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(ev), body,
		             strlen(body));
	return evhttp_make_request(conn, ev, cmd, uri);
}

static void test_reply_later(void)
{
	struct evhttp_connection *conn;
	struct exchange x = {0};
	struct http_req *d;
	size_t len;
	const char *body;

	if (!CHECK(fixture_up() == 0))
		return;
	conn = client_conn();
	if (!CHECK(conn != NULL) ||
	    !CHECK(client_send(conn, EVHTTP_REQ_POST,
	                       "/later/a/b?force=True&read=1",
	                       "{\"id\":\"x\"}", &x) == 0))
		goto out;
	if (!CHECK(run_until_handled(1)) || !CHECK(fx.held != NULL))
		goto out;
	/* The handler has returned: nothing was answered for it. */
	CHECK(!x.done);
	d = fx.held;
	fx.held = NULL;
	/* The copy still knows everything about the request. */
	CHECK(d->is_copy);
	CHECK_STR(d->path, "/later/a/b");
	if (CHECK_INT(d->match.n_params, 1))
		CHECK(d->match.params[0].len == 3 &&
		      memcmp(d->match.params[0].start, "a/b", 3) == 0);
	CHECK_INT(http_req_query_bool(d, "force", false), 1);
	body = http_req_body(d, &len);
	CHECK_INT(len, strlen("{\"id\":\"x\"}"));
	CHECK_STR(body, "{\"id\":\"x\"}");
	CHECK_STR(http_req_header(d, "Host"), "127.0.0.1");
	/* Even a few loop turns later. */
	run_steps(5);
	CHECK(!x.done);
	http_reply_header(d, "X-Test", "dep-1");
	http_reply_message(d, 201, "created later");
	CHECK(run_until(&x.done));
	CHECK_INT(x.status, 201);
	CHECK_STR(x.deployment, "dep-1");
	CHECK_STR(x.body, "{\"message\":\"created later\"}");
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	fixture_down();
}

static void test_reply_before_return(void)
{
	struct evhttp_connection *conn;
	struct exchange x = {0};

	if (!CHECK(fixture_up() == 0))
		return;
	conn = client_conn();
	if (CHECK(conn != NULL) &&
	    CHECK(client_send(conn, EVHTTP_REQ_GET, "/now", NULL, &x) == 0) &&
	    CHECK(run_until(&x.done))) {
		/* Not the dispatcher's "no reply" 500. */
		CHECK_INT(x.status, 409);
		CHECK_STR(x.body, "{\"message\":\"refused at once\"}");
	}
	if (conn != NULL)
		evhttp_connection_free(conn);
	fixture_down();
}

/* Requests one after the other on one keep-alive connection: the
 * connection lives on after a deferred reply and must not call back into
 * the freed copy when it closes later. */
static void test_keepalive_after_defer(void)
{
	struct evhttp_connection *conn;
	struct exchange x1 = {0}, x2 = {0}, x3 = {0};

	if (!CHECK(fixture_up() == 0))
		return;
	conn = client_conn();
	if (!CHECK(conn != NULL) ||
	    !CHECK(client_send(conn, EVHTTP_REQ_GET, "/later/1", NULL, &x1) ==
	           0) ||
	    !CHECK(run_until_handled(1)) || !CHECK(fx.held != NULL))
		goto out;
	http_reply_message(fx.held, 200, "one");
	fx.held = NULL;
	if (!CHECK(run_until(&x1.done)))
		goto out;
	CHECK_INT(x1.status, 200);
	if (!CHECK(client_send(conn, EVHTTP_REQ_GET, "/now", NULL, &x2) == 0) ||
	    !CHECK(run_until(&x2.done)))
		goto out;
	CHECK_INT(x2.status, 409);
	if (!CHECK(client_send(conn, EVHTTP_REQ_GET, "/later/3", NULL, &x3) ==
	           0) ||
	    !CHECK(run_until_handled(3)) || !CHECK(fx.held != NULL))
		goto out;
	http_reply_message(fx.held, 200, "three");
	fx.held = NULL;
	CHECK(run_until(&x3.done));
	CHECK_INT(x3.status, 200);
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	/* Let the server see the close of the connection it kept alive. */
	run_steps(20);
	fixture_down();
}

/* A raw client that sends a request and closes without waiting. */
static int raw_request_then_close(const char *request)
{
	return loopback_send_raw(fx.port, request);
}

static void test_client_gone(void)
{
	struct http_req *d;
	int fd;

	if (!CHECK(fixture_up() == 0))
		return;
	fd = raw_request_then_close("GET /later/gone HTTP/1.1\r\n"
	                            "Host: x\r\n\r\n");
	if (!CHECK(fd >= 0) || !CHECK(run_until_handled(1)) ||
	    !CHECK(fx.held != NULL)) {
		if (fd >= 0)
			close(fd);
		fixture_down();
		return;
	}
	d = fx.held;
	fx.held = NULL;
	close(fd);
	/* libevent 2.1 stops reading while a request waits for its reply,
	 * so it may notice the close only when the reply is written; if it
	 * does notice earlier, it hands the request over to us.  Either
	 * way the late reply must be safe. */
	run_steps(20);
	if (d->conn == NULL)
		fprintf(stderr, "(close noticed before the reply) ");
	http_reply_header(d, "X-Test", "late");
	http_reply_message(d, 200, "nobody listens");
	/* Another request still works. */
	{
		struct evhttp_connection *conn = client_conn();
		struct exchange x = {0};

		if (CHECK(conn != NULL) &&
		    CHECK(client_send(conn, EVHTTP_REQ_GET, "/now", NULL, &x) ==
		          0) &&
		    CHECK(run_until(&x.done)))
			CHECK_INT(x.status, 409);
		if (conn != NULL)
			evhttp_connection_free(conn);
	}
	fixture_down();
}

static void forget(void *arg)
{
	*(struct http_req **)arg = NULL;
}

/* The server goes away with deferred requests still waiting: it frees
 * them (the sanitizer's leak check would see them otherwise), whether
 * their clients are still connected or not, and tells their holders. */
static void test_free_with_pending(void)
{
	struct evhttp_connection *conn;
	struct exchange x = {0};
	struct http_req *kept = NULL, *closed = NULL;
	int fd;

	if (!CHECK(fixture_up() == 0))
		return;
	conn = client_conn();
	if (!CHECK(conn != NULL) ||
	    !CHECK(client_send(conn, EVHTTP_REQ_POST, "/later/kept", "{}",
	                       &x) == 0) ||
	    !CHECK(run_until_handled(1)) || !CHECK(fx.held != NULL))
		goto out;
	kept = fx.held;
	fx.held = NULL;
	http_req_on_drop(kept, forget, &kept);
	fd = raw_request_then_close("GET /later/closed HTTP/1.1\r\n"
	                            "Host: x\r\n\r\n");
	if (CHECK(fd >= 0) && CHECK(run_until_handled(2))) {
		closed = fx.held;
		fx.held = NULL;
		http_req_on_drop(closed, forget, &closed);
		close(fd);
		run_steps(20);
	}
out:
	/* The server first, as at daemon exit: the client connection is
	 * freed after it. */
	http_server_free(fx.server);
	fx.server = NULL;
	CHECK(kept == NULL);
	CHECK(closed == NULL);
	if (conn != NULL)
		evhttp_connection_free(conn);
	fixture_down();
}

/* A second defer of a copy is the copy itself. */
static void test_defer_copy_again(void)
{
	struct evhttp_connection *conn;
	struct exchange x = {0};

	if (!CHECK(fixture_up() == 0))
		return;
	conn = client_conn();
	if (CHECK(conn != NULL) &&
	    CHECK(client_send(conn, EVHTTP_REQ_GET, "/later/again", NULL, &x) ==
	          0) &&
	    CHECK(run_until_handled(1)) && CHECK(fx.held != NULL)) {
		struct http_req *d = fx.held;

		fx.held = NULL;
		CHECK(http_req_defer(d) == d);
		http_reply_message(d, 200, "again");
		CHECK(run_until(&x.done));
		CHECK_INT(x.status, 200);
	}
	if (conn != NULL)
		evhttp_connection_free(conn);
	fixture_down();
}

static CU_TestInfo defer_tests[] = {
	{"reply from a later callback", test_reply_later},
	{"reply before the handler returns", test_reply_before_return},
	{"keep-alive connection after a deferred reply",
	 test_keepalive_after_defer},
	{"client gone before the reply", test_client_gone},
	{"server freed with replies pending", test_free_with_pending},
	{"deferring a copy again", test_defer_copy_again},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"http deferred replies", NULL, NULL, NULL, NULL, defer_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	/* A late reply may be written to a socket its client closed. */
	signal(SIGPIPE, SIG_IGN);
	return cu_run(suites);
}
