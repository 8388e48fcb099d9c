/*
 * test_health_deploy: health-gated deployments and the kill circuit
 * breaker on the real stadiond with real processes (core/health,
 * core/deploy, reference 3.2, 3.4, 4.1; docs/api.md for the breaker):
 *   - a rolling upgrade to a version whose checks fail keeps the old
 *     instances running and the deployment in progress, and
 *     DELETE /v2/deployments/{id} rolls it back;
 *   - when a large share of all checked tasks fails at once, or when
 *     stadiond's loop stalls (SIGSTOP), kills pause and /v2/info says so;
 *     they resume when checks recover.
 * Intervals are one second; every wait polls with a bound.
 */
#include "config.h"

#include <limits.h>
#include <signal.h>
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
#include "lib/tjson.h"

#define POLL_MS 100
#define POLL_TRIES 150 /* 15 s */

static struct daemon dmn;
static char flag_path[PATH_MAX]; /* exists: the /flaky checks fail */

/* daemon_json() on dmn, with the answer on stderr when it is an error:
 * what a failed CHECK_INT(status, ...) cannot show. */
static struct json_object *djson(const char *method, const char *path,
                                 const char *body, int *status_r)
{
	struct json_object *o;

	*status_r = daemon_json(&dmn, method, path, body, &o);
	if (*status_r >= 400)
		fprintf(stderr, "\n%s %s: %d %s\n", method, path, *status_r,
		        o != NULL ? json_object_to_json_string(o) : "");
	return o;
}

static struct json_object *wait_counts(const char *id, int64_t running,
                                       int64_t healthy)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		struct json_object *app = daemon_get_app(&dmn, id);

		if (tjson_int(app, "tasksRunning") == running &&
		    tjson_int(app, "tasksHealthy") == healthy)
			return app;
		json_object_put(app);
		usleep(POLL_MS * 1000);
	}
	fprintf(stderr, "\napp %s never had %lld running, %lld healthy\n", id,
	        (long long)running, (long long)healthy);
	return NULL;
}

/* The sorted ids of APP's tasks, joined into BUF. */
static const char *task_ids(struct json_object *app, char *buf, size_t len)
{
	struct json_object *tasks = tjson_get(app, "tasks");
	size_t n = tjson_len(tasks), at = 0;
	const char *ids[16];

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < 16; i++)
		ids[i] = tjson_str(tjson_at(tasks, i), "id");
	for (size_t i = 0; i < n && i < 16; i++)
		for (size_t k = i + 1; k < n && k < 16; k++)
			if (ids[i] != NULL && ids[k] != NULL &&
			    strcmp(ids[k], ids[i]) < 0) {
				const char *t = ids[i];

				ids[i] = ids[k];
				ids[k] = t;
			}
	for (size_t i = 0; i < n && i < 16 && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s ",
		                       ids[i] != NULL ? ids[i] : "");
	return buf;
}

static bool deployment_listed(const char *id)
{
	int status;
	struct json_object *list = djson("GET", "/v2/deployments", NULL,
	                                 &status);
	bool found = false;

	for (size_t i = 0; i < tjson_len(list); i++) {
		const char *d = tjson_str(tjson_at(list, i), "id");

		found |= d != NULL && strcmp(d, id) == 0;
	}
	json_object_put(list);
	return found;
}

static void delete_app(const char *id)
{
	char path[256];
	int status;

	snprintf(path, sizeof(path), "/v2/apps%s", id);
	json_object_put(djson("DELETE", path, NULL, &status));
	CHECK_INT(status, 200);
	if (!daemon_wait_status(&dmn, path, 404, POLL_TRIES * POLL_MS))
		CHECK(!"the app was deleted");
}

/* GET /v2/info's "health". */
static struct json_object *health_info(void)
{
	int status;
	struct json_object *info = djson("GET", "/v2/info", NULL, &status);
	struct json_object *h = tjson_get(info, "health");

	if (h != NULL)
		json_object_get(h);
	json_object_put(info);
	return h;
}

/* Wait until /v2/info says kills are PAUSED; the reason then, copied. */
static bool wait_paused(bool paused, char *reason, size_t len)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		struct json_object *h = health_info();
		bool p = json_object_get_boolean(tjson_get(h, "killsPaused"));
		const char *r = tjson_str(h, "reason");

		if (reason != NULL)
			snprintf(reason, len, "%s", r != NULL ? r : "");
		json_object_put(h);
		if (p == paused)
			return true;
		usleep(POLL_MS * 1000 / 2);
	}
	fprintf(stderr, "\nkills never %s\n", paused ? "paused" : "resumed");
	return false;
}

