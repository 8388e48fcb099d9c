/*
 * test_router: http_router_match() (core/http/http_router.c) on a table
 * shaped like the REST API's: app ids with slashes, 404 against 405 and the
 * methods a 405 allows, trailing slashes and empty segments, and patterns
 * with more parameters than a match can hold.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "http/http_router.h"
#include "lib/cu_run.h"

static void handler(struct http_req *req)
{
	(void)req;
}

/* Specific patterns before the catch-all "/v2/apps/{id*}", as the API
 * orders them: rows are tried in order. */
enum {
	R_APPS,
	R_TASKS,
	R_TASK,
	R_VERSION,
	R_RESTART,
	R_APP,
	R_PING,
	N_ROUTES
};

static const struct http_route routes[N_ROUTES] = {
	[R_APPS] = {HTTP_GET | HTTP_POST, "/v2/apps", handler, 0},
	[R_TASKS] = {HTTP_GET | HTTP_DELETE, "/v2/apps/{id*}/tasks", handler,
	             0},
	[R_TASK] = {HTTP_DELETE, "/v2/apps/{id*}/tasks/{task}", handler, 0},
	[R_VERSION] = {HTTP_GET, "/v2/apps/{id*}/versions/{version}",
	               handler, 0},
	[R_RESTART] = {HTTP_POST, "/v2/apps/{id*}/restart", handler, 0},
	[R_APP] = {HTTP_GET | HTTP_PUT | HTTP_PATCH | HTTP_DELETE,
	           "/v2/apps/{id*}", handler, 0},
	[R_PING] = {HTTP_GET, "/ping", handler, 0},
};

static bool params_are(const struct http_match *m, const char *const *want,
                       size_t n, int line)
{
	bool ok = m->n_params == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = m->params[i].start != NULL &&
		     m->params[i].len == strlen(want[i]) &&
		     memcmp(m->params[i].start, want[i], m->params[i].len) == 0;
	if (!ok) {
		fprintf(stderr, "\n    line %d: %zu param(s):", line,
		        m->n_params);
		for (size_t i = 0; i < m->n_params && i < HTTP_MAX_PARAMS; i++)
			fprintf(stderr, " \"%.*s\"", (int)m->params[i].len,
			        m->params[i].start);
		fprintf(stderr, "\n");
	}
	return ok;
}

/* METHOD PATH is routed to row ROW with the parameters that follow. */
static void found_(unsigned method, const char *path, int row,
                   const char *const *want, size_t n, int line)
{
	struct http_match m;
	enum http_route_result rc =
		http_router_match(routes, N_ROUTES, method, path, &m);

	if (rc != HTTP_ROUTE_FOUND || m.route != &routes[row])
		fprintf(stderr, "\n    line %d: %s: result %d, row %ld\n", line,
		        path, (int)rc,
		        m.route != NULL ? (long)(m.route - routes) : -1L);
	CU_ASSERT_EQUAL(rc, HTTP_ROUTE_FOUND);
	CU_ASSERT_PTR_EQUAL(m.route, &routes[row]);
	CU_ASSERT(params_are(&m, want, n, line));
	CU_ASSERT(m.allowed & method);
	/* Parameters point into PATH. */
	for (size_t i = 0; i < m.n_params && i < HTTP_MAX_PARAMS; i++)
		CU_ASSERT(m.params[i].start >= path &&
		          m.params[i].start + m.params[i].len <=
		                  path + strlen(path));
}

#define FOUND(method, path, row, ...)                                       \
	found_((method), (path), (row), (const char *const[]){__VA_ARGS__}, \
	       sizeof((const char *const[]){__VA_ARGS__}) /                 \
	               sizeof(const char *),                                \
	       __LINE__)
#define FOUND_NO_PARAMS(method, path, row) \
	found_((method), (path), (row), NULL, 0, __LINE__)

/* METHOD PATH is a 404. */
static void no_path_(const struct http_route *table, size_t n,
                     unsigned method, const char *path, int line)
{
	struct http_match m;
	enum http_route_result rc =
		http_router_match(table, n, method, path, &m);

	if (rc != HTTP_ROUTE_NO_PATH)
		fprintf(stderr, "\n    line %d: \"%s\": result %d, row %ld, "
		                "allowed 0x%x, not a 404\n",
		        line, path, (int)rc,
		        m.route != NULL ? (long)(m.route - table) : -1L,
		        m.allowed);
	CU_ASSERT_EQUAL(rc, HTTP_ROUTE_NO_PATH);
	CU_ASSERT_PTR_NULL(m.route);
	CU_ASSERT_EQUAL(m.allowed, 0);
	CU_ASSERT_EQUAL(m.n_params, 0);
}

#define NO_PATH(method, path) \
	no_path_(routes, N_ROUTES, (method), (path), __LINE__)

