/*
 * test_http: the real stadiond over HTTP: the system endpoints (/ping,
 * /v2/info, /v2/plugins), the error answers (404, 405, 413), flags from the
 * environment, the flags that make it refuse to start, and graceful stops.
 * First, the harness's own HTTP client against canned answers, so that the
 * later suites can trust it.
 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "lib/harness.h"
#include "lib/tjson.h"

#define CT_JSON "application/json; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"

static bool member_is(struct json_object *o, const char *key,
                      enum json_type type)
{
	return tjson_has(o, key) && json_object_is_type(tjson_get(o, key), type);
}

/* Check that object O has exactly the keys in KEYS (NULL-terminated). */
static void check_exact_keys(struct json_object *o, const char *const *keys,
                             const char *what)
{
	size_t n = 0;

	if (!CHECK(o != NULL && json_object_is_type(o, json_type_object)))
		return;
	for (; keys[n] != NULL; n++)
		if (!tjson_has(o, keys[n])) {
			fprintf(stderr, "\n%s: missing key \"%s\"\n", what,
			        keys[n]);
			CU_FAIL("missing key");
		}
	json_object_object_foreach(o, key, value) {
		bool known = false;

		(void)value;
		for (size_t i = 0; keys[i] != NULL && !known; i++)
			known = strcmp(keys[i], key) == 0;
		if (!known) {
			fprintf(stderr, "\n%s: unexpected key \"%s\"\n", what,
			        key);
			CU_FAIL("unexpected key");
		}
	}
	CHECK_INT(json_object_object_length(o), n);
}

/* Check that RESP is STATUS with a JSON body {"message": MESSAGE} and
 * nothing else; MESSAGE NULL: any string. */
static void check_message(const struct http_resp *resp, int status,
                          const char *message)
{
	static const char *const keys[] = {"message", NULL};
	struct json_object *body;

	CHECK_INT(resp->status, status);
	CHECK_STR(http_resp_header(resp, "Content-Type"), CT_JSON);
	body = http_resp_json(resp);
	if (!CHECK(body != NULL))
		return;
	check_exact_keys(body, keys, "error body");
	if (message != NULL)
		CHECK_STR(tjson_str(body, "message"), message);
	else
		CHECK(tjson_str(body, "message") != NULL);
	json_object_put(body);
}

/* A body of LEN bytes of 'x'; free() it. */
static char *filler(size_t len)
{
	char *s = malloc(len + 1);

	if (s != NULL) {
		memset(s, 'x', len);
		s[len] = '\0';
	}
	return s;
}

/* GET PATH from D and check it answers 200 as JSON; the body or NULL. */
static struct json_object *get_json(const struct daemon *d, const char *path)
{
	struct http_resp resp;
	struct json_object *body = NULL;

	if (!CHECK(daemon_call(d, "GET", path, NULL, NULL, &resp) == 0))
		return NULL;
	if (CHECK_INT(resp.status, 200) &&
	    CHECK_STR(http_resp_header(&resp, "Content-Type"), CT_JSON))
		body = http_resp_json(&resp);
	CHECK(body != NULL);
	http_resp_free(&resp);
	return body;
}

/* Stop D, which must exit 0. */
static void stop_ok(struct daemon *d)
{
	CHECK_INT(daemon_stop(d), 0);
}

/* ---- One daemon with default flags ------------------------------------ */

static struct daemon plain;

static int plain_init(void)
{
	return daemon_start(&plain, NULL) == 0 ? 0 : -1;
}

/* Stop it if the last test did not (it failed early); a non-zero exit
 * then fails the suite. */
static int plain_cleanup(void)
{
	return plain.pid == 0 || daemon_stop(&plain) == 0 ? 0 : -1;
}

static void ping_accept(const char *accept, int status, const char *ctype,
                        const char *body)
{
	char header[256];
	const char *headers[] = {header, NULL};
	struct http_resp resp;

	snprintf(header, sizeof(header), "Accept: %s", accept);
	if (!CHECK(daemon_call(&plain, "GET", "/ping",
	                       accept != NULL ? headers : NULL, NULL,
	                       &resp) == 0))
		return;
	CHECK_INT(resp.status, status);
	if (ctype != NULL)
		CHECK_STR(http_resp_header(&resp, "Content-Type"), ctype);
	else
		CHECK(http_resp_header(&resp, "Content-Type") == NULL);
	CHECK_INT(resp.body_len, strlen(body));
	CHECK_STR(resp.body, body);
	http_resp_free(&resp);
}

static void test_ping_text(void)
{
	ping_accept(NULL, 200, CT_TEXT, "pong");
}

static void test_ping_accept_json(void)
{
	ping_accept("application/json", 200, CT_JSON, "\"pong\"");
}

static void test_ping_accept_text(void)
{
	ping_accept("text/plain", 200, CT_TEXT, "pong");
}

static void test_ping_accept_json_preferred(void)
{
	ping_accept("application/json, text/plain;q=0.5", 200, CT_JSON,
	            "\"pong\"");
}