/* ---- health-gated rolling upgrade --------------------------------------- */

static const char up_fmt[] =
	"{\"id\":\"/up\",\"cmd\":\"%s\",\"cpus\":0.05,\"mem\":8,"
	"\"instances\":2,\"healthChecks\":[{\"protocol\":\"COMMAND\","
	"\"command\":{\"value\":\"%s\"},\"gracePeriodSeconds\":0,"
	"\"intervalSeconds\":1,\"timeoutSeconds\":1,"
	"\"maxConsecutiveFailures\":0}]}";

static void test_upgrade_unhealthy_rollback(void)
{
	char body[512], before[1024], during[1024], dep[128] = "";
	struct json_object *app, *o;
	int status;

	snprintf(body, sizeof(body), up_fmt, "sleep 1000", "exit 0");
	json_object_put(djson("POST", "/v2/apps", body, &status));
	if (!CHECK_INT(status, 201))
		return;
	if (!CHECK((app = wait_counts("/up", 2, 2)) != NULL))
		return;
	task_ids(app, before, sizeof(before));
	json_object_put(app);
	/* Version 2 never turns healthy. */
	snprintf(body, sizeof(body), up_fmt, "sleep 1001", "exit 1");
	o = djson("PUT", "/v2/apps/up", body, &status);
	CHECK_INT(status, 200);
	snprintf(dep, sizeof(dep), "%s",
	         tjson_str(o, "deploymentId") != NULL
	                 ? tjson_str(o, "deploymentId")
	                 : "");
	json_object_put(o);
	/* The new instances run, unhealthy; the old ones keep serving. */
	app = NULL;
	for (int i = 0; i < POLL_TRIES; i++) {
		json_object_put(app);
		if ((app = wait_counts("/up", 4, 2)) == NULL ||
		    tjson_int(app, "tasksUnhealthy") == 2)
			break;
		usleep(POLL_MS * 1000);
	}
	if (CHECK(app != NULL)) {
		CHECK_INT(tjson_int(app, "tasksUnhealthy"), 2);
		task_ids(app, during, sizeof(during));
		for (char *id = strtok(before, " "); id != NULL;
		     id = strtok(NULL, " "))
			CHECK_CONTAINS(during, id);
	}
	json_object_put(app);
	sleep(2);
	CHECK(deployment_listed(dep));
	app = daemon_get_app(&dmn, "/up");
	CHECK_INT(tjson_int(app, "tasksHealthy"), 2);
	CHECK_INT(tjson_len(tjson_get(app, "deployments")), 1);
	json_object_put(app);
	/* Roll back: version 1 again, its two instances healthy. */
	snprintf(body, sizeof(body), "/v2/deployments/%s", dep);
	o = djson("DELETE", body, NULL, &status);
	CHECK_INT(status, 200);
	json_object_put(o);
	for (int i = 0; i < POLL_TRIES && deployment_listed(dep); i++)
		usleep(POLL_MS * 1000);
	app = NULL;
	for (int i = 0; i < POLL_TRIES; i++) {
		json_object_put(app);
		if ((app = wait_counts("/up", 2, 2)) == NULL ||
		    (tjson_int(app, "tasksUnhealthy") == 0 &&
		     tjson_len(tjson_get(app, "tasks")) == 2))
			break;
		usleep(POLL_MS * 1000);
	}
	if (CHECK(app != NULL)) {
		CHECK_STR(tjson_str(app, "cmd"), "sleep 1000");
		CHECK_INT(tjson_int(app, "tasksUnhealthy"), 0);
	}
	json_object_put(app);
	for (int i = 0; i < POLL_TRIES; i++) {
		int n;

		o = djson("GET", "/v2/deployments", NULL, &status);
		n = (int)tjson_len(o);
		json_object_put(o);
		if (n == 0)
			break;
		usleep(POLL_MS * 1000);
	}
	delete_app("/up");
}

/* ---- the kill circuit breaker ------------------------------------------- */

