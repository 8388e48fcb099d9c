/*
 * test_api_apps: the REST resources for apps, tasks, the queue and
 * deployments on the real stadiond (core/api/api_apps.c, api_tasks.c,
 * api_queue.c, api_deployments.c), checked against Marathon's statuses,
 * headers and bodies (reference/marathon-api.md 1.1, 1.3, 1.4, 1.6, 2.4,
 * 3.4, 3.7).  The daemon runs two simulated agents (--local_agents), so
 * tasks go STAGING then RUNNING without processes; every wait polls with
 * a bound and asserts nothing about time.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "lib/harness.h"
#include "lib/testfs.h"
#include "lib/tjson.h"

#define CT_JSON "application/json; charset=utf-8"

/* Polls: every POLL_MS, at most POLL_TRIES times. */
#define POLL_MS 50
#define POLL_TRIES 200

static struct daemon dmn;
static char agents_path[PATH_MAX];

/* ---- JSON helpers ------------------------------------------------------- */

static bool same_id(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* S, or "" when NULL, for copies of values that may be missing. */
static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* ---- HTTP helpers ------------------------------------------------------- */

/* METHOD PATH with BODY (may be NULL); the status, -1 on a transport
 * failure.  *RESP_R is always safe to free. */
static int call(const char *method, const char *path, const char *body,
                struct http_resp *resp_r)
{
	if (daemon_call(&dmn, method, path, NULL, body, resp_r) != 0)
		return -1;
	return resp_r->status;
}

/* The same, answering the parsed JSON body (NULL when none) and the status
 * in *STATUS_R. */
static struct json_object *call_json(const char *method, const char *path,
                                     const char *body, int *status_r)
{
	struct json_object *o;

	*status_r = daemon_json(&dmn, method, path, body, &o);
	return o;
}

/* Check that RESP is STATUS with the JSON body {"message": MESSAGE} and
 * nothing else. */
static void check_message(const struct http_resp *resp, int status,
                          const char *message)
{
	struct json_object *body;

	CHECK_INT(resp->status, status);
	CHECK_STR(http_resp_header(resp, "Content-Type"), CT_JSON);
	body = http_resp_json(resp);
	if (!CHECK(body != NULL))
		return;
	CHECK_INT(json_object_object_length(body), 1);
	CHECK_STR(tjson_str(body, "message"), message);
	json_object_put(body);
}

static void expect_message(const char *method, const char *path,
                           const char *body, int status, const char *message)
{
	struct http_resp resp;

	if (CHECK(call(method, path, body, &resp) > 0))
		check_message(&resp, status, message);
	http_resp_free(&resp);
}

/* A deployment result: 200 (or STATUS) with exactly {"deploymentId",
 * "version"} and the Marathon-Deployment-Id header naming it.  The id, to
 * free, or NULL. */
static char *check_deployment_result(const struct http_resp *resp,
                                     int status)
{
	struct json_object *body = http_resp_json(resp);
	const char *id = tjson_str(body, "deploymentId");
	char *copy = NULL;

	CHECK_INT(resp->status, status);
	if (CHECK(body != NULL)) {
		CHECK_INT(json_object_object_length(body), 2);
		CHECK(tjson_str(body, "version") != NULL);
		if (CHECK(id != NULL)) {
			CHECK_STR(http_resp_header(resp,
			                           "Marathon-Deployment-Id"),
			          id);
			copy = strdup(id);
		}
	}
	json_object_put(body);
	return copy;
}

/* METHOD PATH BODY answered with a deployment result of STATUS; the
 * deployment id, to free, or NULL. */
static char *deploy(const char *method, const char *path, const char *body,
                    int status)
{
	struct http_resp resp;
	char *id = NULL;

	if (CHECK(call(method, path, body, &resp) > 0))
		id = check_deployment_result(&resp, status);
	if (resp.status != status)
		fprintf(stderr, "\n%s %s: %d %s\n", method, path, resp.status,
		        resp.body);
	http_resp_free(&resp);
	return id;
}

static void sleep_poll(void)
{
	usleep(POLL_MS * 1000);
}

/* Whether deployment ID is still listed by GET /v2/deployments. */
static bool deployment_listed(const char *id)
{
	int status;
	struct json_object *list = call_json("GET", "/v2/deployments", NULL,
	                                     &status);
	bool found = false;

	for (size_t i = 0; i < tjson_len(list); i++)
		found |= same_id(tjson_str(tjson_at(list, i), "id"), id);
	json_object_put(list);
	return found;
}

/* Wait until deployment ID is done (no longer listed). */
static bool wait_deployment(const char *id)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		if (id == NULL || !deployment_listed(id))
			return true;
		sleep_poll();
	}
	fprintf(stderr, "\ndeployment %s still running\n", id);
	return false;
}

/* Wait until app ID has RUNNING tasks running and INSTANCES instances. */
static bool wait_running(const char *id, int64_t running)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		struct json_object *app = daemon_get_app(&dmn, id);
		bool ok = tjson_int(app, "tasksRunning") == running &&
		          tjson_int(app, "tasksStaged") == 0 &&
		          (int64_t)tjson_len(tjson_get(app, "tasks")) == running;

		json_object_put(app);
		if (ok)
			return true;
		sleep_poll();
	}
	fprintf(stderr, "\napp %s never had %lld tasks running\n", id,
	        (long long)running);
	return false;
}

/* POST a command app ID with INSTANCES and wait until they run. */
static bool create_running(const char *id, int instances, const char *extra)
{
	char body[512];
	char *dep;
	bool ok;

	snprintf(body, sizeof(body),
	         "{\"id\":\"%s\",\"cmd\":\"sleep 1000\",\"cpus\":0.1,"
	         "\"mem\":16,\"instances\":%d%s%s}",
	         id, instances, extra != NULL ? "," : "",
	         extra != NULL ? extra : "");
	{
		struct http_resp resp;
		struct json_object *o;

		if (!CHECK_INT(call("POST", "/v2/apps", body, &resp), 201)) {
			fprintf(stderr, "\n%s\n", resp.body);
			http_resp_free(&resp);
			return false;
		}
		o = http_resp_json(&resp);
		dep = strdup(or_empty(tjson_str(
			tjson_at(tjson_get(o, "deployments"), 0), "id")));
		json_object_put(o);
		http_resp_free(&resp);
	}
	ok = wait_deployment(dep) && wait_running(id, instances);
	free(dep);
	return ok;
}

/* DELETE app ID and wait until it is gone. */
static void delete_app(const char *id)
{
	char path[256];
	char *dep;

	snprintf(path, sizeof(path), "/v2/apps%s", id);
	dep = deploy("DELETE", path, NULL, 200);
	CHECK(wait_deployment(dep));
	free(dep);
}