static void test_ping_accept_any(void)
{
	ping_accept("*/*", 200, CT_TEXT, "pong");
}

static void test_ping_accept_nothing_usable(void)
{
	ping_accept("image/png", 204, NULL, "");
}

static void test_info(void)
{
	static const char *const top_keys[] = {
		"name",         "version",         "buildref",
		"elected",      "leader",          "frameworkId",
		"marathon_config", "zookeeper_config", "http_config",
		"health", NULL};
	static const char *const http_keys[] = {"http_port", "https_port",
	                                        NULL};
	struct json_object *info = get_json(&plain, "/v2/info");
	struct json_object *mc, *zc, *hc;
	const char *leader, *hostname;
	char suffix[16], expected_leader[512];

	if (info == NULL)
		return;
	check_exact_keys(info, top_keys, "/v2/info");
	CHECK_STR(tjson_str(info, "name"), "marathon");
	CHECK_STR(tjson_str(info, "version"), MARATHON_API_VERSION);
	CHECK(tjson_str(info, "buildref") != NULL &&
	      tjson_str(info, "buildref")[0] != '\0');
	CHECK(member_is(info, "elected", json_type_boolean) &&
	      json_object_get_boolean(tjson_get(info, "elected")));
	CHECK(member_is(info, "frameworkId", json_type_null));

	leader = tjson_str(info, "leader");
	snprintf(suffix, sizeof(suffix), ":%u", (unsigned)plain.port);
	CHECK(leader != NULL && strlen(leader) > strlen(suffix) &&
	      strcmp(leader + strlen(leader) - strlen(suffix), suffix) == 0);

	mc = tjson_get(info, "marathon_config");
	CHECK(mc != NULL && json_object_is_type(mc, json_type_object));
	CHECK_STR(tjson_str(mc, "master"), "local");
	CHECK_STR(tjson_str(mc, "framework_name"), "marathon");
	hostname = tjson_str(mc, "hostname");
	CHECK(hostname != NULL && hostname[0] != '\0');
	if (hostname != NULL) {
		/* Standalone, this node is the leader. */
		snprintf(expected_leader, sizeof(expected_leader), "%s:%u",
		         hostname, (unsigned)plain.port);
		CHECK_STR(leader, expected_leader);
	}
	CHECK(member_is(mc, "local_port_min", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(mc, "local_port_min")), 10000);
	CHECK(member_is(mc, "local_port_max", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(mc, "local_port_max")), 20000);
	CHECK(member_is(mc, "leader_proxy_connection_timeout_ms",
	                json_type_int));
	CHECK_INT(json_object_get_int64(
	                  tjson_get(mc, "leader_proxy_connection_timeout_ms")),
	          5000);
	CHECK(member_is(mc, "leader_proxy_read_timeout_ms", json_type_int));
	CHECK_INT(json_object_get_int64(
	                  tjson_get(mc, "leader_proxy_read_timeout_ms")),
	          10000);
	CHECK(member_is(mc, "features", json_type_array));

	zc = tjson_get(info, "zookeeper_config");
	CHECK(zc != NULL && json_object_is_type(zc, json_type_object));
	CHECK(member_is(zc, "zk", json_type_null));
	CHECK(member_is(zc, "zk_timeout", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(zc, "zk_timeout")), 10000);
	CHECK(member_is(zc, "zk_session_timeout", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(zc, "zk_session_timeout")),
	          10000);
	CHECK(member_is(zc, "zk_max_versions", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(zc, "zk_max_versions")), 50);
	CHECK(member_is(zc, "zk_compression", json_type_boolean));
	CHECK(member_is(zc, "zk_compression_threshold", json_type_int));
	CHECK(member_is(zc, "zk_connection_timeout", json_type_int));
	CHECK(member_is(zc, "zk_max_node_size", json_type_int));

	hc = tjson_get(info, "http_config");
	check_exact_keys(hc, http_keys, "/v2/info http_config");
	{
		static const char *const health_keys[] = {
			"killsPaused", "reason", "since", "checkedTasks",
			"failingTasks", "checksStarted", "lateMsP95", NULL};

		check_exact_keys(tjson_get(info, "health"), health_keys,
		                 "/v2/info health");
		CHECK(!json_object_get_boolean(
			tjson_get(tjson_get(info, "health"), "killsPaused")));
	}
	CHECK(member_is(hc, "http_port", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(hc, "http_port")), plain.port);
	CHECK(member_is(hc, "https_port", json_type_int));
	CHECK_INT(json_object_get_int64(tjson_get(hc, "https_port")), 8443);
	json_object_put(info);
}