static void test_breaker_mass_failure(void)
{
	char body[PATH_MAX + 512], before[1024], after[1024], reason[256];
	struct json_object *app;
	int status;
	FILE *f;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/flaky\",\"cmd\":\"sleep 1000\",\"cpus\":0.05,"
	         "\"mem\":8,\"instances\":2,\"healthChecks\":[{\"protocol\":"
	         "\"COMMAND\",\"command\":{\"value\":\"test ! -e %s\"},"
	         "\"gracePeriodSeconds\":0,\"intervalSeconds\":1,"
	         "\"timeoutSeconds\":1,\"maxConsecutiveFailures\":1}]}",
	         flag_path);
	json_object_put(djson("POST", "/v2/apps", body, &status));
	if (!CHECK_INT(status, 201) ||
	    !CHECK((app = wait_counts("/flaky", 2, 2)) != NULL))
		return;
	task_ids(app, before, sizeof(before));
	json_object_put(app);
	/* Every checked task fails at once: kills pause. */
	if ((f = fopen(flag_path, "w")) != NULL)
		fclose(f);
	CHECK(wait_paused(true, reason, sizeof(reason)));
	CHECK_CONTAINS(reason, "failing at once");
	/* Long enough for several kills' worth of failures. */
	sleep(3);
	app = daemon_get_app(&dmn, "/flaky");
	CHECK_INT(tjson_int(app, "tasksUnhealthy"), 2);
	CHECK(tjson_int(tjson_at(tjson_get(tjson_at(tjson_get(app, "tasks"), 0),
	                                   "healthCheckResults"),
	                         0),
	                "consecutiveFailures") >= 2);
	CHECK_STR(task_ids(app, after, sizeof(after)), before);
	json_object_put(app);
	CHECK(daemon_log_contains(&dmn, "kills paused"));
	CHECK(!daemon_log_contains(&dmn, "unhealthy_instance_kill"));
	/* Checks recover: kills resume, and nothing was killed. */
	unlink(flag_path);
	CHECK(wait_paused(false, NULL, 0));
	app = wait_counts("/flaky", 2, 2);
	if (CHECK(app != NULL))
		CHECK_STR(task_ids(app, after, sizeof(after)), before);
	json_object_put(app);
	delete_app("/flaky");
}

static void test_breaker_stall(void)
{
	char reason[256];
	struct json_object *app, *r;
	int status;

	json_object_put(djson(
		"POST", "/v2/apps",
		"{\"id\":\"/steady\",\"cmd\":\"sleep 1000\",\"cpus\":0.05,"
		"\"mem\":8,\"healthChecks\":[{\"protocol\":\"COMMAND\","
		"\"command\":{\"value\":\"sleep 0.2\"},"
		"\"gracePeriodSeconds\":0,\"intervalSeconds\":1,"
		"\"timeoutSeconds\":1,\"maxConsecutiveFailures\":1}]}",
		&status));
	if (!CHECK_INT(status, 201) ||
	    !CHECK((app = wait_counts("/steady", 1, 1)) != NULL))
		return;
	json_object_put(app);
	/* stadiond's loop stops for longer than --health_stall_ms, with
	 * checks under way. */
	kill(dmn.pid, SIGSTOP);
	usleep(1500 * 1000);
	kill(dmn.pid, SIGCONT);
	CHECK(wait_paused(true, reason, sizeof(reason)));
	CHECK_CONTAINS(reason, "stalled");
	CHECK(wait_paused(false, NULL, 0));
	CHECK(daemon_log_contains(&dmn, "event loop stalled"));
	/* The stall was no failure of the task. */
	app = daemon_get_app(&dmn, "/steady");
	r = tjson_at(tjson_get(tjson_at(tjson_get(app, "tasks"), 0),
	                       "healthCheckResults"),
	             0);
	CHECK_INT(tjson_int(app, "tasksHealthy"), 1);
	CHECK_INT(tjson_int(r, "consecutiveFailures"), 0);
	CHECK(json_object_get_type(tjson_get(r, "lastFailure")) ==
	      json_type_null);
	json_object_put(app);
	delete_app("/steady");
}

/* ---- suites ------------------------------------------------------------- */

static int suite_init(void)
{
	const char *args[] = {"--health_breaker_min", "2",
	                      "--health_breaker_percent", "50",
	                      "--health_stall_ms", "500", NULL};
	int fd;

	snprintf(flag_path, sizeof(flag_path),
	         "/tmp/test_health_deploy-XXXXXX");
	if ((fd = mkstemp(flag_path)) < 0)
		return -1;
	close(fd);
	unlink(flag_path);
	return daemon_start(&dmn, args) == 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
	unlink(flag_path);
	return dmn.pid == 0 || daemon_stop(&dmn) == 0 ? 0 : -1;
}

static CU_TestInfo deploy_tests[] = {
	{"upgrade to an unhealthy version: old kept, rolled back",
	 test_upgrade_unhealthy_rollback},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo breaker_tests[] = {
	{"most tasks failing at once: kills pause", test_breaker_mass_failure},
	{"a stalled loop: kills pause, no failure counted",
	 test_breaker_stall},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"health-gated deployments", suite_init, suite_cleanup, NULL, NULL,
	 deploy_tests},
	{"kill circuit breaker", suite_init, suite_cleanup, NULL, NULL,
	 breaker_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
