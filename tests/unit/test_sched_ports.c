/*
 * test_sched_ports: service port assignment (core/sched, marathon-api.md
 * 3.9, AssignDynamicServiceLogic): reuse of the ports an app dropped, the
 * lowest free port over both roots, fixed ports kept, exhaustion with
 * Marathon's message and nothing changed, and the numbers written into
 * both the typed ports and the canonical JSON.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "model/model_app.h"
#include "sched/sched_ports.h"

static struct app *app_of(const char *text)
{
	struct json_object *in = json_tokener_parse(text);
	struct model_errors errs = {0};
	struct app *app = NULL;

	if (!CHECK(in != NULL))
		return NULL;
	if (!CHECK_INT(model_app_parse(in, "/", "", &app, &errs), 0))
		fprintf(stderr, "\n  refused: %s\n", text);
	model_errors_clear(&errs);
	json_object_put(in);
	return app;
}

/* The service ports of APP, typed and in JSON, are WANT (N of them). */
static bool ports_are(const struct app *app, const long long *want,
                      size_t n)
{
	bool m = app->n_port_mappings > 0, ok = true;
	const struct app_port *p = m ? app->port_mappings
	                             : app->port_definitions;
	struct json_object *list = NULL, *c = NULL;

	if (m) {
		json_object_object_get_ex(app->json, "container", &c);
		json_object_object_get_ex(c, "portMappings", &list);
	} else {
		json_object_object_get_ex(app->json, "portDefinitions", &list);
	}
	ok &= CHECK_INT(m ? app->n_port_mappings : app->n_port_definitions,
	                n);
	ok &= CHECK_INT(json_object_array_length(list), n);
	for (size_t i = 0; ok && i < n; i++) {
		struct json_object *v = NULL;

		json_object_object_get_ex(json_object_array_get_idx(list, i),
		                          m ? "servicePort" : "port", &v);
		ok &= CHECK_INT(p[i].service_port, want[i]);
		ok &= CHECK_INT(json_object_get_int64(v), want[i]);
		ok &= CHECK(json_object_is_type(v, json_type_int));
	}
	return ok;
}

#define HOST_APP(id, ports) \
	"{\"id\":\"" id "\",\"cmd\":\"sleep 100\",\"portDefinitions\":[" \
	ports "]}"

static void test_lowest_free(void)
{
	struct app *a = app_of(HOST_APP("/a", "{\"port\":0},{\"port\":0}"));
	struct app *b = app_of(HOST_APP("/b", "{\"port\":10001},"
	                                      "{\"port\":0},{\"port\":5}"));
	struct app *old = app_of(HOST_APP("/gone", "{\"port\":10000}"));
	char err[128] = "";

	if (a != NULL && b != NULL && old != NULL) {
		const struct app *olds[] = {old};
		struct app *news[] = {a, b};
		static const long long wa[] = {10002, 10003};
		static const long long wb[] = {10001, 10004, 5};

		/* 10000 is the old root's, 10001 b's own. */
		CHECK_INT(sched_ports_assign(olds, 1, news, 2, 10000, 20000,
		                             err, sizeof(err)),
		          0);
		ports_are(a, wa, 2);
		ports_are(b, wb, 3);
		/* GET shows them. */
		{
			struct json_object *j = model_app_to_json(a);
			struct json_object *pd = NULL, *v = NULL;

			json_object_object_get_ex(j, "portDefinitions", &pd);
			json_object_object_get_ex(
				json_object_array_get_idx(pd, 1), "port", &v);
			CHECK_INT(json_object_get_int64(v), 10003);
			json_object_put(j);
		}
	}
	model_app_free(a);
	model_app_free(b);
	model_app_free(old);
}

/* The new version of an app gets back the ports its old version had in
 * the range and no longer declares, in their order, before fresh ones;
 * ports out of range are not reused. */
static void test_reuse_dropped(void)
{
	struct app *prev = app_of(HOST_APP(
		"/web", "{\"port\":10007},{\"port\":10003},{\"port\":80},"
		        "{\"port\":10005}"));
	struct app *next = app_of(HOST_APP(
		"/web", "{\"port\":0},{\"port\":10005},{\"port\":0},"
		        "{\"port\":0},{\"port\":0}"));
	struct app *other = app_of(HOST_APP("/other", "{\"port\":10000}"));

	if (prev != NULL && next != NULL && other != NULL) {
		const struct app *olds[] = {other, prev};
		struct app *news[] = {next};
		static const long long want[] = {10007, 10005, 10003, 10001,
		                                 10002};

		CHECK_INT(sched_ports_assign(olds, 2, news, 1, 10000, 20000,
		                             NULL, 0),
		          0);
		ports_are(next, want, 5);
	}
	model_app_free(prev);
	model_app_free(next);
	model_app_free(other);
}

/* Bridge apps: container.portMappings[].servicePort; fixed kept. */
static void test_mappings(void)
{
	struct app *a = app_of(
		"{\"id\":\"/d\",\"container\":{\"type\":\"DOCKER\",\"docker\":"
		"{\"image\":\"nginx\"},\"portMappings\":[{\"containerPort\":"
		"80,\"servicePort\":0},{\"containerPort\":81,\"servicePort\":"
		"12000},{\"containerPort\":82}]},\"networks\":[{\"mode\":"
		"\"container/bridge\"}]}");

	if (a != NULL) {
		struct app *news[] = {a};
		static const long long want[] = {11000, 12000, 11001};

		CHECK_INT(sched_ports_assign(NULL, 0, news, 1, 11000, 11999,
		                             NULL, 0),
		          0);
		ports_are(a, want, 3);
	}
	model_app_free(a);
}

/* Exhaustion: Marathon's message, and no app changed. */
static void test_exhausted(void)
{
	struct app *a = app_of(HOST_APP("/a", "{\"port\":0}"));
	struct app *b = app_of(HOST_APP("/b", "{\"port\":0},{\"port\":0}"));
	struct app *full = app_of(HOST_APP("/f", "{\"port\":10001}"));
	char err[128] = "";

	if (a != NULL && b != NULL && full != NULL) {
		const struct app *olds[] = {full};
		struct app *news[] = {a, b};
		static const long long zero1[] = {0}, zero2[] = {0, 0};

		/* [10000, 10002]: 10001 taken, two free for three zeros. */
		CHECK_INT(sched_ports_assign(olds, 1, news, 2, 10000, 10002,
		                             err, sizeof(err)),
		          -1);
		CHECK_INT(errno, ENOSPC);
		CHECK_STR(err, "All ports in the range [10000-10002) are "
		               "already in use");
		ports_are(a, zero1, 1);
		ports_are(b, zero2, 2);
	}
	if (a != NULL) {
		struct app *news[] = {a};
		static const long long one[] = {10002};

		/* A range of one port, inclusive. */
		CHECK_INT(sched_ports_assign(NULL, 0, news, 1, 10002, 10002,
		                             NULL, 0),
		          0);
		ports_are(a, one, 1);
	}
	CHECK_INT(sched_ports_assign(NULL, 0, NULL, 0, 2, 1, NULL, 0), -1);
	CHECK_INT(errno, EINVAL);
	model_app_free(a);
	model_app_free(b);
	model_app_free(full);
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"lowest free", test_lowest_free},
		{"reuse dropped", test_reuse_dropped},
		{"port mappings", test_mappings},
		{"exhausted", test_exhausted},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"sched_ports", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