/* The task ids of app ID, in the order listed; a NULL-terminated array to
 * free with free_strv(). */
static char **task_ids(const char *id)
{
	struct json_object *app = daemon_get_app(&dmn, id);
	struct json_object *tasks = tjson_get(app, "tasks");
	size_t n = tjson_len(tasks);
	char **ids = calloc(n + 1, sizeof(*ids));

	for (size_t i = 0; ids != NULL && i < n; i++)
		ids[i] = strdup(or_empty(tjson_str(tjson_at(tasks, i), "id")));
	json_object_put(app);
	return ids;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}


/* ---- The daemon ----------------------------------------------------------- */

static int suite_init(void)
{
	static const char agents[] =
		"[{\"hostname\":\"h1\",\"cpus\":4,\"mem\":4096,\"disk\":10000,"
		"\"ports\":\"31000-31200\",\"simulated\":true},"
		"{\"hostname\":\"h2\",\"cpus\":4,\"mem\":4096,\"disk\":10000,"
		"\"ports\":\"31000-31200\",\"simulated\":true}]";
	const char *args[] = {"--local_agents", agents_path, NULL};

	if (!testfs_write_temp(agents_path, sizeof(agents_path),
	                       "test_api_apps-agents", agents))
		return -1;
	return daemon_start(&dmn, args) == 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
	int rc = dmn.pid == 0 || daemon_stop(&dmn) == 0 ? 0 : -1;

	unlink(agents_path);
	return rc;
}

/* ---- POST and GET ---------------------------------------------------------- */

static void test_create(void)
{
	static const char body[] =
		"{\"id\":\"basic\",\"cmd\":\"sleep 1000\",\"cpus\":0.1,"
		"\"mem\":16,\"instances\":2}";
	struct http_resp resp;
	struct json_object *o, *deps;
	char location[128];
	const char *dep;

	if (!CHECK_INT(call("POST", "/v2/apps", body, &resp), 201))
		goto out;
	CHECK_STR(http_resp_header(&resp, "Content-Type"), CT_JSON);
	/* The relative id made absolute, as the app's URI. */
	snprintf(location, sizeof(location), "http://127.0.0.1:%u/basic",
	         (unsigned)dmn.port);
	CHECK_STR(http_resp_header(&resp, "Location"), location);
	o = http_resp_json(&resp);
	CHECK_STR(tjson_str(o, "id"), "/basic");
	CHECK_INT(tjson_int(o, "instances"), 2);
	CHECK(tjson_str(o, "version") != NULL);
	CHECK(tjson_has(o, "versionInfo"));
	/* Service ports are assigned by the time the app is answered. */
	CHECK(tjson_int(tjson_at(tjson_get(o, "portDefinitions"), 0), "port") >
	      0);
	CHECK_INT(tjson_int(o, "tasksStaged"), 0);
	CHECK_INT(tjson_int(o, "tasksRunning"), 0);
	CHECK_INT(tjson_int(o, "tasksHealthy"), 0);
	CHECK_INT(tjson_int(o, "tasksUnhealthy"), 0);
	CHECK(!tjson_has(o, "tasks"));
	deps = tjson_get(o, "deployments");
	dep = tjson_str(tjson_at(deps, 0), "id");
	if (CHECK_INT(tjson_len(deps), 1) && CHECK(dep != NULL))
		CHECK_STR(http_resp_header(&resp, "Marathon-Deployment-Id"),
		          dep);
	CHECK(wait_deployment(dep));
	json_object_put(o);
	CHECK(wait_running("/basic", 2));
out:
	http_resp_free(&resp);
}

static void test_create_exists(void)
{
	struct http_resp resp;
	char *before = NULL;

	CHECK(create_running("/dup", 1, NULL));
	if (CHECK_INT(call("GET", "/v2/apps/dup", NULL, &resp), 200))
		before = strdup(resp.body);
	http_resp_free(&resp);
	expect_message("POST", "/v2/apps",
	               "{\"id\":\"/dup\",\"cmd\":\"sleep 2000\"}", 409,
	               "An app with id [/dup] already exists.");
	/* Nothing changed. */
	if (CHECK_INT(call("GET", "/v2/apps/dup", NULL, &resp), 200) && before)
		CHECK(strstr(resp.body, "\"cmd\":\"sleep 1000\"") != NULL);
	http_resp_free(&resp);
	free(before);
	delete_app("/dup");
}

static void test_get_one_and_list(void)
{
	static const char *const counts[] = {"tasksStaged", "tasksRunning",
	                                     "tasksHealthy", "tasksUnhealthy",
	                                     NULL};
	struct json_object *app, *list, *task, *entry = NULL;
	int status;

	if (!CHECK(create_running("/shown", 1, NULL)))
		return;
	/* One app: counts, deployments, tasks and (when any)
	 * lastTaskFailure always. */
	app = daemon_get_app(&dmn, "/shown");
	for (size_t i = 0; counts[i] != NULL; i++)
		CHECK(tjson_int(app, counts[i]) >= 0);
	CHECK_INT(tjson_int(app, "tasksRunning"), 1);
	CHECK(json_object_is_type(tjson_get(app, "deployments"), json_type_array));
	CHECK(!tjson_has(app, "lastTaskFailure"));
	CHECK(!tjson_has(app, "readinessCheckResults"));
	task = tjson_at(tjson_get(app, "tasks"), 0);
	CHECK_STR(tjson_str(task, "appId"), "/shown");
	CHECK_STR(tjson_str(task, "state"), "TASK_RUNNING");
	CHECK(tjson_str(task, "host") != NULL);
	CHECK(tjson_str(task, "startedAt") != NULL);
	json_object_put(app);
	/* The list: counts and deployments, no tasks unless asked. */
	list = call_json("GET", "/v2/apps", NULL, &status);
	CHECK_INT(status, 200);
	for (size_t i = 0; i < tjson_len(tjson_get(list, "apps")); i++) {
		struct json_object *a = tjson_at(tjson_get(list, "apps"), i);

		if (same_id(tjson_str(a, "id"), "/shown"))
			entry = a;
	}
	if (CHECK(entry != NULL)) {
		for (size_t i = 0; counts[i] != NULL; i++)
			CHECK(tjson_has(entry, counts[i]));
		CHECK_INT(tjson_int(entry, "tasksRunning"), 1);
		CHECK(tjson_has(entry, "deployments"));
		CHECK(!tjson_has(entry, "tasks"));
		CHECK(!tjson_has(entry, "lastTaskFailure"));
	}
	json_object_put(list);
	expect_message("GET", "/v2/apps/not/there", NULL, 404,
	               "App '/not/there' does not exist");
	delete_app("/shown");
}

