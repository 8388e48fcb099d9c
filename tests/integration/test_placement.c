/*
 * test_placement: constraints on a multi-agent cluster, on the real
 * stadiond (reference 5, 3.3).  Five simulated agents over two racks and
 * two zones (--local_agents):
 *
 *   a1 r1 z1    a2 r1 z1    a3 r1 z2    a4 r2 z2    a5 r2 z2
 *
 * Each test posts an app, waits (polling with a bound, asserting nothing
 * about time) until its placement settles, checks which agents its tasks
 * run on and what /v2/queue says about those that could not be placed,
 * and deletes it.  The matcher fills the least-loaded agent first, in
 * agent order, so placements below are the ones Marathon 1.10's rules give
 * for offers arriving in that order.  Every validation message of
 * reference 5 is asserted with its path.  A second daemon has two agents
 * that run real processes on this machine: a task constrained to one of
 * them is placed there and sees its hostname in HOST.
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

#define POLL_MS 50
#define POLL_TRIES 200

static struct daemon dmn;
static char agents_path[PATH_MAX];

/* The agents' racks, by hostname a1..a5. */
static const char *const rack_of[] = {"r1", "r1", "r1", "r2", "r2"};

/* ---- HTTP ---------------------------------------------------------------- */

/* METHOD PATH with BODY (may be NULL) on dmn: the parsed JSON answer (NULL
 * when none) and the status in *STATUS_R (-1 on a transport failure). */
static struct json_object *call_json(const char *method, const char *path,
                                     const char *body, int *status_r)
{
	struct json_object *o;

	*status_r = daemon_json(&dmn, method, path, body, &o);
	return o;
}

/* The app's placement: tasks per agent (a1..a5) and how many run. */
struct placement {
	uint32_t on[5];
	uint32_t running, total;
};

static bool placement_of(const char *id, struct placement *p)
{
	char path[256];
	struct json_object *body, *tasks;
	int status;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/v2/apps%s/tasks", id);
	if ((body = call_json("GET", path, NULL, &status)) == NULL)
		return false;
	tasks = tjson_get(body, "tasks");
	for (size_t i = 0; i < tjson_len(tasks); i++) {
		struct json_object *t = tjson_at(tasks, i);
		const char *host = tjson_str(t, "host");
		const char *state = tjson_str(t, "state");

		p->total++;
		if (state != NULL && strcmp(state, "TASK_RUNNING") == 0)
			p->running++;
		if (host != NULL && host[0] == 'a' && host[1] >= '1' &&
		    host[1] <= '5' && host[2] == '\0')
			p->on[host[1] - '1']++;
	}
	json_object_put(body);
	return status == 200;
}

/* The app's /v2/queue entry (a new reference), NULL when it has none. */
static struct json_object *queue_entry(const char *id)
{
	struct json_object *body, *q, *found = NULL;
	int status;

	if ((body = call_json("GET", "/v2/queue", NULL, &status)) == NULL)
		return NULL;
	q = tjson_get(body, "queue");
	for (size_t i = 0; i < tjson_len(q); i++) {
		struct json_object *e = tjson_at(q, i);
		const char *app = tjson_str(tjson_get(e, "app"), "id");

		if (app != NULL && strcmp(app, id) == 0)
			found = json_object_get(e);
	}
	json_object_put(body);
	return found;
}

/* The declined count of REASON in the entry's rejectSummaryLastOffers. */
static int64_t declined(struct json_object *entry, const char *reason)
{
	struct json_object *s = tjson_get(
		tjson_get(entry, "processedOffersSummary"),
		"rejectSummaryLastOffers");

	for (size_t i = 0; i < tjson_len(s); i++)
		if (tjson_str(tjson_at(s, i), "reason") != NULL &&
		    strcmp(tjson_str(tjson_at(s, i), "reason"), reason) == 0)
			return tjson_int(tjson_at(s, i), "declined");
	return -1;
}

/* Wait until RUNNING tasks of ID run and QUEUED instances wait in the
 * queue; then *P is its placement. */