/* The bundled plugins the harness installs, in load (name) order. */
static void test_plugins_bundled(void)
{
	static const char *const keys[] = {"plugins", "refused", NULL};
	static const char *const ids[] = {
		"constraint.CLUSTER", "constraint.GROUP_BY", "constraint.IS",
		"constraint.LIKE", "constraint.MAX_PER", "constraint.UNIQUE",
		"constraint.UNLIKE", "probe.command", "probe.http", "probe.tcp",
		"storage.lmdb", "storage.zookeeper", "upgrade.rolling",
	};
	const size_t n_ids = sizeof(ids) / sizeof(ids[0]);
	struct json_object *body = get_json(&plain, "/v2/plugins"), *list;

	if (body == NULL)
		return;
	check_exact_keys(body, keys, "/v2/plugins");
	list = tjson_get(body, "plugins");
	if (CHECK(member_is(body, "plugins", json_type_array)) &&
	    CHECK_INT(json_object_array_length(list), n_ids))
		for (size_t i = 0; i < n_ids; i++)
			CHECK_STR(tjson_str(json_object_array_get_idx(list, i),
			                     "id"),
			          ids[i]);
	CHECK(member_is(body, "refused", json_type_array) &&
	      json_object_array_length(tjson_get(body, "refused")) == 0);
	json_object_put(body);
}

/* The store is opened under --data_dir before the API answers. */
static void test_store_under_data_dir(void)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/state/data.mdb", plain.data_dir);
	CHECK(access(path, R_OK) == 0);
	snprintf(path, sizeof(path), "%s/sandboxes", plain.data_dir);
	CHECK(access(path, R_OK) == 0);
}

static void test_not_found(void)
{
	struct http_resp resp;

	if (!CHECK(daemon_call(&plain, "GET", "/v2/nope", NULL, NULL,
	                       &resp) == 0))
		return;
	check_message(&resp, 404, "URI /v2/nope not found");
	http_resp_free(&resp);
}

/* The message names the path without its query, percent-decoded. */
static void test_not_found_query_and_escapes(void)
{
	struct http_resp resp;

	if (!CHECK(daemon_call(&plain, "GET", "/v2/n%6Fpe?x=1", NULL, NULL,
	                       &resp) == 0))
		return;
	check_message(&resp, 404, "URI /v2/nope not found");
	http_resp_free(&resp);
}

static void check_405(const char *method, const char *path,
                      const char *allow, const char *message)
{
	struct http_resp resp;

	if (!CHECK(daemon_call(&plain, method, path, NULL, NULL, &resp) == 0))
		return;
	check_message(&resp, 405, message);
	CHECK_STR(http_resp_header(&resp, "Allow"), allow);
	http_resp_free(&resp);
}

static void test_post_ping_405(void)
{
	check_405("POST", "/ping", "GET, HEAD",
	          "HTTP method POST is not allowed for /ping; use GET, HEAD");
}

static void test_put_info_405(void)
{
	check_405("PUT", "/v2/info", "GET, HEAD",
	          "HTTP method PUT is not allowed for /v2/info; use GET, HEAD");
}

static void test_delete_plugins_405(void)
{
	check_405("DELETE", "/v2/plugins", "GET, HEAD",
	          "HTTP method DELETE is not allowed for /v2/plugins; "
	          "use GET, HEAD");
}

/* Marathon's leader headers are on every answer, errors included. */
static void test_standard_headers(void)
{
	static const char *const paths[] = {"/ping", "/v2/info", "/v2/nope"};
	char leader[320], host[256];
	struct http_resp resp;

	if (!CHECK(gethostname(host, sizeof(host)) == 0))
		return;
	host[sizeof(host) - 1] = '\0';
	snprintf(leader, sizeof(leader), "http://%s:%u", host,
	         (unsigned)plain.port);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!CHECK(daemon_call(&plain, "GET", paths[i], NULL, NULL,
		                       &resp) == 0))
			return;
		CHECK_STR(http_resp_header(&resp, "X-Marathon-Leader"), leader);
		CHECK_STR(http_resp_header(&resp, "Cache-Control"),
		          "no-cache, no-store, must-revalidate");
		CHECK_STR(http_resp_header(&resp, "Pragma"), "no-cache");
		CHECK_STR(http_resp_header(&resp, "Expires"), "0");
		CHECK_STR(http_resp_header(&resp, "X-Frame-Options"), "DENY");
		CHECK_STR(http_resp_header(&resp, "X-XSS-Protection"),
		          "1; mode=block");
		http_resp_free(&resp);
	}
}

/* HEAD answers as GET would, with the length but without the body. */
static void test_head(void)
{
	struct http_resp get, head;

	if (!CHECK(daemon_call(&plain, "GET", "/v2/info", NULL, NULL, &get) ==
	           0))
		return;
	if (CHECK(daemon_call(&plain, "HEAD", "/v2/info", NULL, NULL,
	                      &head) == 0)) {
		char length[32];

		snprintf(length, sizeof(length), "%zu", get.body_len);
		CHECK_INT(head.status, 200);
		CHECK_STR(http_resp_header(&head, "Content-Type"), CT_JSON);
		CHECK_STR(http_resp_header(&head, "Content-Length"), length);
		CHECK_INT(head.body_len, 0);
		http_resp_free(&head);
	}
	http_resp_free(&get);
	if (!CHECK(daemon_call(&plain, "HEAD", "/v2/nope", NULL, NULL,
	                       &head) == 0))
		return;
	CHECK_INT(head.status, 404);
	CHECK_INT(head.body_len, 0);
	http_resp_free(&head);
}