/* The ids GET /v2/apps?QUERY lists, comma-separated, into BUF. */
static const char *listed(const char *query, char *buf, size_t len)
{
	char path[512];
	struct json_object *o;
	int status;
	size_t used = 0;

	snprintf(path, sizeof(path), "/v2/apps?%s", query);
	o = call_json("GET", path, NULL, &status);
	buf[0] = '\0';
	for (size_t i = 0; i < tjson_len(tjson_get(o, "apps")); i++) {
		const char *id = tjson_str(tjson_at(tjson_get(o, "apps"), i), "id");

		if (id != NULL && strncmp(id, "/sel/", 5) == 0 && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			                         used ? "," : "", id);
	}
	json_object_put(o);
	return buf;
}

static void test_selectors(void)
{
	char buf[256];

	CHECK(create_running("/sel/a", 0,
	                     "\"labels\":{\"env\":\"prod\",\"tier\":\"web\"}"));
	CHECK(create_running("/sel/b", 0, "\"labels\":{\"env\":\"qa\"},"
	                                  "\"cmd\":\"python3 -m http.server\""));
	CHECK(create_running("/sel/c", 0, NULL));
	CHECK_STR(listed("label=env", buf, sizeof(buf)), "/sel/a,/sel/b");
	CHECK_STR(listed("label=env==prod", buf, sizeof(buf)), "/sel/a");
	/* != and notin need the label to exist. */
	CHECK_STR(listed("label=env!=prod", buf, sizeof(buf)), "/sel/b");
	CHECK_STR(listed("label=env%20in%20(qa,%20dev)", buf, sizeof(buf)),
	          "/sel/b");
	CHECK_STR(listed("label=env%20notin%20(qa)", buf, sizeof(buf)),
	          "/sel/a");
	CHECK_STR(listed("label=env,tier", buf, sizeof(buf)), "/sel/a");
	CHECK_STR(listed("cmd=HTTP.SERVER", buf, sizeof(buf)), "/sel/b");
	CHECK_STR(listed("id=SEL/C", buf, sizeof(buf)), "/sel/c");
	CHECK_STR(listed("id=sel/&label=env==qa", buf, sizeof(buf)), "/sel/b");
	expect_message("GET", "/v2/apps?label=env%3D%3D", NULL, 422,
	               "Can not parse label selector env==. Reason: a label "
	               "or value expected but end of source found");
	delete_app("/sel/a");
	delete_app("/sel/b");
	delete_app("/sel/c");
}

static void test_embed(void)
{
	struct json_object *o, *a = NULL, *stats;
	int status;

	if (!CHECK(create_running("/emb/one", 1, NULL)))
		return;
	o = call_json("GET",
	              "/v2/apps?id=/emb/&embed=apps.tasks&embed=apps.readiness"
	              "&embed=apps.lastTaskFailure&embed=apps.taskStats"
	              "&embed=apps.nonsense",
	              NULL, &status);
	CHECK_INT(status, 200);
	a = tjson_at(tjson_get(o, "apps"), 0);
	if (CHECK(a != NULL)) {
		CHECK_INT(tjson_len(tjson_get(a, "tasks")), 1);
		CHECK(json_object_is_type(tjson_get(a, "readinessCheckResults"),
		                          json_type_array));
		/* No failure yet: no key. */
		CHECK(!tjson_has(a, "lastTaskFailure"));
		stats = tjson_get(a, "tasksStats");
		CHECK(tjson_int(tjson_get(tjson_get(tjson_get(stats, "totalSummary"),
		                                   "stats"),
		                            "counts"),
		                     "running") == 1);
		CHECK(tjson_has(tjson_get(tjson_get(stats, "totalSummary"), "stats"),
		                 "lifeTime"));
		CHECK(tjson_has(stats, "withLatestConfig"));
		CHECK(tjson_has(a, "deployments"));
	}
	json_object_put(o);
	/* Prefixes are all accepted; "tasks" brings deployments along. */
	o = call_json("GET", "/v2/apps?id=/emb/&embed=app.tasks", NULL,
	              &status);
	a = tjson_at(tjson_get(o, "apps"), 0);
	CHECK_INT(tjson_len(tjson_get(a, "tasks")), 1);
	json_object_put(o);
	o = call_json("GET", "/v2/apps?id=/emb/&embed=tasks", NULL, &status);
	CHECK_INT(tjson_len(tjson_get(tjson_at(tjson_get(o, "apps"), 0), "tasks")),
	          1);
	json_object_put(o);
	/* The apps below a group, with the single app's embeds. */
	o = call_json("GET", "/v2/apps/emb/*", NULL, &status);
	CHECK_INT(status, 200);
	a = tjson_at(tjson_get(o, "*"), 0);
	CHECK_STR(tjson_str(a, "id"), "/emb/one");
	CHECK_INT(tjson_len(tjson_get(a, "tasks")), 1);
	json_object_put(o);
	expect_message("GET", "/v2/apps/nogroup/*", NULL, 404,
	               "Group '/nogroup' does not exist");
	delete_app("/emb/one");
}

/* Pollers get the same bytes until something changes, and the change as
 * soon as it is made. */
static void test_listing_cache(void)
{
	struct http_resp r1, r2, r3;
	char *dep;

	CHECK(create_running("/cache", 1, NULL));
	CHECK_INT(call("GET", "/v2/apps?embed=apps.tasks", NULL, &r1), 200);
	CHECK_INT(call("GET", "/v2/apps?embed=apps.tasks", NULL, &r2), 200);
	CHECK_STR(r2.body, r1.body);
	dep = deploy("PUT", "/v2/apps/cache", "{\"instances\":2}", 200);
	CHECK_INT(call("GET", "/v2/apps?embed=apps.tasks", NULL, &r3), 200);
	CHECK(strstr(r3.body, "\"instances\":2") != NULL);
	CHECK(strcmp(r3.body, r1.body) != 0);
	http_resp_free(&r1);
	http_resp_free(&r2);
	http_resp_free(&r3);
	CHECK(wait_deployment(dep));
	free(dep);
	delete_app("/cache");
}

/* ---- Versions, PUT, PATCH ------------------------------------------------ */