static bool settle(const char *id, uint32_t running, uint32_t queued,
                   struct placement *p)
{
	for (int i = 0; i < POLL_TRIES; i++) {
		struct json_object *e = queue_entry(id);
		int64_t count = e != NULL ? tjson_int(e, "count") : 0;

		json_object_put(e);
		if (placement_of(id, p) && p->running == running &&
		    p->total == running && count == (int64_t)queued)
			return true;
		usleep(POLL_MS * 1000);
	}
	fprintf(stderr, "%s: %u of %u running, %u placed\n", id, p->running,
	        running, p->total);
	return false;
}

static bool post_app(const char *id, uint32_t instances,
                     const char *constraints)
{
	char body[1024];
	struct json_object *o;
	int status;

	snprintf(body, sizeof(body),
	         "{\"id\":\"%s\",\"cmd\":\"sleep 1000\",\"cpus\":0.1,"
	         "\"mem\":16,\"instances\":%u,\"constraints\":%s}",
	         id, instances, constraints);
	o = call_json("POST", "/v2/apps", body, &status);
	json_object_put(o);
	return CHECK_INT(status, 201);
}

/* Delete ID and wait until its tasks are gone, so the next test starts
 * on empty agents. */
static void delete_app(const char *id)
{
	char path[256];
	struct placement p;
	int status;

	snprintf(path, sizeof(path), "/v2/apps%s", id);
	json_object_put(call_json("DELETE", path, NULL, &status));
	CHECK_INT(status, 200);
	for (int i = 0; i < POLL_TRIES; i++) {
		json_object_put(call_json("GET", path, NULL, &status));
		if (status == 404 && placement_of(id, &p) == false)
			return;
		usleep(POLL_MS * 1000);
	}
	CHECK(status == 404);
}

static uint32_t on_rack(const struct placement *p, const char *rack)
{
	uint32_t n = 0;

	for (size_t i = 0; i < 5; i++)
		if (strcmp(rack_of[i], rack) == 0)
			n += p->on[i];
	return n;
}

/* ---- placement --------------------------------------------------------- */

/* One per host: the sixth instance has no host left and waits, the app
 * Waiting (queued and overdue), every agent declining it for its
 * constraint. */
static void test_unique_hostname(void)
{
	struct placement p;
	struct json_object *e;

	if (!post_app("/unique", 6, "[[\"hostname\",\"UNIQUE\"]]"))
		return;
	if (CHECK(settle("/unique", 5, 1, &p)))
		for (size_t i = 0; i < 5; i++)
			CHECK_INT(p.on[i], 1);
	/* Waiting (reference 3.5): queued, not delayed, overdue once the
	 * entry is a second old. */
	for (int i = 0; i < POLL_TRIES; i++) {
		e = queue_entry("/unique");
		if (e == NULL || json_object_get_boolean(tjson_get(
		                         tjson_get(e, "delay"), "overdue")))
			break;
		json_object_put(e);
		usleep(POLL_MS * 1000);
	}
	if (CHECK(e != NULL)) {
		CHECK_INT(tjson_int(e, "count"), 1);
		CHECK(json_object_get_boolean(
			tjson_get(tjson_get(e, "delay"), "overdue")));
		CHECK_INT(tjson_int(tjson_get(e, "delay"), "timeLeftSeconds"),
		          0);
		CHECK_INT(declined(e, "UnfulfilledConstraint"), 5);
		CHECK_INT(declined(e, "InsufficientCpus"), 0);
	}
	json_object_put(e);
	delete_app("/unique");
}

static void test_group_by_rack(void)
{
	struct placement p;

	if (!post_app("/groupby", 6, "[[\"rack_id\",\"GROUP_BY\"]]"))
		return;
	if (CHECK(settle("/groupby", 6, 0, &p))) {
		CHECK_INT(on_rack(&p, "r1"), 3);
		CHECK_INT(on_rack(&p, "r2"), 3);
	}
	delete_app("/groupby");
}