/* METHOD PATH is a 405 whose Allow header reads ALLOW. */
static void no_method_(unsigned method, const char *path, const char *allow,
                       int line)
{
	struct http_match m;
	enum http_route_result rc =
		http_router_match(routes, N_ROUTES, method, path, &m);
	char buf[128];

	http_methods_format(m.allowed, buf, sizeof(buf));
	if (rc != HTTP_ROUTE_NO_METHOD || strcmp(buf, allow) != 0)
		fprintf(stderr, "\n    line %d: %s: result %d, Allow \"%s\", "
		                "want \"%s\"\n",
		        line, path, (int)rc, buf, allow);
	CU_ASSERT_EQUAL(rc, HTTP_ROUTE_NO_METHOD);
	CU_ASSERT_STRING_EQUAL(buf, allow);
	CU_ASSERT_PTR_NULL(m.route);
	CU_ASSERT_EQUAL(m.n_params, 0);
}

#define NO_METHOD(method, path, allow) \
	no_method_((method), (path), (allow), __LINE__)

static void test_literals(void)
{
	FOUND_NO_PARAMS(HTTP_GET, "/ping", R_PING);
	FOUND_NO_PARAMS(HTTP_GET, "/v2/apps", R_APPS);
	FOUND_NO_PARAMS(HTTP_POST, "/v2/apps", R_APPS);
	NO_PATH(HTTP_GET, "/pin");
	NO_PATH(HTTP_GET, "/pingg");
	NO_PATH(HTTP_GET, "/ping/x");
	NO_PATH(HTTP_GET, "/v2");
	NO_PATH(HTTP_GET, "/v2/app");
	NO_PATH(HTTP_GET, "/V2/apps");
	NO_PATH(HTTP_GET, "/v3/apps");
	NO_PATH(HTTP_GET, "/");
	NO_PATH(HTTP_GET, "");
	NO_PATH(HTTP_GET, "ping");
}

static void test_ids_with_slashes(void)
{
	FOUND(HTTP_GET, "/v2/apps/web", R_APP, "web");
	FOUND(HTTP_PUT, "/v2/apps/a/b/c", R_APP, "a/b/c");
	FOUND(HTTP_GET, "/v2/apps/a/b/c/tasks", R_TASKS, "a/b/c");
	FOUND(HTTP_DELETE, "/v2/apps/a/b/c/tasks", R_TASKS, "a/b/c");
	FOUND(HTTP_DELETE, "/v2/apps/a/b/c/tasks/t1", R_TASK, "a/b/c", "t1");
	FOUND(HTTP_DELETE, "/v2/apps/web/tasks/web.1234-5678", R_TASK, "web",
	      "web.1234-5678");
	FOUND(HTTP_GET, "/v2/apps/prod/db/versions/2026-11-24T16:56:00.000Z",
	      R_VERSION, "prod/db", "2026-11-24T16:56:00.000Z");
	FOUND(HTTP_POST, "/v2/apps/x/y/restart", R_RESTART, "x/y");

	/* {id*} takes the longest run that lets the rest match: an app whose
	 * id has a "tasks" segment. */
	FOUND(HTTP_GET, "/v2/apps/x/tasks/tasks", R_TASKS, "x/tasks");
	FOUND(HTTP_DELETE, "/v2/apps/x/tasks/tasks/t1", R_TASK, "x/tasks",
	      "t1");
	FOUND(HTTP_DELETE, "/v2/apps/tasks/tasks", R_TASKS, "tasks");
	FOUND(HTTP_GET, "/v2/apps/a/versions/v/versions/v2", R_VERSION,
	      "a/versions/v", "v2");

	/* A method the specific row lacks falls through to the app row, as
	 * GET /v2/apps/{id} with an id ending in "restart". */
	FOUND(HTTP_GET, "/v2/apps/x/restart", R_APP, "x/restart");
	FOUND(HTTP_GET, "/v2/apps/a/b/c/tasks/t1", R_APP, "a/b/c/tasks/t1");
}

static void test_404_405(void)
{
	NO_METHOD(HTTP_PUT, "/v2/apps", "GET, POST");
	NO_METHOD(HTTP_DELETE, "/v2/apps", "GET, POST");
	NO_METHOD(HTTP_POST, "/ping", "GET");
	NO_METHOD(HTTP_HEAD, "/ping", "GET");
	NO_METHOD(HTTP_OTHER, "/ping", "GET");
	NO_METHOD(HTTP_POST, "/v2/apps/web", "GET, PUT, PATCH, DELETE");
	/* Both rows whose pattern matches give their methods. */
	NO_METHOD(HTTP_POST, "/v2/apps/web/tasks", "GET, PUT, PATCH, DELETE");
	NO_METHOD(HTTP_POST, "/v2/apps/a/b/c/versions/v1",
	          "GET, PUT, PATCH, DELETE");
	NO_METHOD(HTTP_OPTIONS, "/v2/apps/a/b/c/restart",
	          "GET, POST, PUT, PATCH, DELETE");
	NO_PATH(HTTP_DELETE, "/v3/apps/web");
}