static void test_versions(void)
{
	struct json_object *o, *v;
	char path[256], *dep;
	const char *newest, *oldest;
	int status;

	CHECK(create_running("/ver", 1, NULL));
	dep = deploy("PUT", "/v2/apps/ver", "{\"cmd\":\"sleep 2000\"}", 200);
	CHECK(wait_deployment(dep));
	free(dep);
	o = call_json("GET", "/v2/apps/ver/versions", NULL, &status);
	CHECK_INT(status, 200);
	CHECK_INT(json_object_object_length(o), 1);
	v = tjson_get(o, "versions");
	newest = json_object_get_string(tjson_at(v, 0));
	oldest = json_object_get_string(tjson_at(v, 1));
	if (CHECK_INT(tjson_len(v), 2) && CHECK(newest && oldest)) {
		/* Newest first. */
		CHECK(strcmp(newest, oldest) > 0);
		snprintf(path, sizeof(path), "/v2/apps/ver/versions/%s",
		         oldest);
		{
			struct json_object *app =
				call_json("GET", path, NULL, &status);

			CHECK_INT(status, 200);
			/* The bare definition, no runtime data. */
			CHECK_STR(tjson_str(app, "cmd"), "sleep 1000");
			CHECK_STR(tjson_str(app, "version"), oldest);
			CHECK(!tjson_has(app, "tasksRunning"));
			json_object_put(app);
		}
		/* Roll back to it. */
		snprintf(path, sizeof(path), "{\"version\":\"%s\"}", oldest);
		dep = deploy("PUT", "/v2/apps/ver", path, 200);
		CHECK(wait_deployment(dep));
		free(dep);
		{
			struct json_object *app = daemon_get_app(&dmn, "/ver");

			CHECK_STR(tjson_str(app, "cmd"), "sleep 1000");
			json_object_put(app);
		}
	}
	json_object_put(o);
	expect_message("GET",
	               "/v2/apps/ver/versions/2001-01-01T00:00:00.000Z", NULL,
	               404,
	               "App '/ver' does not exist in version "
	               "2001-01-01T00:00:00.000Z");
	expect_message("GET", "/v2/apps/nover/versions", NULL, 404,
	               "App '/nover' does not exist");
	expect_message("PUT", "/v2/apps/ver",
	               "{\"version\":\"2001-01-01T00:00:00.000Z\"}", 404,
	               "App '/ver' does not exist");
	{
		struct http_resp resp;
		struct json_object *b;

		CHECK_INT(call("PUT", "/v2/apps/ver",
		               "{\"version\":\"2001-01-01T00:00:00.000Z\","
		               "\"cmd\":\"sleep 5\"}",
		               &resp),
		          422);
		b = http_resp_json(&resp);
		CHECK_STR(tjson_str(b, "message"), "Object is not valid");
		CHECK_STR(json_object_get_string(tjson_at(
				  tjson_get(tjson_at(tjson_get(b, "details"), 0),
		                         "errors"),
				  0)),
		          "The 'version' field may only be combined with the "
		          "'id' field.");
		json_object_put(b);
		http_resp_free(&resp);
	}
	delete_app("/ver");
}

static void test_put_patch(void)
{
	struct http_resp resp;
	struct json_object *app;
	char location[128], *dep;

	/* PUT of an app that does not exist creates it: 201, Location. */
	if (CHECK_INT(call("PUT", "/v2/apps/put/me",
	                   "{\"cmd\":\"sleep 1000\",\"cpus\":0.1,\"mem\":16,"
	                   "\"id\":\"/ignored\"}",
	                   &resp),
	              201)) {
		dep = check_deployment_result(&resp, 201);
		snprintf(location, sizeof(location),
		         "http://127.0.0.1:%u/put/me", (unsigned)dmn.port);
		CHECK_STR(http_resp_header(&resp, "Location"), location);
		CHECK(wait_deployment(dep));
		free(dep);
	}
	http_resp_free(&resp);
	/* The URL's id wins over the body's. */
	expect_message("GET", "/v2/apps/ignored", NULL, 404,
	               "App '/ignored' does not exist");
	CHECK(wait_running("/put/me", 1));
	/* Partial update by default: only instances change. */
	dep = deploy("PUT", "/v2/apps/put/me", "{\"instances\":2}", 200);
	CHECK(wait_deployment(dep));
	free(dep);
	app = daemon_get_app(&dmn, "/put/me");
	CHECK_INT(tjson_int(app, "instances"), 2);
	CHECK_STR(tjson_str(app, "cmd"), "sleep 1000");
	json_object_put(app);
	/* PATCH too; force=True is a boolean in any case. */
	dep = deploy("PATCH", "/v2/apps/put/me?force=True",
	             "{\"instances\":1}", 200);
	CHECK(wait_deployment(dep));
	free(dep);
	/* A full replacement resets what the body leaves out. */
	dep = deploy("PUT", "/v2/apps/put/me?partialUpdate=false",
	             "{\"cmd\":\"sleep 3000\",\"mem\":16}", 200);
	CHECK(wait_deployment(dep));
	free(dep);
	app = daemon_get_app(&dmn, "/put/me");
	CHECK_STR(tjson_str(app, "cmd"), "sleep 3000");
	CHECK(json_object_get_double(tjson_get(app, "cpus")) == 1.0);
	json_object_put(app);
	expect_message("PATCH", "/v2/apps/put/none", "{\"instances\":1}", 404,
	               "App '/put/none' does not exist");
	expect_message("PUT", "/v2/apps/put/me?partialUpdate=perhaps",
	               "{\"instances\":1}", 400,
	               "Query parameter 'partialUpdate' must be true or "
	               "false, not 'perhaps'");
	delete_app("/put/me");
}

static void test_put_many(void)
{
	struct json_object *a;
	char *dep;

	CHECK(create_running("/many/a", 1, NULL));
	dep = deploy("PUT", "/v2/apps",
	             "[{\"id\":\"/many/a\",\"instances\":2},"
	             "{\"id\":\"many/b\",\"cmd\":\"sleep 1000\",\"cpus\":0.1,"
	             "\"mem\":16}]",
	             200);
	CHECK(wait_deployment(dep));
	free(dep);
	a = daemon_get_app(&dmn, "/many/a");
	CHECK_INT(tjson_int(a, "instances"), 2);
	json_object_put(a);
	a = daemon_get_app(&dmn, "/many/b");
	CHECK_STR(tjson_str(a, "cmd"), "sleep 1000");
	json_object_put(a);
	expect_message("PUT", "/v2/apps", "[{\"instances\":2}]", 422,
	               "requirement failed: App Update must have app id set");
	expect_message("PATCH", "/v2/apps",
	               "[{\"id\":\"/many/zzz\",\"instances\":2}]", 404,
	               "App '/many/zzz' does not exist");
	dep = deploy("PATCH", "/v2/apps", "[{\"id\":\"/many/b\",\"instances\":0}]",
	             200);
	CHECK(wait_deployment(dep));
	free(dep);
	delete_app("/many/a");
	delete_app("/many/b");
}