/* GROUP_BY with a value: no group grows before that many are in use. */
static void test_group_by_value(void)
{
	struct placement p;

	if (!post_app("/groupby2", 4, "[[\"rack_id\",\"GROUP_BY\",\"2\"]]"))
		return;
	if (CHECK(settle("/groupby2", 4, 0, &p))) {
		CHECK_INT(on_rack(&p, "r1"), 2);
		CHECK_INT(on_rack(&p, "r2"), 2);
	}
	delete_app("/groupby2");
}

static void test_cluster_rack(void)
{
	struct placement p;

	if (!post_app("/cluster", 4, "[[\"rack_id\",\"CLUSTER\",\"r1\"]]"))
		return;
	if (CHECK(settle("/cluster", 4, 0, &p)))
		CHECK_INT(on_rack(&p, "r1"), 4);
	delete_app("/cluster");
}

static void test_like_unlike_hostname(void)
{
	struct placement p;

	if (post_app("/like", 4, "[[\"hostname\",\"LIKE\",\"a[12]\"]]")) {
		if (CHECK(settle("/like", 4, 0, &p)))
			CHECK_INT(p.on[0] + p.on[1], 4);
		delete_app("/like");
	}
	if (post_app("/unlike", 3,
	             "[[\"hostname\",\"UNLIKE\",\"a[12]\"]]")) {
		if (CHECK(settle("/unlike", 3, 0, &p)))
			CHECK_INT(p.on[2] + p.on[3] + p.on[4], 3);
		delete_app("/unlike");
	}
}

/* Two per rack: four run, the fifth waits. */
static void test_max_per_rack(void)
{
	struct placement p;
	struct json_object *e;

	if (!post_app("/maxper", 5, "[[\"rack_id\",\"MAX_PER\",\"2\"]]"))
		return;
	if (CHECK(settle("/maxper", 4, 1, &p))) {
		CHECK_INT(on_rack(&p, "r1"), 2);
		CHECK_INT(on_rack(&p, "r2"), 2);
	}
	e = queue_entry("/maxper");
	CHECK_INT(declined(e, "UnfulfilledConstraint"), 5);
	json_object_put(e);
	delete_app("/maxper");
}

/* IS on the fault domain: @zone is the agents' "zone" attribute. */
static void test_is_zone(void)
{
	struct placement p;

	if (!post_app("/is", 3, "[[\"@zone\",\"IS\",\"z2\"]]"))
		return;
	if (CHECK(settle("/is", 3, 0, &p)))
		CHECK_INT(p.on[2] + p.on[3] + p.on[4], 3);
	delete_app("/is");
}

/* Rejections are counted by the first reason of Marathon's funnel: the
 * constraint before the resources.  Five cpus fit no agent (four each);
 * LIKE a1 refuses the other four before their cpus are looked at. */
static void test_reasons(void)
{
	const char *body =
		"{\"id\":\"/big\",\"cmd\":\"sleep 1000\",\"cpus\":5,"
		"\"mem\":16,\"instances\":1,"
		"\"constraints\":[[\"hostname\",\"LIKE\",\"a1\"]]}";
	struct json_object *o, *e = NULL;
	int status;

	o = call_json("POST", "/v2/apps", body, &status);
	json_object_put(o);
	if (!CHECK_INT(status, 201))
		return;
	for (int i = 0; i < POLL_TRIES; i++) {
		e = queue_entry("/big");
		if (declined(e, "InsufficientCpus") > 0)
			break;
		json_object_put(e);
		e = NULL;
		usleep(POLL_MS * 1000);
	}
	CHECK_INT(declined(e, "UnfulfilledConstraint"), 4);
	CHECK_INT(declined(e, "InsufficientCpus"), 1);
	CHECK_INT(declined(e, "InsufficientMemory"), 0);
	json_object_put(e);
	delete_app("/big");
}

/* A field no agent has: nothing but UNLIKE places. */
static void test_missing_field(void)
{
	struct placement p;

	if (!post_app("/nofield", 2, "[[\"gpu_model\",\"UNIQUE\"]]"))
		return;
	CHECK(settle("/nofield", 0, 2, &p));
	delete_app("/nofield");
	if (!post_app("/nofield2", 2, "[[\"gpu_model\",\"UNLIKE\",\"x\"]]"))
		return;
	CHECK(settle("/nofield2", 2, 0, &p));
	delete_app("/nofield2");
}