static void test_log_says_listening(void)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "listening on 127.0.0.1:%u",
	         (unsigned)plain.port);
	CHECK(daemon_log_contains(&plain, needle));
}

static void test_plain_stop(void)
{
	stop_ok(&plain);
}

static CU_TestInfo plain_tests[] = {
	{"GET /ping: pong as text/plain", test_ping_text},
	{"GET /ping, Accept JSON: \"pong\"", test_ping_accept_json},
	{"GET /ping, Accept text/plain: pong", test_ping_accept_text},
	{"GET /ping, JSON preferred by q", test_ping_accept_json_preferred},
	{"GET /ping, Accept */*: text", test_ping_accept_any},
	{"GET /ping, Accept image/png: 204", test_ping_accept_nothing_usable},
	{"GET /v2/info: Marathon's shape", test_info},
	{"GET /v2/plugins: the bundled ones", test_plugins_bundled},
	{"the store lives under --data_dir", test_store_under_data_dir},
	{"GET /v2/nope: 404", test_not_found},
	{"404 names the decoded path", test_not_found_query_and_escapes},
	{"POST /ping: 405, Allow: GET, HEAD", test_post_ping_405},
	{"PUT /v2/info: 405", test_put_info_405},
	{"DELETE /v2/plugins: 405", test_delete_plugins_405},
	{"Marathon's headers on every answer", test_standard_headers},
	{"HEAD: GET's headers, no body", test_head},
	{"log says where it listens", test_log_says_listening},
	{"SIGTERM: exit status 0", test_plain_stop},
	CU_TEST_INFO_NULL,
};

/* ---- Request body limit ------------------------------------------------ */

static struct daemon small;

static int small_init(void)
{
	static const char *const args[] = {"--http_max_body_bytes", "1000",
	                                   NULL};

	return daemon_start(&small, args) == 0 ? 0 : -1;
}

static int small_cleanup(void)
{
	return small.pid == 0 || daemon_stop(&small) == 0 ? 0 : -1;
}

/* POST LEN bytes to PATH on D; the status, or -1. */
static int post_bytes(const struct daemon *d, const char *path, size_t len,
                      struct http_resp *resp_r)
{
	char *body = filler(len);
	int rc;

	if (body == NULL)
		return -1;
	rc = http_call("127.0.0.1", d->port, "POST", path, NULL, body, len,
	               resp_r);
	free(body);
	return rc;
}

static void check_413(const struct http_resp *resp)
{
	struct json_object *body;

	CHECK_INT(resp->status, 413);
	CHECK_STR(http_resp_header(resp, "Content-Type"), CT_JSON);
	body = http_resp_json(resp);
	if (!CHECK(body != NULL))
		return;
	CHECK_CONTAINS(tjson_str(body, "message"), "1000");
	CHECK_CONTAINS(tjson_str(body, "message"), "--http_max_body_bytes");
	json_object_put(body);
}

static void check_ping(const struct daemon *d)
{
	struct http_resp resp;

	if (!CHECK(daemon_call(d, "GET", "/ping", NULL, NULL, &resp) == 0))
		return;
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "pong");
	http_resp_free(&resp);
}

static void test_body_over_limit(void)
{
	struct http_resp resp;

	if (!CHECK(post_bytes(&small, "/v2/plugins", 1001, &resp) == 0))
		return;
	check_413(&resp);
	http_resp_free(&resp);
	/* It goes on serving. */
	check_ping(&small);
}

static void test_body_at_limit(void)
{
	struct http_resp resp;

	if (!CHECK(post_bytes(&small, "/v2/plugins", 1000, &resp) == 0))
		return;
	check_message(&resp, 405,
	              "HTTP method POST is not allowed for /v2/plugins; use "
	              "GET, HEAD");
	http_resp_free(&resp);
}

static void test_body_far_over_limit(void)
{
	struct http_resp resp;

	/* Well past libevent's own cap too: still refused, still serving. */
	if (!CHECK(post_bytes(&small, "/v2/plugins", 100000, &resp) == 0))
		return;
	CHECK_INT(resp.status, 413);
	http_resp_free(&resp);
	check_ping(&small);
}