/* A deployment that cannot finish (no agent has the cpus) holds the app:
 * another change is refused with the deployments that hold it, unless
 * forced. */
static void test_locked(void)
{
	struct http_resp resp;
	struct json_object *body;
	char *held = NULL, *dep;

	if (!CHECK_INT(call("POST", "/v2/apps",
	                    "{\"id\":\"/locked\",\"cmd\":\"sleep 1000\","
	                    "\"cpus\":100,\"mem\":16}",
	                    &resp),
	               201)) {
		http_resp_free(&resp);
		return;
	}
	held = strdup(or_empty(http_resp_header(&resp, "Marathon-Deployment-Id")));
	http_resp_free(&resp);
	CHECK(deployment_listed(held));
	if (CHECK_INT(call("PUT", "/v2/apps/locked", "{\"cpus\":50}", &resp),
	              409)) {
		body = http_resp_json(&resp);
		CHECK_STR(tjson_str(body, "message"),
		          "App is locked by one or more deployments. Override "
		          "with the option '?force=true'. View details at "
		          "'/v2/deployments/<DEPLOYMENT_ID>'.");
		CHECK_INT(tjson_len(tjson_get(body, "deployments")), 1);
		CHECK_STR(tjson_str(tjson_at(tjson_get(body, "deployments"), 0),
		                     "id"),
		          held);
		json_object_put(body);
	}
	http_resp_free(&resp);
	CHECK_INT(call("POST", "/v2/apps/locked/restart", NULL, &resp), 409);
	http_resp_free(&resp);
	/* Forced: the held deployment is cancelled. */
	dep = deploy("PUT", "/v2/apps/locked?force=true", "{\"cpus\":0.1}",
	             200);
	CHECK(!deployment_listed(held));
	CHECK(wait_deployment(dep));
	free(dep);
	free(held);
	delete_app("/locked");
}

static void test_restart_delete(void)
{
	char **before, **after;
	char *dep;

	CHECK(create_running("/rs", 1, NULL));
	before = task_ids("/rs");
	dep = deploy("POST", "/v2/apps/rs/restart", NULL, 200);
	CHECK(wait_deployment(dep));
	free(dep);
	CHECK(wait_running("/rs", 1));
	after = task_ids("/rs");
	if (CHECK(before && before[0] && after && after[0]))
		CHECK(strcmp(before[0], after[0]) != 0);
	free_strv(before);
	free_strv(after);
	expect_message("POST", "/v2/apps/rs-none/restart", NULL, 404,
	               "App '/rs-none' does not exist");
	delete_app("/rs");
	expect_message("GET", "/v2/apps/rs", NULL, 404,
	               "App '/rs' does not exist");
	expect_message("DELETE", "/v2/apps/rs", NULL, 404,
	               "App '/rs' does not exist");
}

/* ---- Bad input leaves everything as it was -------------------------------- */

static void expect_invalid(const char *body, const char *message,
                           const char *path, const char *error)
{
	struct http_resp resp;
	struct json_object *b, *detail;

	if (!CHECK_INT(call("POST", "/v2/apps", body, &resp), 422)) {
		fprintf(stderr, "\n%s -> %s\n", body, resp.body);
		http_resp_free(&resp);
		return;
	}
	b = http_resp_json(&resp);
	CHECK_STR(tjson_str(b, "message"), message);
	detail = tjson_at(tjson_get(b, "details"), 0);
	CHECK_STR(tjson_str(detail, "path"), path);
	CHECK_STR(json_object_get_string(tjson_at(tjson_get(detail, "errors"), 0)),
	          error);
	json_object_put(b);
	http_resp_free(&resp);
}

static void test_bad_input(void)
{
	struct http_resp before, after, resp;
	struct json_object *b;
	char *big;

	CHECK(create_running("/steady", 1, NULL));
	CHECK_INT(call("GET", "/v2/apps", NULL, &before), 200);
	/* Not JSON at all: 400 with the parser's words. */
	if (CHECK_INT(call("POST", "/v2/apps", "{\"id\": \"x\",", &resp), 400)) {
		b = http_resp_json(&resp);
		CHECK_STR(tjson_str(b, "message"), "Invalid JSON");
		CHECK(tjson_str(b, "details") != NULL);
		json_object_put(b);
	}
	http_resp_free(&resp);
	if (CHECK_INT(call("POST", "/v2/apps", "{'id': 1}", &resp), 400)) {
		b = http_resp_json(&resp);
		CHECK_STR(tjson_str(b, "message"), "Invalid JSON");
		json_object_put(b);
	}
	http_resp_free(&resp);
	if (CHECK_INT(call("POST", "/v2/apps", "", &resp), 400)) {
		b = http_resp_json(&resp);
		CHECK_STR(tjson_str(b, "message"),
		          "Please specify data in JSON format");
		json_object_put(b);
	}
	http_resp_free(&resp);
	/* JSON of the wrong shape: 422. */
	expect_invalid("{\"id\":\"x\",\"cmd\":\"sleep 1\",\"cpus\":\"many\"}",
	               "Invalid JSON", "/cpus", "error.expected.jsnumber");
	expect_invalid("[]", "Invalid JSON", "/", "error.expected.jsobject");
	expect_invalid("{\"cmd\":\"sleep 1\"}", "Invalid JSON", "/id",
	               "error.path.missing");
	expect_invalid("{\"id\":\"Bad_Id\",\"cmd\":\"sleep 1\"}",
	               "Object is not valid", "/id",
	               "must fully match regular expression "
	               "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*"
	               "([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'");
	expect_invalid("{\"id\":\"x\",\"cmd\":\"sleep 1\",\"args\":[\"sleep\"]}",
	               "Object is not valid", "/",
	               "AppDefinition must either contain one of 'cmd' or "
	               "'args', and/or a 'container'.");
	expect_invalid("{\"id\":\"x\",\"cmd\":\"sleep 1\",\"cpus\":-1}",
	               "Object is not valid", "/cpus",
	               "got -1.0, expected 0.0 or more");
	/* The same through PUT and PATCH of the existing app. */
	if (CHECK_INT(call("PUT", "/v2/apps/steady", "{\"mem\":\"lots\"}",
	                   &resp),
	              422)) {
		b = http_resp_json(&resp);
		CHECK_STR(tjson_str(b, "message"), "Invalid JSON");
		json_object_put(b);
	}
	http_resp_free(&resp);
	CHECK_INT(call("PATCH", "/v2/apps/steady", "{\"instances\":-3}", &resp),
	          422);
	http_resp_free(&resp);
	CHECK_INT(call("PATCH", "/v2/apps/steady", "nope", &resp), 400);
	http_resp_free(&resp);
	/* Unknown things. */
	expect_message("DELETE", "/v2/apps/ghost", NULL, 404,
	               "App '/ghost' does not exist");
	expect_message("DELETE", "/v2/apps/steady/tasks/steady.instance-"
	                         "00000000-0000-1000-8000-000000000000._app.1",
	               NULL, 404,
	               "Task 'steady.instance-00000000-0000-1000-8000-"
	               "000000000000._app.1' does not exist");
	expect_message("POST", "/v2/apps?force=sure", "{}", 400,
	               "Query parameter 'force' must be true or false, not "
	               "'sure'");
	/* Over the body limit (1 MiB by default). */
	big = malloc(1200 * 1024 + 1);
	if (CHECK(big != NULL)) {
		memset(big, ' ', 1200 * 1024);
		big[1200 * 1024] = '\0';
		CHECK_INT(call("POST", "/v2/apps", big, &resp), 413);
		http_resp_free(&resp);
		free(big);
	}
	CHECK_INT(call("GET", "/v2/apps", NULL, &after), 200);
	CHECK_STR(after.body, before.body);
	http_resp_free(&before);
	http_resp_free(&after);
	delete_app("/steady");
}