/* Scale-down keeps GROUP_BY's racks even.  Three instances all land on
 * r1 (Marathon 1.10's rule lets a used group grow while it is the smallest
 * in use); scaling to four adds the youngest, on r2.  Scaling to two then
 * kills from the larger rack, leaving 1 + 1, where youngest-first alone
 * would kill the one on r2 and leave 2 + 0. */
static void test_group_by_scale_down(void)
{
	struct placement p;
	struct json_object *o;
	int status;

	if (!post_app("/even", 3, "[[\"rack_id\",\"GROUP_BY\"]]"))
		return;
	if (CHECK(settle("/even", 3, 0, &p)))
		CHECK_INT(on_rack(&p, "r1"), 3);
	o = call_json("PUT", "/v2/apps/even", "{\"instances\":4}", &status);
	json_object_put(o);
	CHECK_INT(status, 200);
	if (CHECK(settle("/even", 4, 0, &p))) {
		CHECK_INT(on_rack(&p, "r1"), 3);
		CHECK_INT(on_rack(&p, "r2"), 1);
	}
	o = call_json("PUT", "/v2/apps/even", "{\"instances\":2}", &status);
	json_object_put(o);
	CHECK_INT(status, 200);
	if (CHECK(settle("/even", 2, 0, &p))) {
		CHECK_INT(on_rack(&p, "r1"), 1);
		CHECK_INT(on_rack(&p, "r2"), 1);
	}
	delete_app("/even");
}

/* ---- validation (reference 5) ------------------------------------------ */

/* POST an app with CONSTRAINTS: 422 with MESSAGE at /constraints(INDEX). */
static void expect_invalid(const char *constraints, size_t index,
                           const char *message)
{
	char body[1024], path[64];
	struct json_object *o, *details;
	int status;
	bool found = false;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/invalid\",\"cmd\":\"sleep 1\",\"constraints\":%s}",
	         constraints);
	snprintf(path, sizeof(path), "/constraints(%zu)", index);
	o = call_json("POST", "/v2/apps", body, &status);
	CHECK_INT(status, 422);
	CHECK_STR(tjson_str(o, "message"), "Object is not valid");
	details = tjson_get(o, "details");
	for (size_t i = 0; i < tjson_len(details); i++) {
		struct json_object *d = tjson_at(details, i);
		const char *p = tjson_str(d, "path");

		if (p != NULL && strcmp(p, path) == 0) {
			found = true;
			CHECK_INT(tjson_len(tjson_get(d, "errors")), 1);
			CHECK_STR(json_object_get_string(
			                  tjson_at(tjson_get(d, "errors"), 0)),
			          message);
		}
	}
	if (!CHECK(found))
		fprintf(stderr, "no %s in the 422 of %s\n", path, constraints);
	json_object_put(o);
}