static void test_trailing_and_empty(void)
{
	/* A trailing slash is an empty last segment: nothing matches it. */
	NO_PATH(HTTP_GET, "/ping/");
	NO_PATH(HTTP_GET, "/v2/apps/");
	NO_PATH(HTTP_GET, "/v2/apps/web/");
	NO_PATH(HTTP_GET, "/v2/apps/a/b/c/tasks/");
	NO_PATH(HTTP_DELETE, "/v2/apps/a/b/c/tasks/");
	NO_PATH(HTTP_GET, "/v2/apps/web/versions/");
	/* Empty segments match no {name}, nor any part of {name*}. */
	NO_PATH(HTTP_GET, "//ping");
	NO_PATH(HTTP_GET, "/v2//apps");
	NO_PATH(HTTP_GET, "/v2/apps//web");
	NO_PATH(HTTP_GET, "/v2/apps//");
	NO_PATH(HTTP_GET, "/v2/apps/web//tasks");
	NO_PATH(HTTP_GET, "/v2/apps/web/versions//");
	NO_PATH(HTTP_GET, "/v2/apps/a//b");
	NO_PATH(HTTP_DELETE, "/v2/apps/web/tasks//t1");
}

static void test_too_many_params(void)
{
	static const struct http_route many[] = {
		{HTTP_GET, "/four/{a}/{b}/{c}/{d}", handler, 0},
		{HTTP_GET, "/five/{a}/{b}/{c}/{d}/{e}", handler, 0},
		{HTTP_GET, "/rest/{a}/{b}/{c}/{d}/{rest*}", handler, 0},
	};
	const size_t n = sizeof(many) / sizeof(many[0]);
	static const char *const four[] = {"1", "2", "3", "4"};
	struct http_match m;

	CU_ASSERT_EQUAL(HTTP_MAX_PARAMS, 4);
	CU_ASSERT_EQUAL(http_router_match(many, n, HTTP_GET, "/four/1/2/3/4",
	                                  &m),
	                HTTP_ROUTE_FOUND);
	CU_ASSERT_PTR_EQUAL(m.route, &many[0]);
	CU_ASSERT(params_are(&m, four, 4, __LINE__));
	/* A fifth parameter never matches (and is never written). */
	no_path_(many, n, HTTP_GET, "/five/1/2/3/4/5", __LINE__);
	no_path_(many, n, HTTP_GET, "/rest/1/2/3/4/5/6", __LINE__);
	no_path_(many, n, HTTP_POST, "/five/1/2/3/4/5", __LINE__);
}

static void test_empty_table(void)
{
	no_path_(routes, 0, HTTP_GET, "/ping", __LINE__);
}

static void test_methods_format(void)
{
	char buf[128], small[16];

	http_methods_format(HTTP_GET | HTTP_POST, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "GET, POST");
	http_methods_format(HTTP_DELETE | HTTP_GET | HTTP_PUT | HTTP_PATCH, buf,
	                    sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "GET, PUT, PATCH, DELETE");
	http_methods_format(HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_DELETE |
	                            HTTP_PATCH | HTTP_HEAD | HTTP_OPTIONS,
	                    buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
	                       "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	http_methods_format(HTTP_OPTIONS, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "OPTIONS");
	strcpy(buf, "junk");
	http_methods_format(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "");
	strcpy(buf, "junk");
	http_methods_format(HTTP_OTHER, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "");

	/* Truncated to the buffer, which is always terminated. */
	memset(small, 'Z', sizeof(small));
	http_methods_format(HTTP_GET | HTTP_PUT | HTTP_PATCH, small, 8);
	CU_ASSERT_STRING_EQUAL(small, "GET, PU");
	for (size_t i = 8; i < sizeof(small); i++)
		CU_ASSERT_EQUAL(small[i], 'Z');
	memset(small, 'Z', sizeof(small));
	http_methods_format(HTTP_GET, small, 1);
	CU_ASSERT_EQUAL(small[0], '\0');
	CU_ASSERT_EQUAL(small[1], 'Z');
}

static void test_method_names(void)
{
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_GET), "GET");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_POST), "POST");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_PUT), "PUT");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_DELETE), "DELETE");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_PATCH), "PATCH");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_HEAD), "HEAD");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_OPTIONS), "OPTIONS");
	CU_ASSERT_PTR_NULL(http_method_name(HTTP_OTHER));
	CU_ASSERT_PTR_NULL(http_method_name(0));
	CU_ASSERT_PTR_NULL(http_method_name(HTTP_GET | HTTP_POST));
}

static CU_TestInfo router_tests[] = {
	{"literal paths", test_literals},
	{"app ids with slashes", test_ids_with_slashes},
	{"404 and 405 with Allow", test_404_405},
	{"trailing slash and empty segments", test_trailing_and_empty},
	{"more parameters than HTTP_MAX_PARAMS", test_too_many_params},
	{"empty table", test_empty_table},
	{"http_methods_format", test_methods_format},
	{"http_method_name", test_method_names},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"http router", NULL, NULL, NULL, NULL, router_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