/* ---- Tasks ------------------------------------------------------------------- */

static void test_app_tasks(void)
{
	struct json_object *o, *t;
	int status;

	CHECK(create_running("/tk/list", 2, NULL));
	o = call_json("GET", "/v2/apps/tk/list/tasks", NULL, &status);
	CHECK_INT(status, 200);
	CHECK_INT(json_object_object_length(o), 1);
	CHECK_INT(tjson_len(tjson_get(o, "tasks")), 2);
	t = tjson_at(tjson_get(o, "tasks"), 0);
	CHECK_STR(tjson_str(t, "appId"), "/tk/list");
	CHECK(json_object_is_type(tjson_get(t, "ports"), json_type_array));
	CHECK(tjson_str(t, "slaveId") != NULL);
	CHECK(tjson_str(t, "version") != NULL);
	json_object_put(o);
	o = call_json("GET", "/v2/apps/tk/*/tasks", NULL, &status);
	CHECK_INT(status, 200);
	CHECK_INT(tjson_len(tjson_get(o, "tasks")), 2);
	json_object_put(o);
	expect_message("GET", "/v2/apps/tk/none/tasks", NULL, 404,
	               "App '/tk/none' does not exist");
	delete_app("/tk/list");
}

static void test_kill_task(void)
{
	struct http_resp resp;
	struct json_object *o;
	char **ids, **now, path[512], *dep;
	int status;

	if (!CHECK(create_running("/tk/kill", 2, NULL)))
		return;
	ids = task_ids("/tk/kill");
	if (!CHECK(ids && ids[0] && ids[1]))
		goto out;
	/* Plain: the same instance comes back as its next incarnation. */
	snprintf(path, sizeof(path), "/v2/apps/tk/kill/tasks/%s", ids[0]);
	o = call_json("DELETE", path, NULL, &status);
	CHECK_INT(status, 200);
	CHECK_STR(tjson_str(tjson_get(o, "task"), "id"), ids[0]);
	json_object_put(o);
	CHECK(wait_running("/tk/kill", 2));
	now = task_ids("/tk/kill");
	{
		size_t stem = strlen(ids[0]) - 1; /* without the incarnation */
		bool relaunched = false;

		for (size_t i = 0; now != NULL && now[i] != NULL; i++)
			relaunched |= strncmp(now[i], ids[0], stem) == 0 &&
			              strcmp(now[i], ids[0]) != 0;
		CHECK(relaunched);
	}
	free_strv(now);
	/* scale and wipe together: 400. */
	snprintf(path, sizeof(path),
	         "/v2/apps/tk/kill/tasks/%s?scale=true&wipe=true", ids[1]);
	expect_message("DELETE", path, NULL, 400,
	               "You cannot use scale and wipe at the same time.");
	/* Wipe: a new instance takes its place. */
	snprintf(path, sizeof(path), "/v2/apps/tk/kill/tasks/%s?wipe=true",
	         ids[1]);
	CHECK_INT(call("DELETE", path, NULL, &resp), 200);
	http_resp_free(&resp);
	CHECK(wait_running("/tk/kill", 2));
	now = task_ids("/tk/kill");
	{
		/* The instance id is the task id up to "._app.". */
		size_t stem = strstr(ids[1], "._app.") - ids[1];
		bool same = false;

		for (size_t i = 0; now != NULL && now[i] != NULL; i++)
			same |= strncmp(now[i], ids[1], stem) == 0;
		CHECK(!same);
	}
	/* Scale: a deployment with one instance less. */
	snprintf(path, sizeof(path), "/v2/apps/tk/kill/tasks/%s?scale=true",
	         now != NULL && now[0] != NULL ? now[0] : "x");
	dep = deploy("DELETE", path, NULL, 200);
	CHECK(wait_deployment(dep));
	free(dep);
	free_strv(now);
	CHECK(wait_running("/tk/kill", 1));
	o = daemon_get_app(&dmn, "/tk/kill");
	CHECK_INT(tjson_int(o, "instances"), 1);
	json_object_put(o);
out:
	free_strv(ids);
	delete_app("/tk/kill");
}

static void test_kill_tasks_of_app(void)
{
	struct json_object *o, *app;
	char *dep;
	int status;

	if (!CHECK(create_running("/tk/all", 2, NULL)))
		return;
	/* No task on such a host. */
	o = call_json("DELETE", "/v2/apps/tk/all/tasks?host=nowhere", NULL,
	              &status);
	CHECK_INT(status, 200);
	CHECK_INT(tjson_len(tjson_get(o, "tasks")), 0);
	json_object_put(o);
	o = call_json("DELETE", "/v2/apps/tk/all/tasks", NULL, &status);
	CHECK_INT(status, 200);
	CHECK_INT(tjson_len(tjson_get(o, "tasks")), 2);
	json_object_put(o);
	CHECK(wait_running("/tk/all", 2));
	dep = deploy("DELETE", "/v2/apps/tk/all/tasks?host=*&scale=true",
	             NULL, 200);
	CHECK(wait_deployment(dep));
	free(dep);
	app = daemon_get_app(&dmn, "/tk/all");
	CHECK_INT(tjson_int(app, "instances"), 0);
	json_object_put(app);
	expect_message("DELETE", "/v2/apps/tk/ghost/tasks", NULL, 404,
	               "App '/tk/ghost' does not exist");
	expect_message("DELETE", "/v2/apps/tk/all/tasks?scale=true&wipe=true",
	               NULL, 400,
	               "You cannot use scale and wipe at the same time.");
	delete_app("/tk/all");
}