static void test_validation_messages(void)
{
	static const struct {
		const char *constraints;
		size_t index;
		const char *message;
	} cases[] = {
		{"[[\"hostname\"]]", 0,
		 "Each constraint must have either 2 or 3 fields"},
		{"[[\"a\",\"UNIQUE\"],[\"a\",\"UNIQUE\",\"b\",\"c\"]]", 1,
		 "Each constraint must have either 2 or 3 fields"},
		{"[[\"\",\"UNIQUE\"]]", 0,
		 "missing field for constraint declaration"},
		{"[[\"hostname\",\"UNIQUE\",\"\"]]", 0,
		 "UNIQUE does not accept a value"},
		{"[[\"hostname\",\"UNIQUE\",\"x\"]]", 0,
		 "UNIQUE does not accept a value"},
		{"[[\"rack_id\",\"GROUP_BY\",\"two\"]]", 0,
		 "GROUP BY must define an integer value or else no value at "
		 "all"},
		{"[[\"hostname\",\"LIKE\"]]", 0,
		 "LIKE and UNLIKE require a non-empty, regular expression "
		 "value"},
		{"[[\"hostname\",\"UNLIKE\",\"\"]]", 0,
		 "LIKE and UNLIKE require a non-empty, regular expression "
		 "value"},
		{"[[\"hostname\",\"LIKE\",\"a(\"]]", 0,
		 "is not a valid regular expression"},
		{"[[\"rack_id\",\"MAX_PER\"]]", 0,
		 "MAX_PER requires an integer value"},
		{"[[\"rack_id\",\"MAX_PER\",\"1.5\"]]", 0,
		 "MAX_PER requires an integer value"},
		{"[[\"rack_id\",\"IS\",\"a,b\"]]", 0,
		 "IS only supports Mesos text and float values (see "
		 "http://mesos.apache.org/documentation/latest/"
		 "attributes-resources/)"},
		/* An unknown operator: named, with the operators loaded. */
		{"[[\"hostname\",\"UNIQUE\"],[\"hostname\",\"NOT_IN\",\"a\"]]",
		 1,
		 "operator must be one of the following UNIQUE, CLUSTER, "
		 "GROUP_BY, LIKE, MAX_PER, UNLIKE or IS; no constraint plugin "
		 "\"NOT_IN\" is loaded"},
	};
	struct json_object *o;
	int status;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_invalid(cases[i].constraints, cases[i].index,
		               cases[i].message);
	/* Nothing refused was created. */
	o = call_json("GET", "/v2/apps/invalid", NULL, &status);
	CHECK_INT(status, 404);
	json_object_put(o);
	/* Operators are upper-cased, as Marathon does, and stored so. */
	if (post_app("/lower", 1, "[[\"hostname\",\"unique\"]]")) {
		o = call_json("GET", "/v2/apps/lower", NULL, &status);
		CHECK_STR(json_object_get_string(tjson_at(tjson_at(tjson_get(
		                  tjson_get(o, "app"), "constraints"), 0), 1)),
		          "UNIQUE");
		json_object_put(o);
		delete_app("/lower");
	}
}

/* ---- the suite ---------------------------------------------------------- */

static int suite_init(void)
{
	static const char agents[] =
		"[{\"hostname\":\"a1\",\"cpus\":4,\"mem\":4096,\"simulated\":"
		"true,\"attributes\":{\"rack_id\":\"r1\",\"zone\":\"z1\"}},"
		"{\"hostname\":\"a2\",\"cpus\":4,\"mem\":4096,\"simulated\":"
		"true,\"attributes\":{\"rack_id\":\"r1\",\"zone\":\"z1\"}},"
		"{\"hostname\":\"a3\",\"cpus\":4,\"mem\":4096,\"simulated\":"
		"true,\"attributes\":{\"rack_id\":\"r1\",\"zone\":\"z2\"}},"
		"{\"hostname\":\"a4\",\"cpus\":4,\"mem\":4096,\"simulated\":"
		"true,\"attributes\":{\"rack_id\":\"r2\",\"zone\":\"z2\"}},"
		"{\"hostname\":\"a5\",\"cpus\":4,\"mem\":4096,\"simulated\":"
		"true,\"attributes\":{\"rack_id\":\"r2\",\"zone\":\"z2\"}}]";
	const char *args[] = {"--local_agents", agents_path, NULL};

	if (!testfs_write_temp(agents_path, sizeof(agents_path),
	                       "test_placement-agents", agents))
		return -1;
	return daemon_start(&dmn, args) == 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
	int rc = dmn.pid == 0 || daemon_stop(&dmn) == 0 ? 0 : -1;

	unlink(agents_path);
	return rc;
}

/* ---- real tasks on agents of one host ----------------------------------- */

static struct daemon real;
static char real_agents_path[PATH_MAX];

/* Two agents that run real processes on this machine: each task is placed
 * and accounted on its agent and sees that agent's hostname in HOST,
 * spelled STADION_HOST here (--env_vars_prefix). */