/* A client that asks first (Expect: 100-continue) gets the same answers. */
static void test_body_expect_continue(void)
{
	static const char *const headers[] = {"Expect: 100-continue", NULL};
	char *body = filler(100000);
	struct http_resp resp;

	if (!CHECK(body != NULL))
		return;
	if (CHECK(http_call("127.0.0.1", small.port, "POST", "/v2/plugins",
	                    headers, body, 1000, &resp) == 0)) {
		CHECK_INT(resp.status, 405);
		http_resp_free(&resp);
	}
	if (CHECK(http_call("127.0.0.1", small.port, "POST", "/v2/plugins",
	                    headers, body, 1001, &resp) == 0)) {
		check_413(&resp);
		http_resp_free(&resp);
	}
	if (CHECK(http_call("127.0.0.1", small.port, "POST", "/v2/plugins",
	                    headers, body, 100000, &resp) == 0)) {
		CHECK_INT(resp.status, 413);
		http_resp_free(&resp);
	}
	free(body);
	check_ping(&small);
}

static void test_small_stop(void)
{
	stop_ok(&small);
}

static CU_TestInfo small_tests[] = {
	{"1001 bytes: 413, then still serving", test_body_over_limit},
	{"1000 bytes: not 413 (405 here)", test_body_at_limit},
	{"100000 bytes: 413, then still serving", test_body_far_over_limit},
	{"Expect: 100-continue: same answers", test_body_expect_continue},
	{"SIGTERM: exit status 0", test_small_stop},
	CU_TEST_INFO_NULL,
};

/* ---- Flags from the environment ---------------------------------------- */

/* Start a daemon with ARGS and ENV and return marathon_config's
 * framework_name check against EXPECTED; stop it. */
static void check_framework_name(const char *const *args,
                                 const char *const *env,
                                 const char *expected)
{
	struct daemon d;
	struct json_object *info;

	if (!CHECK(daemon_start_env(&d, args, env) == 0))
		return;
	info = get_json(&d, "/v2/info");
	CHECK_STR(tjson_str(tjson_get(info, "marathon_config"),
	                     "framework_name"),
	          expected);
	json_object_put(info);
	stop_ok(&d);
}

static void test_env_marathon(void)
{
	static const char *const env[] = {"MARATHON_FRAMEWORK_NAME=xyz", NULL};

	check_framework_name(NULL, env, "xyz");
}

static void test_env_stadion(void)
{
	static const char *const env[] = {"STADION_FRAMEWORK_NAME=abc", NULL};

	check_framework_name(NULL, env, "abc");
}

static void test_env_stadion_beats_marathon(void)
{
	/* In both orders: precedence, not the order of the environment. */
	static const char *const env1[] = {"STADION_FRAMEWORK_NAME=from-stadion",
	                                   "MARATHON_FRAMEWORK_NAME=from-marathon",
	                                   NULL};
	static const char *const env2[] = {"MARATHON_FRAMEWORK_NAME=from-marathon",
	                                   "STADION_FRAMEWORK_NAME=from-stadion",
	                                   NULL};

	check_framework_name(NULL, env1, "from-stadion");
	check_framework_name(NULL, env2, "from-stadion");
}

static void test_env_command_line_wins(void)
{
	static const char *const args[] = {"--framework_name", "from-flag",
	                                   NULL};
	static const char *const env[] = {"STADION_FRAMEWORK_NAME=from-env",
	                                  NULL};

	check_framework_name(args, env, "from-flag");
}

static void test_env_body_limit(void)
{
	static const char *const env[] = {"STADION_HTTP_MAX_BODY_BYTES=1000",
	                                  NULL};
	struct daemon d;
	struct http_resp resp;

	if (!CHECK(daemon_start_env(&d, NULL, env) == 0))
		return;
	if (CHECK(post_bytes(&d, "/v2/plugins", 1001, &resp) == 0)) {
		check_413(&resp);
		http_resp_free(&resp);
	}
	if (CHECK(post_bytes(&d, "/v2/plugins", 1000, &resp) == 0)) {
		CHECK_INT(resp.status, 405);
		http_resp_free(&resp);
	}
	stop_ok(&d);
}

static void test_env_bad_value(void)
{
	static const char *const env[] = {"STADION_LOCAL_PORT_MIN=low", NULL};
	int status = -1;
	char *log = NULL;

	if (!CHECK(daemon_run_to_exit_env(NULL, env, &status, &log) == 0))
		return;
	CHECK_INT(status, 2);
	CHECK_CONTAINS(log, "STADION_LOCAL_PORT_MIN");
	CHECK_CONTAINS(log, "--local_port_min");
	free(log);
}

static CU_TestInfo env_tests[] = {
	{"MARATHON_FRAMEWORK_NAME", test_env_marathon},
	{"STADION_FRAMEWORK_NAME", test_env_stadion},
	{"STADION_ beats MARATHON_", test_env_stadion_beats_marathon},
	{"the command line beats both", test_env_command_line_wins},
	{"STADION_HTTP_MAX_BODY_BYTES", test_env_body_limit},
	{"a bad value: exit 2, naming it", test_env_bad_value},
	CU_TEST_INFO_NULL,
};

/* ---- Refusing to start, --help, --version ------------------------------- */

/* Run with ARGS; check the exit status (STATUS, or any non-zero when -1)
 * and that the output contains NEEDLE. */