static void test_all_tasks(void)
{
	struct json_object *o, *t = NULL, *app;
	char body[512], **ids;
	int status;

	if (!CHECK(create_running("/tk/glob", 2, NULL)))
		return;
	app = daemon_get_app(&dmn, "/tk/glob");
	o = call_json("GET", "/v2/tasks?status=running", NULL, &status);
	CHECK_INT(status, 200);
	for (size_t i = 0; i < tjson_len(tjson_get(o, "tasks")); i++)
		if (same_id(tjson_str(tjson_at(tjson_get(o, "tasks"), i), "appId"),
		            "/tk/glob"))
			t = tjson_at(tjson_get(o, "tasks"), i);
	/* The app's service ports beside each task. */
	if (CHECK(t != NULL))
		CHECK(json_object_get_int64(tjson_at(tjson_get(t, "servicePorts"),
		                                     0)) ==
		      tjson_int(tjson_at(tjson_get(app, "portDefinitions"), 0),
		                 "port"));
	json_object_put(o);
	json_object_put(app);
	o = call_json("GET", "/v2/tasks?status=staging", NULL, &status);
	CHECK_INT(status, 200);
	for (size_t i = 0; i < tjson_len(tjson_get(o, "tasks")); i++)
		CHECK(!same_id(tjson_str(tjson_at(tjson_get(o, "tasks"), i),
		                          "appId"),
		               "/tk/glob"));
	json_object_put(o);
	/* Kill by ids; malformed ids are refused, unknown ones skipped. */
	expect_message("POST", "/v2/tasks/delete", "{\"ids\":[\"bogus\"]}", 400,
	               "Invalid task id 'bogus'. [bogus (of class "
	               "java.lang.String)]");
	ids = task_ids("/tk/glob");
	if (CHECK(ids && ids[0])) {
		snprintf(body, sizeof(body),
		         "{\"ids\":[\"%s\",\"tk_glob.instance-00000000-0000-"
		         "1000-8000-000000000000._app.1\"]}",
		         ids[0]);
		o = call_json("POST", "/v2/tasks/delete", body, &status);
		CHECK_INT(status, 200);
		CHECK_INT(tjson_len(tjson_get(o, "tasks")), 1);
		CHECK_STR(tjson_str(tjson_at(tjson_get(o, "tasks"), 0), "id"),
		          ids[0]);
		json_object_put(o);
		CHECK(wait_running("/tk/glob", 2));
	}
	free_strv(ids);
	ids = task_ids("/tk/glob");
	if (CHECK(ids && ids[0])) {
		char *dep;

		snprintf(body, sizeof(body), "{\"ids\":[\"%s\"]}", ids[0]);
		dep = deploy("POST", "/v2/tasks/delete?scale=true", body, 200);
		CHECK(wait_deployment(dep));
		free(dep);
		CHECK(wait_running("/tk/glob", 1));
	}
	free_strv(ids);
	delete_app("/tk/glob");
}

/* ---- Queue and deployments ------------------------------------------------ */

static void test_queue(void)
{
	struct json_object *o, *entry = NULL;
	struct http_resp resp;
	int status;

	CHECK_INT(call("POST", "/v2/apps",
	               "{\"id\":\"/queued\",\"cmd\":\"sleep 1000\","
	               "\"cpus\":100,\"mem\":16,\"instances\":2}",
	               &resp),
	          201);
	http_resp_free(&resp);
	for (int i = 0; i < POLL_TRIES && entry == NULL; i++) {
		o = call_json("GET", "/v2/queue", NULL, &status);
		CHECK_INT(status, 200);
		for (size_t k = 0; k < tjson_len(tjson_get(o, "queue")); k++) {
			struct json_object *e = tjson_at(tjson_get(o, "queue"), k);

			if (same_id(tjson_str(tjson_get(e, "app"), "id"),
			            "/queued"))
				entry = json_object_get(e);
		}
		json_object_put(o);
		if (entry == NULL)
			sleep_poll();
	}
	if (CHECK(entry != NULL)) {
		CHECK_INT(tjson_int(entry, "count"), 2);
		CHECK_STR(tjson_str(entry, "role"), "*");
		CHECK(tjson_has(tjson_get(entry, "delay"), "timeLeftSeconds"));
		CHECK(tjson_has(tjson_get(entry, "delay"), "overdue"));
		CHECK(tjson_str(entry, "since") != NULL);
		CHECK(tjson_has(entry, "processedOffersSummary"));
	}
	json_object_put(entry);
	/* 204, no body. */
	CHECK_INT(call("DELETE", "/v2/queue/queued/delay", NULL, &resp), 204);
	CHECK_INT(resp.body_len, 0);
	http_resp_free(&resp);
	expect_message("DELETE", "/v2/queue/notqueued/delay", NULL, 404,
	               "Application /notqueued not found in tasks queue.");
	delete_app("/queued");
}