static int real_init(void)
{
	static const char agents[] =
		"[{\"hostname\":\"ra-host\",\"cpus\":2,\"mem\":1024,"
		"\"attributes\":{\"rack_id\":\"ra\"}},"
		"{\"hostname\":\"rb-host\",\"cpus\":2,\"mem\":1024,"
		"\"attributes\":{\"rack_id\":\"rb\"}}]";
	const char *args[] = {"--local_agents", real_agents_path,
	                      "--env_vars_prefix", "STADION_", NULL};

	if (!testfs_write_temp(real_agents_path, sizeof(real_agents_path),
	                       "test_placement-real", agents))
		return -1;
	return daemon_start(&real, args) == 0 ? 0 : -1;
}

static int real_cleanup(void)
{
	int rc = real.pid == 0 || daemon_stop(&real) == 0 ? 0 : -1;

	unlink(real_agents_path);
	return rc;
}

static void test_real_host_env(void)
{
	const char *body =
		"{\"id\":\"/onrb\",\"cmd\":\"echo HOST=$HOST/$STADION_HOST; "
		"exec sleep "
		"1000\",\"cpus\":0.1,\"mem\":16,\"instances\":1,"
		"\"constraints\":[[\"rack_id\",\"CLUSTER\",\"rb\"]]}";
	struct http_resp resp;
	struct json_object *o = NULL, *t;
	char path[PATH_MAX + 64], line[256] = "";
	const char *id = NULL, *host = NULL;

	if (!CHECK(daemon_call(&real, "POST", "/v2/apps", NULL, body,
	                       &resp) == 0) ||
	    !CHECK_INT(resp.status, 201)) {
		http_resp_free(&resp);
		return;
	}
	http_resp_free(&resp);
	for (int i = 0; i < POLL_TRIES && id == NULL; i++) {
		json_object_put(o);
		o = NULL;
		if (daemon_call(&real, "GET", "/v2/apps/onrb/tasks", NULL, NULL,
		                &resp) == 0)
			o = http_resp_json(&resp);
		http_resp_free(&resp);
		t = tjson_at(tjson_get(o, "tasks"), 0);
		if (tjson_str(t, "state") != NULL &&
		    strcmp(tjson_str(t, "state"), "TASK_RUNNING") == 0) {
			id = tjson_str(t, "id");
			host = tjson_str(t, "host");
		} else {
			usleep(POLL_MS * 1000);
		}
	}
	if (!CHECK(id != NULL))
		goto out_put;
	CHECK_STR(host, "rb-host");
	snprintf(path, sizeof(path), "%s/sandboxes/%s/stdout", real.data_dir,
	         id);
	for (int i = 0; i < POLL_TRIES && line[0] == '\0'; i++) {
		FILE *f = fopen(path, "r");

		if (f != NULL) {
			if (fgets(line, sizeof(line), f) == NULL)
				line[0] = '\0';
			fclose(f);
		}
		if (line[0] == '\0')
			usleep(POLL_MS * 1000);
	}
	CHECK_STR(line, "HOST=/rb-host\n");
out_put:
	json_object_put(o);
	if (daemon_call(&real, "DELETE", "/v2/apps/onrb", NULL, NULL,
	                &resp) == 0)
		CHECK_INT(resp.status, 200);
	http_resp_free(&resp);
}

static CU_TestInfo real_tests[] = {
	{"a real task runs on its agent, (STADION_)HOST says which",
	 test_real_host_env},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo tests[] = {
	{"UNIQUE hostname: 5 run, 1 waits", test_unique_hostname},
	{"GROUP_BY rack_id: 3 and 3", test_group_by_rack},
	{"GROUP_BY rack_id:2: 2 and 2", test_group_by_value},
	{"CLUSTER rack_id:r1", test_cluster_rack},
	{"LIKE and UNLIKE on hostname", test_like_unlike_hostname},
	{"MAX_PER rack_id:2: 4 run, 1 waits", test_max_per_rack},
	{"IS on @zone", test_is_zone},
	{"rejections by reason, constraint first", test_reasons},
	{"a field no agent has", test_missing_field},
	{"scale-down keeps GROUP_BY even", test_group_by_scale_down},
	{"every validation message", test_validation_messages},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"placement on five agents", suite_init, suite_cleanup, NULL, NULL,
	 tests},
	{"agents of one host", real_init, real_cleanup, NULL, NULL,
	 real_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