static void check_exit(const char *const *args, int status,
                       const char *needle)
{
	int got = -1;
	char *log = NULL;

	if (!CHECK(daemon_run_to_exit(args, &got, &log) == 0))
		return;
	if (status >= 0)
		CHECK_INT(got, status);
	else
		CHECK(got > 0 && got < 128);
	CHECK_CONTAINS(log, needle);
	free(log);
}

static void test_refuse_bad_port(void)
{
	static const char *const args[] = {"--http_port", "notanumber", NULL};

	check_exit(args, 2, "--http_port");
}

static void test_refuse_port_out_of_range(void)
{
	static const char *const args[] = {"--http_port=70000", NULL};

	check_exit(args, 2, "--http_port");
}

static void test_refuse_unknown_flag(void)
{
	static const char *const args[] = {"--no_such_flag", "1", NULL};

	check_exit(args, 2, "--no_such_flag");
}

static void test_refuse_mesos_master(void)
{
	static const char *const args[] = {"--master", "zk://x/mesos", NULL};

	check_exit(args, -1, "--master");
}

/* Without a store there is nothing to keep state in. */
static void test_refuse_no_store(void)
{
	static const char *const args[] = {"--system_plugin_dir", "", NULL};

	check_exit(args, 1, "no storage plugin \"lmdb\" is loaded");
}

/* A bad agents file names itself. */
static void test_refuse_bad_agents(void)
{
	static const char *const args[] = {"--local_agents",
	                                   "/nonexistent/agents.json", NULL};

	check_exit(args, 1, "/nonexistent/agents.json");
}

static void test_refuse_zk(void)
{
	static const char *const args[] = {"--zk", "zk://localhost:2181",
	                                   NULL};

	check_exit(args, -1, "the path (/stadion) is missing");
}

static void test_refuse_port_in_use(void)
{
	struct daemon d;
	char port[8];
	const char *args[] = {"--http_port", port, NULL};

	if (!CHECK(daemon_start(&d, NULL) == 0))
		return;
	snprintf(port, sizeof(port), "%u", (unsigned)d.port);
	check_exit(args, -1, "cannot listen on 127.0.0.1 port");
	/* The first one is unharmed. */
	check_ping(&d);
	stop_ok(&d);
}

static void test_version(void)
{
	static const char *const args[] = {"--version", NULL};
	int got = -1;
	char *log = NULL;

	if (!CHECK(daemon_run_to_exit(args, &got, &log) == 0))
		return;
	CHECK_INT(got, 0);
	CHECK(log != NULL && strncmp(log, "stadiond ", 9) == 0);
	CHECK_CONTAINS(log, PACKAGE_VERSION);
	free(log);
}

static void test_help(void)
{
	static const char *const args[] = {"--help", NULL};

	check_exit(args, 0, "--http_port");
}

static CU_TestInfo refuse_tests[] = {
	{"--http_port notanumber: exit 2", test_refuse_bad_port},
	{"--http_port=70000: exit 2", test_refuse_port_out_of_range},
	{"unknown flag: exit 2", test_refuse_unknown_flag},
	{"--master zk://...: refused", test_refuse_mesos_master},
	{"--zk without a path: refused", test_refuse_zk},
	{"no storage plugin: refused", test_refuse_no_store},
	{"bad --local_agents: refused", test_refuse_bad_agents},
	{"port in use: refused", test_refuse_port_in_use},
	{"--version: exit 0", test_version},
	{"--help: exit 0", test_help},
	CU_TEST_INFO_NULL,
};

/* ---- Stopping ------------------------------------------------------------ */

static void test_sigint(void)
{
	struct daemon d;

	if (!CHECK(daemon_start(&d, NULL) == 0))
		return;
	CHECK(daemon_log_contains(&d, "stadiond"));
	CHECK_INT(daemon_stop_with(&d, SIGINT), 0);
}