static void test_deployments(void)
{
	struct http_resp resp;
	struct json_object *list, *d = NULL;
	char *held = NULL, *revert;
	int status;

	CHECK_INT(call("POST", "/v2/apps",
	               "{\"id\":\"/stuck\",\"cmd\":\"sleep 1000\","
	               "\"cpus\":100,\"mem\":16}",
	               &resp),
	          201);
	held = strdup(or_empty(http_resp_header(&resp, "Marathon-Deployment-Id")));
	http_resp_free(&resp);
	list = call_json("GET", "/v2/deployments", NULL, &status);
	CHECK_INT(status, 200);
	for (size_t i = 0; i < tjson_len(list); i++)
		if (same_id(tjson_str(tjson_at(list, i), "id"), held))
			d = tjson_at(list, i);
	if (CHECK(d != NULL)) {
		CHECK_STR(json_object_get_string(
				  tjson_at(tjson_get(d, "affectedApps"), 0)),
		          "/stuck");
		CHECK(tjson_str(d, "version") != NULL);
		CHECK(tjson_len(tjson_get(d, "steps")) > 0);
		CHECK(tjson_has(d, "currentActions"));
		CHECK(tjson_int(d, "currentStep") >= 1);
		CHECK_INT(tjson_int(d, "totalSteps"),
		          tjson_len(tjson_get(d, "steps")));
	}
	json_object_put(list);
	/* The app shows the deployment that holds it. */
	{
		struct json_object *app = daemon_get_app(&dmn, "/stuck");

		CHECK_STR(tjson_str(tjson_at(tjson_get(app, "deployments"), 0),
		                     "id"),
		          held);
		json_object_put(app);
	}
	expect_message("DELETE", "/v2/deployments/no-such-plan", NULL, 404,
	               "DeploymentPlan no-such-plan does not exist");
	/* Rollback: a revert deployment removes the app it created. */
	{
		char path[128];

		snprintf(path, sizeof(path), "/v2/deployments/%s", held);
		revert = deploy("DELETE", path, NULL, 200);
		CHECK(!deployment_listed(held));
		CHECK(wait_deployment(revert));
		free(revert);
	}
	expect_message("GET", "/v2/apps/stuck", NULL, 404,
	               "App '/stuck' does not exist");
	free(held);
	/* Forced: only cancelled, 202 without a body; the app stays. */
	CHECK_INT(call("POST", "/v2/apps",
	               "{\"id\":\"/stuck2\",\"cmd\":\"sleep 1000\","
	               "\"cpus\":100,\"mem\":16}",
	               &resp),
	          201);
	held = strdup(or_empty(http_resp_header(&resp, "Marathon-Deployment-Id")));
	http_resp_free(&resp);
	{
		char path[128];

		snprintf(path, sizeof(path), "/v2/deployments/%s?force=true",
		         held);
		CHECK_INT(call("DELETE", path, NULL, &resp), 202);
		CHECK_INT(resp.body_len, 0);
		http_resp_free(&resp);
	}
	CHECK(!deployment_listed(held));
	{
		struct json_object *app = daemon_get_app(&dmn, "/stuck2");

		CHECK(app != NULL);
		json_object_put(app);
	}
	free(held);
	delete_app("/stuck2");
}

/* ---- Failures, on this host's real agent ---------------------------------- */

static struct daemon real;

static int real_init(void)
{
	return daemon_start(&real, NULL) == 0 ? 0 : -1;
}

static int real_cleanup(void)
{
	return real.pid == 0 || daemon_stop(&real) == 0 ? 0 : -1;
}

static struct json_object *real_json(const char *method, const char *path,
                                     const char *body, int *status_r)
{
	struct http_resp resp;
	struct json_object *o = NULL;

	*status_r = daemon_call(&real, method, path, NULL, body, &resp) == 0
	                    ? resp.status
	                    : -1;
	if (*status_r > 0 && resp.body_len > 0)
		o = http_resp_json(&resp);
	http_resp_free(&resp);
	return o;
}

/* A task that fails: the app shows its lastTaskFailure (the single app
 * always, the list when asked), and its backoff can be reset. */
static void test_last_failure(void)
{
	struct json_object *o, *app = NULL, *failure = NULL;
	int status;

	o = real_json("POST", "/v2/apps",
	              "{\"id\":\"/fails\",\"cmd\":\"exit 3\",\"cpus\":0.01,"
	              "\"mem\":8,\"backoffSeconds\":60}",
	              &status);
	CHECK_INT(status, 201);
	json_object_put(o);
	for (int i = 0; i < POLL_TRIES && failure == NULL; i++) {
		o = real_json("GET", "/v2/apps/fails", NULL, &status);
		failure = tjson_get(tjson_get(o, "app"), "lastTaskFailure");
		if (failure != NULL)
			app = json_object_get(tjson_get(o, "app"));
		json_object_put(o);
		if (failure == NULL)
			sleep_poll();
	}
	failure = tjson_get(app, "lastTaskFailure");
	if (CHECK(failure != NULL)) {
		CHECK_STR(tjson_str(failure, "appId"), "/fails");
		CHECK_STR(tjson_str(failure, "state"), "TASK_FAILED");
		CHECK(tjson_str(failure, "taskId") != NULL);
		CHECK(tjson_str(failure, "timestamp") != NULL);
		CHECK(tjson_str(failure, "version") != NULL);
	}
	json_object_put(app);
	/* The list only when asked. */
	o = real_json("GET", "/v2/apps", NULL, &status);
	CHECK(!tjson_has(tjson_at(tjson_get(o, "apps"), 0), "lastTaskFailure"));
	json_object_put(o);
	o = real_json("GET", "/v2/apps?embed=apps.lastTaskFailure", NULL,
	              &status);
	CHECK(tjson_has(tjson_at(tjson_get(o, "apps"), 0), "lastTaskFailure"));
	json_object_put(o);
	/* Backed off for a minute: the queue says so, and the reset is
	 * accepted. */
	o = real_json("GET", "/v2/queue", NULL, &status);
	CHECK_INT(status, 200);
	{
		struct json_object *delay =
			tjson_get(tjson_at(tjson_get(o, "queue"), 0), "delay");

		CHECK(tjson_int(delay, "timeLeftSeconds") > 0);
	}
	json_object_put(o);
	o = real_json("DELETE", "/v2/queue/fails/delay", NULL, &status);
	CHECK_INT(status, 204);
	CHECK(o == NULL);
	o = real_json("DELETE", "/v2/apps/fails", NULL, &status);
	CHECK_INT(status, 200);
	json_object_put(o);
}

static CU_TestInfo failure_tests[] = {
	{"lastTaskFailure and the backoff reset", test_last_failure},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo apps_tests[] = {
	{"POST /v2/apps: 201, Location, deployment", test_create},
	{"POST of an existing app: 409", test_create_exists},
	{"GET one app and the list: counts, tasks", test_get_one_and_list},
	{"selectors: cmd, id, label", test_selectors},
	{"embed= and group listings", test_embed},
	{"the listing cache follows changes", test_listing_cache},
	{"versions and rollback", test_versions},
	{"PUT and PATCH of one app", test_put_patch},
	{"PUT and PATCH of several apps", test_put_many},
	{"409 while another deployment holds the app", test_locked},
	{"restart and DELETE", test_restart_delete},
	{"bad input: reference status and nothing changed", test_bad_input},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo tasks_tests[] = {
	{"GET /v2/apps/{id}/tasks", test_app_tasks},
	{"DELETE one task: plain, wipe, scale", test_kill_task},
	{"DELETE the tasks of an app", test_kill_tasks_of_app},
	{"GET /v2/tasks and POST /v2/tasks/delete", test_all_tasks},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo runner_tests[] = {
	{"GET /v2/queue and the delay reset", test_queue},
	{"GET and DELETE /v2/deployments", test_deployments},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"/v2/apps", suite_init, suite_cleanup, NULL, NULL, apps_tests},
	{"tasks", suite_init, suite_cleanup, NULL, NULL, tasks_tests},
	{"queue and deployments", suite_init, suite_cleanup, NULL, NULL,
	 runner_tests},
	{"failures", real_init, real_cleanup, NULL, NULL, failure_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