/* A client that connected and sent nothing does not hold up the stop. */
static void test_stop_with_idle_client(void)
{
	struct daemon d;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd;

	if (!CHECK(daemon_start(&d, NULL) == 0))
		return;
	sin.sin_port = htons(d.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 &&
	      connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	check_ping(&d);
	stop_ok(&d);
	if (fd >= 0)
		close(fd);
}

static void test_stop_with_half_request(void)
{
	static const char half[] = "GET /ping HTTP/1.1\r\nHost: x\r\n";
	struct daemon d;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd;

	if (!CHECK(daemon_start(&d, NULL) == 0))
		return;
	sin.sin_port = htons(d.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 &&
	      connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	      send(fd, half, sizeof(half) - 1, MSG_NOSIGNAL) ==
	              (ssize_t)(sizeof(half) - 1));
	check_ping(&d);
	stop_ok(&d);
	if (fd >= 0)
		close(fd);
}

static CU_TestInfo stop_tests[] = {
	{"SIGINT: exit status 0", test_sigint},
	{"SIGTERM with an idle client: exit 0", test_stop_with_idle_client},
	{"SIGTERM with half a request: exit 0", test_stop_with_half_request},
	CU_TEST_INFO_NULL,
};

/* ---- The harness's HTTP client against canned answers ------------------- */

/* A one-connection server on a free loopback port, in a child process: it
 * reads the request (head and Content-Length body), then writes ANSWER in
 * two parts, or when ANSWER is NULL a 200 whose body is the request as
 * received.  With CLOSE it then closes its side, else it waits for the
 * client to close.  The child's pid, or -1. */
static pid_t canned_server(const char *answer, bool close_after,
                           uint16_t *port_r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) != 0 ||
	    listen(lfd, 1) != 0 || (pid = fork()) < 0) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	if (pid == 0) {
		static char req[65536];
		size_t got = 0, want = SIZE_MAX;
		char head[256];
		int fd = accept(lfd, NULL, NULL);
		ssize_t n;

		if (fd < 0)
			_exit(1);
		while (got < want && got < sizeof(req) - 1 &&
		       (n = read(fd, req + got, sizeof(req) - 1 - got)) > 0) {
			const char *end, *cl;

			got += (size_t)n;
			req[got] = '\0';
			if (want == SIZE_MAX &&
			    (end = strstr(req, "\r\n\r\n")) != NULL) {
				cl = strcasestr(req, "\r\nContent-Length:");
				want = (size_t)(end + 4 - req) +
				       (cl != NULL && cl < end
				                ? strtoul(cl + 17, NULL, 10)
				                : 0);
			}
		}
		if (answer == NULL) {
			snprintf(head, sizeof(head),
			         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
			         got);
			if (write(fd, head, strlen(head)) < 0 ||
			    write(fd, req, got) < 0)
				_exit(1);
		} else {
			size_t half = strlen(answer) / 2;

			if (write(fd, answer, half) < 0)
				_exit(1);
			usleep(50000);
			if (write(fd, answer + half, strlen(answer) - half) < 0)
				_exit(1);
		}
		if (close_after)
			shutdown(fd, SHUT_WR);
		while (read(fd, req, sizeof(req)) > 0)
			;
		_exit(0);
	}
	close(lfd);
	*port_r = ntohs(sin.sin_port);
	return pid;
}

static void canned_done(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Ask a canned server answering ANSWER; 0 with *RESP_R, or -1. */
static int canned_call(const char *answer, bool close_after,
                       const char *method, const char *const *headers,
                       const char *body, struct http_resp *resp_r)
{
	uint16_t port;
	pid_t pid = canned_server(answer, close_after, &port);
	int rc;

	if (!CHECK(pid > 0))
		return -1;
	rc = http_call("127.0.0.1", port, method, "/p?q=1", headers, body,
	               body != NULL ? strlen(body) : 0, resp_r);
	canned_done(pid);
	return rc;
}

static void test_client_request(void)
{
	static const char *const headers[] = {"X-Test: yes", NULL};
	struct http_resp resp;

	if (!CHECK(canned_call(NULL, false, "PUT", headers, "{\"a\":1}",
	                       &resp) == 0))
		return;
	CHECK_INT(resp.status, 200);
	CHECK(strncmp(resp.body, "PUT /p?q=1 HTTP/1.1\r\n", 21) == 0);
	CHECK_CONTAINS(resp.body, "\r\nHost: 127.0.0.1:");
	CHECK_CONTAINS(resp.body, "\r\nContent-Length: 7\r\n");
	CHECK_CONTAINS(resp.body, "\r\nConnection: close\r\n");
	CHECK_CONTAINS(resp.body, "\r\nX-Test: yes\r\n");
	CHECK(resp.body_len > 11 &&
	      strcmp(resp.body + resp.body_len - 11, "\r\n\r\n{\"a\":1}") ==
	              0);
	http_resp_free(&resp);
	http_resp_free(&resp); /* twice is harmless */
}

static void test_client_own_headers_win(void)
{
	static const char *const headers[] = {"connection: keep-alive",
	                                      "HOST: example", NULL};
	struct http_resp resp;

	if (!CHECK(canned_call(NULL, false, "GET", headers, NULL, &resp) ==
	           0))
		return;
	CHECK_CONTAINS(resp.body, "\r\nconnection: keep-alive\r\n");
	CHECK_CONTAINS(resp.body, "\r\nHOST: example\r\n");
	CHECK(strstr(resp.body, "Connection: close") == NULL);
	CHECK(strstr(resp.body, "Host: 127") == NULL);
	http_resp_free(&resp);
}

static void test_client_content_length(void)
{
	struct http_resp resp;

	/* Known length: no need to wait for the server to close. */
	if (!CHECK(canned_call("HTTP/1.1 404 Not Found\r\nContent-length: 2"
	                       "\r\nX-Two:  a b \r\nx-two: c\r\n\r\nno",
	                       false, "GET", NULL, NULL, &resp) == 0))
		return;
	CHECK_INT(resp.status, 404);
	CHECK_STR(resp.reason, "Not Found");
	CHECK_STR(resp.body, "no");
	CHECK_INT(resp.n_headers, 3);
	CHECK_STR(http_resp_header(&resp, "x-TWO"), "a b");
	CHECK_STR(http_resp_header(&resp, "content-length"), "2");
	CHECK(http_resp_header(&resp, "X-Three") == NULL);
	http_resp_free(&resp);
}

static void test_client_chunked(void)
{
	struct http_resp resp;
	struct json_object *o;

	if (!CHECK(canned_call("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	                       "\r\n\r\n4\r\n[\"Wi\r\n9;x=y\r\nkipedia\"]\r\n"
	                       "0\r\nTrailer: t\r\n\r\n",
	                       false, "GET", NULL, NULL, &resp) == 0))
		return;
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "[\"Wikipedia\"]");
	CHECK_INT(resp.body_len, 13);
	o = http_resp_json(&resp);
	CHECK(o != NULL && json_object_is_type(o, json_type_array));
	json_object_put(o);
	http_resp_free(&resp);
}

static void test_client_until_close(void)
{
	struct http_resp resp;

	if (!CHECK(canned_call("HTTP/1.0 200 OK\r\n\r\nall of it", true, "GET",
	                       NULL, NULL, &resp) == 0))
		return;
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "all of it");
	http_resp_free(&resp);
}

static void test_client_interim(void)
{
	struct http_resp resp;

	if (!CHECK(canned_call("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 "
	                       "Created\r\nContent-Length: 0\r\n\r\n",
	                       false, "POST", NULL, "x", &resp) == 0))
		return;
	CHECK_INT(resp.status, 201);
	CHECK_STR(resp.reason, "Created");
	CHECK_INT(resp.body_len, 0);
	CHECK_STR(resp.body, "");
	http_resp_free(&resp);
}

static void test_client_head_and_204(void)
{
	struct http_resp resp;

	/* No body after a HEAD, whatever Content-Length says. */
	if (CHECK(canned_call("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
	                      false, "HEAD", NULL, NULL, &resp) == 0)) {
		CHECK_INT(resp.status, 200);
		CHECK_INT(resp.body_len, 0);
		http_resp_free(&resp);
	}
	if (CHECK(canned_call("HTTP/1.1 204 No Content\r\n\r\n", false, "GET",
	                      NULL, NULL, &resp) == 0)) {
		CHECK_INT(resp.status, 204);
		CHECK_STR(resp.body, "");
		http_resp_free(&resp);
	}
}

static void test_client_broken_answers(void)
{
	struct http_resp resp;

	fprintf(stderr, "\n(three http_call errors expected below)\n");
	CHECK(canned_call("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	                  true, "GET", NULL, NULL, &resp) == -1);
	CHECK(resp.body == NULL && resp.n_headers == 0);
	CHECK(canned_call("SMTP ready\r\n\r\n", true, "GET", NULL, NULL,
	                  &resp) == -1);
	CHECK(canned_call("", true, "GET", NULL, NULL, &resp) == -1);
	http_resp_free(&resp);
}

static void test_client_json(void)
{
	struct http_resp resp = {.body = (char *)"{\"a\": [1, 2]}\n",
	                         .body_len = 14};
	struct json_object *o = http_resp_json(&resp);

	CHECK(o != NULL && json_object_is_type(o, json_type_object));
	json_object_put(o);
	fprintf(stderr, "\n(two http_resp_json errors expected below)\n");
	resp.body = (char *)"{\"a\": 1} {}";
	resp.body_len = 11;
	CHECK(http_resp_json(&resp) == NULL);
	resp.body = (char *)"{\"a\":";
	resp.body_len = 5;
	CHECK(http_resp_json(&resp) == NULL);
	resp.body = (char *)"42";
	resp.body_len = 2;
	o = http_resp_json(&resp);
	CHECK(o != NULL && json_object_get_int(o) == 42);
	json_object_put(o);
}

static CU_TestInfo client_tests[] = {
	{"the request it sends", test_client_request},
	{"caller's Host and Connection win", test_client_own_headers_win},
	{"Content-Length body, headers", test_client_content_length},
	{"chunked body", test_client_chunked},
	{"body until close", test_client_until_close},
	{"100 Continue skipped", test_client_interim},
	{"HEAD and 204: no body", test_client_head_and_204},
	{"truncated or not HTTP: -1", test_client_broken_answers},
	{"http_resp_json", test_client_json},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"harness: HTTP client", NULL, NULL, NULL, NULL, client_tests},
	{"system endpoints", plain_init, plain_cleanup, NULL, NULL,
	 plain_tests},
	{"request body limit", small_init, small_cleanup, NULL, NULL,
	 small_tests},
	{"flags from the environment", NULL, NULL, NULL, NULL, env_tests},
	{"refusing to start", NULL, NULL, NULL, NULL, refuse_tests},
	{"stopping", NULL, NULL, NULL, NULL, stop_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
