/*
 * test_model_app: app definitions (core/model/model_app.c and
 * model_errors.c): the defaults of a minimal app, every validation with
 * Marathon's message and path, the read errors under "Invalid JSON", the
 * deprecated forms migrated, the 422 body, the round trip, partial updates,
 * the change classification and the versionInfo rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "model/model_app.h"
#include "model/model_errors.h"

#define MINIMAL "\"id\":\"basic-0\",\"cmd\":\"sleep 100\""

static struct model_errors errs;
static struct app *app;

static void setup(void)
{
	model_errors_init(&errs);
	app = NULL;
}

static void teardown(void)
{
	model_errors_clear(&errs);
	model_app_free(app);
	app = NULL;
}

/* Parse TEXT (JSON) into app/errs; returns model_app_parse's result. */
static int parse(const char *text)
{
	struct json_object *in = json_tokener_parse(text);
	int rc;

	if (!CHECK(in != NULL)) {
		fprintf(stderr, "  not JSON: %s\n", text);
		return -3;
	}
	model_errors_clear(&errs);
	model_app_free(app);
	app = NULL;
	rc = model_app_parse(in, "/", "", &app, &errs);
	json_object_put(in);
	return rc;
}

/* Whether JSON's serialization equals the JSON text WANT, compared as
 * values; prints both when not. */
static bool json_is(struct json_object *json, const char *want)
{
	struct json_object *w = json_tokener_parse(want);
	bool eq = w != NULL && json_object_equal(json, w);

	if (!CHECK(eq))
		fprintf(stderr, "\n  got:  %s\n  want: %s\n",
		        json_object_to_json_string_ext(json,
		                                       JSON_C_TO_STRING_PLAIN),
		        want);
	json_object_put(w);
	return eq;
}

/* The app's JSON without the keys that every test would repeat. */
static struct json_object *app_json_without_defaults(void)
{
	static const char *const common[] = {
		"instances", "cpus", "mem", "disk", "gpus", "executor",
		"backoffSeconds", "backoffFactor", "maxLaunchDelaySeconds",
		"role", "env", "labels", "constraints", "fetch",
		"healthChecks", "readinessChecks", "secrets",
		"upgradeStrategy", "unreachableStrategy", "killSelection",
		"dependencies", "requirePorts", "id", "cmd",
	};
	struct json_object *j = model_app_to_json(app);

	for (size_t i = 0; j != NULL && i < sizeof(common) / sizeof(*common);
	     i++)
		json_object_object_del(j, common[i]);
	return j;
}

/* The minimal app of the conformance tests: every default of the GET
 * example in the reference (2.4), before service port assignment. */
static void test_defaults(void)
{
	struct json_object *j;

	if (!CHECK_INT(parse("{\"id\":\"basic-0\",\"cmd\":\"sleep 100\","
	                     "\"cpus\":0.1,\"mem\":10,\"instances\":1}"),
	               0))
		return;
	j = model_app_to_json(app);
	json_is(j,
	        "{\"id\":\"/basic-0\",\"cmd\":\"sleep 100\",\"instances\":1,"
	        "\"cpus\":0.1,\"mem\":10,\"disk\":0,\"gpus\":0,"
	        "\"executor\":\"\",\"backoffSeconds\":1,"
	        "\"backoffFactor\":1.15,\"maxLaunchDelaySeconds\":300,"
	        "\"role\":\"*\",\"env\":{},\"labels\":{},\"constraints\":[],"
	        "\"fetch\":[],\"healthChecks\":[],\"readinessChecks\":[],"
	        "\"secrets\":{},\"upgradeStrategy\":{\"minimumHealthCapacity\""
	        ":1,\"maximumOverCapacity\":1},\"unreachableStrategy\":"
	        "{\"inactiveAfterSeconds\":0,\"expungeAfterSeconds\":0},"
	        "\"killSelection\":\"YOUNGEST_FIRST\",\"dependencies\":[],"
	        "\"networks\":[{\"mode\":\"host\"}],\"portDefinitions\":"
	        "[{\"port\":0,\"name\":\"default\",\"protocol\":\"tcp\"}],"
	        "\"requirePorts\":false}");
	/* Numbers print as Marathon prints them. */
	CHECK_CONTAINS(json_object_to_json_string_ext(j,
	                                              JSON_C_TO_STRING_PLAIN),
	               "\"cpus\":0.1,\"mem\":10,");
	json_object_put(j);
	CHECK_STR(app->id, "/basic-0");
	CHECK_STR(app->cmd, "sleep 100");
	CU_ASSERT_DOUBLE_EQUAL(app->cpus, 0.1, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(app->mem, 10, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(app->backoff_factor, 1.15, 1e-9);
	CHECK_INT(app->instances, 1);
	CHECK_INT(app->backoff_seconds, 1);
	CHECK_INT(app->max_launch_delay_seconds, 300);
	CHECK_INT(app->task_kill_grace_period_seconds, -1);
	CHECK_INT(app->network_mode, APP_NET_HOST);
	CHECK_INT(app->container_type, APP_CONTAINER_NONE);
	CHECK_INT(app->kill_selection, APP_KILL_YOUNGEST_FIRST);
	CHECK_INT(app->n_port_definitions, 1);
	CHECK_INT(app->port_definitions[0].service_port, 0);
	CHECK_STR(app->port_definitions[0].name, "default");
	CHECK_STR(app->port_definitions[0].protocol, "tcp");
	CHECK_INT(app->n_port_mappings, 0);
	CHECK(app->version == NULL);
	CU_ASSERT_DOUBLE_EQUAL(app->upgrade_min_health, 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(app->upgrade_max_over, 1, 0);
}

/* Typed fields of a fuller app. */
static void test_typed(void)
{
	if (!CHECK_INT(parse("{\"id\":\"/g/web\",\"args\":[\"a\",\"b\"],"
	                     "\"container\":{\"docker\":{\"image\":\"nginx\","
	                     "\"parameters\":[{\"key\":\"k\",\"value\":\"v\"}]"
	                     "}},\"env\":{\"A\":\"1\"},\"labels\":{\"L\":\"x\"},"
	                     "\"constraints\":[[\"hostname\",\"UNIQUE\"],"
	                     "[\"rack\",\"group_By\",\"2\"]],"
	                     "\"killSelection\":\"OLDEST_FIRST\","
	                     "\"taskKillGracePeriodSeconds\":5,"
	                     "\"dependencies\":[\"db\",\"/x/y\",\"../z\"],"
	                     "\"unreachableStrategy\":\"disabled\","
	                     "\"upgradeStrategy\":{\"minimumHealthCapacity\":"
	                     "0.5,\"maximumOverCapacity\":0}}"),
	               0))
		return;
	CHECK_INT(app->n_args, 2);
	CHECK_STR(app->args[1], "b");
	CHECK(app->cmd == NULL);
	CHECK_INT(app->container_type, APP_CONTAINER_DOCKER);
	CHECK_STR(app->docker_image, "nginx");
	CHECK_INT(app->n_docker_parameters, 1);
	CHECK_STR(app->docker_parameters[0].value, "v");
	CHECK_INT(app->n_env, 1);
	CHECK_STR(app->env[0].key, "A");
	CHECK_STR(app->labels[0].value, "x");
	CHECK_INT(app->n_constraints, 2);
	CHECK(app->constraints[0].value == NULL);
	/* Operators are stored upper-cased, as Marathon does. */
	CHECK_STR(app->constraints[1].op, "GROUP_BY");
	CHECK_STR(app->constraints[1].value, "2");
	CHECK_INT(app->kill_selection, APP_KILL_OLDEST_FIRST);
	CHECK_INT(app->task_kill_grace_period_seconds, 5);
	CHECK_INT(app->n_dependencies, 3);
	CHECK_STR(app->dependencies[0], "/g/db");
	CHECK_STR(app->dependencies[1], "/x/y");
	CHECK_STR(app->dependencies[2], "/z");
	CHECK(app->unreachable_disabled);
	CU_ASSERT_DOUBLE_EQUAL(app->upgrade_min_health, 0.5, 0);

	/* A single instance app defaults to {0, 0}. */
	if (CHECK_INT(parse("{" MINIMAL ",\"labels\":{"
	                    "\"MARATHON_SINGLE_INSTANCE_APP\":\"true\"}}"),
	              0)) {
		CU_ASSERT_DOUBLE_EQUAL(app->upgrade_min_health, 0, 0);
		CU_ASSERT_DOUBLE_EQUAL(app->upgrade_max_over, 0, 0);
	}
}

/* Every validation, with Marathon's message at Marathon's path. */
static void test_validation(void)
{
	static const struct {
		const char *body, *path, *message;
	} cases[] = {
		{"{\"id\":\"/\",\"cmd\":\"sleep 1\"}", "/id",
		 "Path must contain at least one path element"},
		{"{\"id\":\"/\",\"cmd\":\"sleep 1\"}", "/", "must not be root"},
		{"{\"id\":\"Web\",\"cmd\":\"sleep 1\"}", "/id",
		 "must fully match regular expression '^(([a-z0-9]|[a-z0-9]"
		 "[a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*"
		 "[a-z0-9])|(\\.|\\.\\.)$'"},
		{"{\"id\":\"a/tasks\",\"cmd\":\"sleep 1\"}", "/id",
		 "must not end with any of the following reserved keywords: "
		 "restart, tasks, versions"},
		{"{\"id\":\"a\"}", "/",
		 "AppDefinition must either contain one of 'cmd' or 'args', "
		 "and/or a 'container'."},
		{"{\"id\":\"a\",\"cmd\":\"sleep 1\",\"args\":[\"x\"]}", "/",
		 "AppDefinition must either contain one of 'cmd' or 'args', "
		 "and/or a 'container'."},
		{"{\"id\":\"a\",\"container\":{\"type\":\"MESOS\"}}", "/",
		 "AppDefinition must either contain one of 'cmd' or 'args', "
		 "and/or a 'container'."},
		{"{\"id\":\"a\",\"cmd\":\"x\"}", "/",
		 "must not be an empty string"},
		{"{" MINIMAL ",\"cpus\":-1}", "/cpus",
		 "got -1.0, expected 0.0 or more"},
		{"{" MINIMAL ",\"mem\":-3.5}", "/mem",
		 "got -3.5, expected 0.0 or more"},
		{"{" MINIMAL ",\"disk\":-3}", "/disk",
		 "got -3.0, expected 0.0 or more"},
		{"{" MINIMAL ",\"instances\":-3}", "/instances",
		 "got -3, expected 0 or more"},
		{"{" MINIMAL ",\"gpus\":-1}", "/gpus",
		 "got -1, expected 0 or more"},
		{"{" MINIMAL ",\"backoffSeconds\":-1}", "/backoffSeconds",
		 "got -1, expected 0 or more"},
		{"{" MINIMAL ",\"backoffFactor\":0.5}", "/backoffFactor",
		 "got 0.5, expected 1.0 or more"},
		{"{" MINIMAL ",\"maxLaunchDelaySeconds\":-2}",
		 "/maxLaunchDelaySeconds", "got -2, expected 0 or more"},
		{"{" MINIMAL ",\"upgradeStrategy\":{\"minimumHealthCapacity\":"
		 "1.5}}",
		 "/upgradeStrategy/minimumHealthCapacity", "is greater than 1"},
		{"{" MINIMAL ",\"upgradeStrategy\":{\"maximumOverCapacity\":"
		 "-0.1}}",
		 "/upgradeStrategy/maximumOverCapacity", "is less than 0"},
		{"{" MINIMAL ",\"instances\":2,\"labels\":{"
		 "\"MARATHON_SINGLE_INSTANCE_APP\":\"true\"}}",
		 "/", "Single instance app may only have one instance"},
		{"{" MINIMAL ",\"labels\":{\"MARATHON_SINGLE_INSTANCE_APP\":"
		 "\"true\"},\"upgradeStrategy\":{\"minimumHealthCapacity\":"
		 "0.5}}",
		 "/upgradeStrategy/minimumHealthCapacity",
		 "got 0.5, expected 0.0"},
		{"{" MINIMAL ",\"unreachableStrategy\":{\"inactiveAfterSeconds\""
		 ":-1}}",
		 "/unreachableStrategy/inactiveAfterSeconds",
		 "got -1, expected 0 or more"},
		{"{" MINIMAL ",\"unreachableStrategy\":{\"inactiveAfterSeconds\""
		 ":10,\"expungeAfterSeconds\":5}}",
		 "/unreachableStrategy/inactiveAfterSeconds",
		 "got 10, expected 5 or less"},
		{"{" MINIMAL ",\"portDefinitions\":[{\"port\":80,\"name\":\"a\"},"
		 "{\"port\":81,\"name\":\"a\"}]}",
		 "/portDefinitions", "Port names must be unique."},
		{"{" MINIMAL ",\"portDefinitions\":[{\"port\":80},"
		 "{\"port\":80}]}",
		 "/portDefinitions", "Ports must be unique."},
		{"{" MINIMAL ",\"portDefinitions\":[{\"port\":70000}]}",
		 "/portDefinitions(0)/port", "got 70000, expected 65535 or less"},
		{"{" MINIMAL ",\"portDefinitions\":[{\"port\":1,\"name\":\"A_\"}]}",
		 "/portDefinitions(0)/name",
		 "must fully match regular expression "
		 "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"},
		{"{" MINIMAL ",\"ports\":[80,80]}", "/", "ports must be unique"},
		{"{" MINIMAL ",\"ports\":[80],\"portDefinitions\":[{\"port\":81}]}",
		 "/", "cannot specify both ports and port definitions"},
		{"{" MINIMAL ",\"uris\":[\"http://a/b\"],\"fetch\":[{\"uri\":"
		 "\"http://c\"}]}",
		 "/uris", "may not be set in conjunction with fetch"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"container/bridge\"}],"
		 "\"portDefinitions\":[{\"port\":80}]}",
		 "/", "portDefinitions are only allowed with host-networking"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"container/bridge\"}],"
		 "\"container\":{\"type\":\"MESOS\",\"portMappings\":"
		 "[{\"containerPort\":80,\"name\":\"a\"},{\"containerPort\":81,"
		 "\"name\":\"a\"}]}}",
		 "/container/portMappings", "Port names must be unique."},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"host\"},"
		 "{\"mode\":\"container/bridge\"}]}",
		 "/networks",
		 "May specify a single host network, single bridge network, or "
		 "else 1-to-n container networks"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"host\",\"name\":\"x\"}]}",
		 "/networks", "Host networks may not have names or labels"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"container/bridge\","
		 "\"name\":\"x\"}]}",
		 "/networks", "Bridge networks may not have names"},
		{"{" MINIMAL ",\"networks\":[{\"name\":\"x\"},{\"name\":\"x\"}]}",
		 "/networks", "Duplicate networks are not allowed"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"container\"}]}",
		 "/networks",
		 "Network name must be specified when container network is "
		 "selected."},
		{"{\"id\":\"a\",\"container\":{\"docker\":{\"image\":\"i\"}},"
		 "\"networks\":[{\"name\":\"x\"},{\"name\":\"y\"}]}",
		 "/",
		 "may only specify a single container network when using the "
		 "Docker container engine"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"host\"}],\"container\":"
		 "{\"docker\":{\"image\":\"i\",\"network\":\"HOST\"}}}",
		 "/", "must not specify both container.docker.network and "
		      "networks"},
		{"{" MINIMAL ",\"networks\":[{\"name\":\"x\"}],\"ipAddress\":{}}",
		 "/", "must not specify both networks and ipAddress"},
		{"{" MINIMAL ",\"ports\":[80],\"ipAddress\":{\"networkName\":"
		 "\"x\"}}",
		 "/", "cannot specify both an IP address and port"},
		{"{" MINIMAL ",\"healthChecks\":[{\"protocol\":\"HTTP\","
		 "\"portIndex\":1}]}",
		 "/healthChecks(0)",
		 "Health check port indices must address an element of the "
		 "ports array or container port mappings."},
		{"{" MINIMAL ",\"portDefinitions\":[],\"healthChecks\":[{}]}",
		 "/healthChecks(0)",
		 "Health check port indices must address an element of the "
		 "ports array or container port mappings."},
		{"{" MINIMAL ",\"healthChecks\":[{\"protocol\":\"COMMAND\","
		 "\"command\":{\"value\":\"true\"}},{\"protocol\":"
		 "\"MESOS_TCP\"},{\"protocol\":\"MESOS_HTTP\"}]}",
		 "/", "AppDefinition can contain at most one Mesos health check"},
		{"{" MINIMAL ",\"healthChecks\":[{\"protocol\":\"UDP\"}]}",
		 "/healthChecks(0)/protocol",
		 "unknown protocol UDP; use HTTP, HTTPS, TCP, COMMAND, "
		 "MESOS_HTTP, MESOS_HTTPS or MESOS_TCP"},
		{"{" MINIMAL ",\"healthChecks\":[{\"protocol\":\"TCP\","
		 "\"intervalSeconds\":0}]}",
		 "/healthChecks(0)/intervalSeconds", "got 0, expected 1 or more"},
		{"{" MINIMAL ",\"healthChecks\":[{\"protocol\":\"TCP\","
		 "\"maxConsecutiveFailures\":-1}]}",
		 "/healthChecks(0)/maxConsecutiveFailures",
		 "got -1, expected 0 or more"},
		{"{" MINIMAL ",\"healthChecks\":[{\"protocol\":\"COMMAND\"}]}",
		 "/healthChecks(0)/command",
		 "a COMMAND health check needs command.value, the shell command "
		 "to run"},
		{"{" MINIMAL ",\"constraints\":[[\"hostname\"]]}",
		 "/constraints(0)",
		 "Each constraint must have either 2 or 3 fields"},
		{"{" MINIMAL ",\"env\":{\"P\":{\"secret\":\"s\"}}}", "/env/P",
		 "Feature secrets is not enabled. Enable with --enable_features "
		 "secrets)"},
		{"{" MINIMAL ",\"gpus\":1,\"container\":{\"docker\":{\"image\":"
		 "\"i\"}}}",
		 "/", "GPU resources only work with the Mesos containerizer"},
		{"{\"id\":\"a\",\"container\":{\"docker\":{\"image\":\"\"}}}",
		 "/container/docker/image", "must not be empty"},
		{"{\"id\":\"a\",\"container\":{\"type\":\"MESOS\",\"docker\":"
		 "{\"image\":\"i\",\"parameters\":[{\"key\":\"a\",\"value\":"
		 "\"b\"}]}}}",
		 "/container/docker/parameters", "must be empty"},
		{"{" MINIMAL ",\"acceptedResourceRoles\":[]}",
		 "/acceptedResourceRoles", "must not be empty"},
		{"{" MINIMAL ",\"acceptedResourceRoles\":[\"slave_public\"]}",
		 "/acceptedResourceRoles",
		 "acceptedResourceRoles can only contain * and *"},
		{"{" MINIMAL ",\"executor\":\"a//b\"}", "/executor",
		 "must fully match regular expression "
		 "'^(//cmd)|(/?[^/]+(/[^/]+)*)|$'"},
		{"{" MINIMAL ",\"readinessChecks\":[{},{}]}", "/readinessChecks",
		 "got 2, expected 1 or less"},
		{"{" MINIMAL ",\"secrets\":{\"s\":{\"source\":\"x\"}}}",
		 "/secrets",
		 "Feature secrets is not enabled. Enable with --enable_features "
		 "secrets)"},
		{"{\"id\":\"a\",\"container\":{\"docker\":{\"image\":\"i\","
		 "\"pullConfig\":{\"secret\":\"s\"}}}}",
		 "/container/docker/pullConfig",
		 "pullConfig is not supported with Docker containerizer"},
		{"{\"id\":\"a\",\"container\":{\"type\":\"MESOS\",\"docker\":"
		 "{\"image\":\"i\"},\"appc\":{\"image\":\"j\"}}}",
		 "/container",
		 "mesos containers should specify, at most, a single image "
		 "type"},
		{"{" MINIMAL ",\"dependencies\":[\"Bad\"]}", "/dependencies(0)",
		 "must fully match regular expression '^(([a-z0-9]|[a-z0-9]"
		 "[a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*"
		 "[a-z0-9])|(\\.|\\.\\.)$'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *body;

		if (!CHECK_INT(parse(cases[i].body), -1)) {
			fprintf(stderr, "  accepted: %s\n", cases[i].body);
			continue;
		}
		CHECK(app == NULL);
		if (!CHECK_STR(model_errors_find(&errs, cases[i].path),
		               cases[i].message)) {
			body = model_errors_to_json(&errs);
			fprintf(stderr, "  %s\n  -> %s\n", cases[i].body,
			        json_object_to_json_string(body));
			json_object_put(body);
			continue;
		}
		body = model_errors_to_json(&errs);
		CHECK_STR(json_object_get_string(
				  json_object_object_get(body, "message")),
		          "Object is not valid");
		json_object_put(body);
	}
}

/* Wrong types and missing required fields fail while reading, under
 * "Invalid JSON" with Play's keys, and hide the validation errors. */
static void test_read_errors(void)
{
	static const struct {
		const char *body, *path, *key;
	} cases[] = {
		{"{\"id\":1,\"cmd\":\"sleep 1\"}", "/id",
		 "error.expected.jsstring"},
		{"{\"cmd\":\"sleep 1\"}", "/id", "error.path.missing"},
		{"{" MINIMAL ",\"cpus\":\"1\"}", "/cpus",
		 "error.expected.jsnumber"},
		{"{" MINIMAL ",\"instances\":1.5}", "/instances",
		 "error.expected.int"},
		{"{" MINIMAL ",\"requirePorts\":1}", "/requirePorts",
		 "error.expected.jsboolean"},
		{"{" MINIMAL ",\"args\":\"x\"}", "/args",
		 "error.expected.jsarray"},
		{"{" MINIMAL ",\"labels\":[]}", "/labels",
		 "error.expected.jsobject"},
		{"{" MINIMAL ",\"labels\":{\"a\":1}}", "/labels/a",
		 "error.expected.jsstring"},
		{"{" MINIMAL ",\"env\":{\"a\":true}}", "/env/a",
		 "error.expected.jsstring"},
		{"{" MINIMAL ",\"constraints\":[[\"a\",1]]}",
		 "/constraints(0)(1)", "error.expected.jsstring"},
		{"{" MINIMAL ",\"killSelection\":\"RANDOM\"}", "/killSelection",
		 "error.unknown.enum.literal"},
		{"{" MINIMAL ",\"portDefinitions\":[{\"name\":\"a\"}]}",
		 "/portDefinitions(0)/port", "error.path.missing"},
		{"{" MINIMAL ",\"portDefinitions\":[{\"port\":1,\"protocol\":"
		 "\"sctp\"}]}",
		 "/portDefinitions(0)/protocol", "error.unknown.enum.literal"},
		{"{\"id\":\"a\",\"container\":{\"docker\":{}}}",
		 "/container/docker/image", "error.path.missing"},
		{"{" MINIMAL ",\"upgradeStrategy\":{\"minimumHealthCapacity\":"
		 "\"x\"}}",
		 "/upgradeStrategy/minimumHealthCapacity",
		 "error.expected.jsnumber"},
		{"{" MINIMAL ",\"fetch\":[{}]}", "/fetch(0)/uri",
		 "error.path.missing"},
		{"{" MINIMAL ",\"networks\":[{\"mode\":\"overlay\"}]}",
		 "/networks(0)/mode", "error.unknown.enum.literal"},
		{"{" MINIMAL ",\"networks\":[null]}", "/networks(0)",
		 "error.expected.jsobject"},
		{"{" MINIMAL ",\"args\":[null]}", "/args(0)",
		 "error.expected.jsstring"},
		{"{" MINIMAL ",\"acceptedResourceRoles\":[1]}",
		 "/acceptedResourceRoles(0)", "error.expected.jsstring"},
		{"{" MINIMAL ",\"unreachableStrategy\":\"off\"}",
		 "/unreachableStrategy", "error.unknown.enum.literal"},
		{"{" MINIMAL ",\"container\":{\"type\":\"RKT\"}}",
		 "/container/type", "error.unknown.enum.literal"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *body;

		if (!CHECK_INT(parse(cases[i].body), -1))
			continue;
		CHECK_STR(model_errors_find(&errs, cases[i].path),
		          cases[i].key);
		body = model_errors_to_json(&errs);
		CHECK_STR(json_object_get_string(
				  json_object_object_get(body, "message")),
		          "Invalid JSON");
		json_object_put(body);
	}
	/* Not an object at all. */
	CHECK_INT(parse("[1]"), -1);
	CHECK_STR(model_errors_find(&errs, "/"), "error.expected.jsobject");
}

/* The 422 bodies, exactly: one entry per path, errors grouped, the
 * prefix of an array element, read errors alone. */
static void test_body(void)
{
	struct json_object *in, *body;

	CHECK_INT(parse("{\"id\":\"a\",\"cpus\":-1,\"mem\":-1,\"upgradeStrategy\""
	                ":{\"minimumHealthCapacity\":2}}"),
	          -1);
	body = model_errors_to_json(&errs);
	json_is(body,
	        "{\"message\":\"Object is not valid\",\"details\":["
	        "{\"path\":\"/cpus\",\"errors\":[\"got -1.0, expected 0.0 or "
	        "more\"]},"
	        "{\"path\":\"/mem\",\"errors\":[\"got -1.0, expected 0.0 or "
	        "more\"]},"
	        "{\"path\":\"/upgradeStrategy/minimumHealthCapacity\","
	        "\"errors\":[\"is greater than 1\"]},"
	        "{\"path\":\"/\",\"errors\":[\"AppDefinition must either "
	        "contain one of 'cmd' or 'args', and/or a 'container'.\"]}]}");
	json_object_put(body);

	/* Two messages at one path are grouped. */
	CHECK_INT(parse("{\"id\":\"a\",\"cmd\":\"s\",\"args\":[\"x\"]}"), -1);
	body = model_errors_to_json(&errs);
	json_is(body,
	        "{\"message\":\"Object is not valid\",\"details\":["
	        "{\"path\":\"/\",\"errors\":[\"must not be an empty string\","
	        "\"AppDefinition must either contain one of 'cmd' or 'args', "
	        "and/or a 'container'.\"]}]}");
	json_object_put(body);

	/* Read errors only, though cpus is also out of bounds. */
	CHECK_INT(parse("{\"id\":5,\"cmd\":\"sleep 1\",\"cpus\":-1,"
	                "\"mem\":\"x\"}"),
	          -1);
	body = model_errors_to_json(&errs);
	json_is(body,
	        "{\"message\":\"Invalid JSON\",\"details\":["
	        "{\"path\":\"/id\",\"errors\":[\"error.expected.jsstring\"]},"
	        "{\"path\":\"/mem\",\"errors\":[\"error.expected.jsnumber\"]}]}");
	json_object_put(body);

	/* Elements of PUT /v2/apps carry their index. */
	model_errors_clear(&errs);
	in = json_tokener_parse("{\"id\":\"/\",\"cmd\":\"sleep 1\"}");
	CHECK_INT(model_app_parse(in, "/", "/apps(1)", &app, &errs), -1);
	json_object_put(in);
	body = model_errors_to_json(&errs);
	json_is(body,
	        "{\"message\":\"Object is not valid\",\"details\":["
	        "{\"path\":\"/apps(1)/id\",\"errors\":[\"Path must contain at "
	        "least one path element\"]},"
	        "{\"path\":\"/apps(1)\",\"errors\":[\"must not be root\"]}]}");
	json_object_put(body);
}

/* The deprecated forms come out in their canonical shape. */
static void test_deprecated(void)
{
	struct json_object *j;

	/* ports -> portDefinitions, uris -> fetch (extract by extension) */
	if (CHECK_INT(parse("{" MINIMAL ",\"ports\":[0,8080],\"uris\":["
	                    "\"http://h/a.tgz\",\"http://h/b.sh\"]}"),
	              0)) {
		j = model_app_to_json(app);
		json_is(json_object_object_get(j, "portDefinitions"),
		        "[{\"port\":0,\"protocol\":\"tcp\"},{\"port\":8080,"
		        "\"protocol\":\"tcp\"}]");
		json_is(json_object_object_get(j, "fetch"),
		        "[{\"uri\":\"http://h/a.tgz\",\"extract\":true,"
		        "\"executable\":false,\"cache\":false},"
		        "{\"uri\":\"http://h/b.sh\",\"extract\":false,"
		        "\"executable\":false,\"cache\":false}]");
		CHECK(json_object_object_get(j, "ports") == NULL);
		CHECK(json_object_object_get(j, "uris") == NULL);
		json_object_put(j);
		CHECK_INT(app->port_definitions[1].service_port, 8080);
	}

	/* Port mappings on the host network are dropped, as Marathon's
	 * forDeprecated normalization does, not refused. */
	if (CHECK_INT(parse("{\"id\":\"/d\",\"container\":{\"type\":"
	                    "\"DOCKER\",\"docker\":{\"image\":\"nginx\"},"
	                    "\"portMappings\":[{\"containerPort\":80,"
	                    "\"hostPort\":0}]}}"),
	              0)) {
		j = model_app_to_json(app);
		json_is(json_object_object_get(
		                json_object_object_get(j, "container"),
		                "portMappings"),
		        "[]");
		json_object_put(j);
		CHECK_INT(app->n_port_mappings, 0);
		CHECK(app->network_mode == APP_NET_HOST);
	}

	/* Conformance 5 (pinger-bridge-app): docker.network BRIDGE and
	 * docker.portMappings, a stray key in docker, fetch. */
	if (CHECK_INT(parse("{\"id\":\"/pinger\",\"cmd\":\"./pinger\","
	                    "\"container\":{\"type\":\"DOCKER\",\"docker\":{"
	                    "\"image\":\"python:3\",\"network\":\"BRIDGE\","
	                    "\"portMappings\":[{\"containerPort\":80,"
	                    "\"hostPort\":0,\"protocol\":\"tcp\",\"name\":"
	                    "\"http\"}],\"stray\":1}},\"fetch\":[{\"uri\":"
	                    "\"http://h/p.py\"}]}"),
	              0)) {
		j = app_json_without_defaults();
		json_is(j,
		        "{\"container\":{\"type\":\"DOCKER\",\"docker\":{"
		        "\"image\":\"python:3\",\"forcePullImage\":false,"
		        "\"privileged\":false,\"parameters\":[]},\"volumes\":[],"
		        "\"portMappings\":[{\"containerPort\":80,\"hostPort\":0,"
		        "\"servicePort\":0,\"protocol\":\"tcp\",\"name\":"
		        "\"http\"}]},\"networks\":[{\"mode\":"
		        "\"container/bridge\"}]}");
		json_object_put(j);
		CHECK_INT(app->network_mode, APP_NET_BRIDGE);
		CHECK_INT(app->n_port_mappings, 1);
		CHECK_INT(app->port_mappings[0].container_port, 80);
		CHECK_INT(app->port_mappings[0].host_port, 0);
		CHECK_STR(app->port_mappings[0].name, "http");
		CHECK_INT(app->n_port_definitions, 0);
	}

	/* Conformance 7 (pinger-container-app): ipAddress -> networks, and a
	 * MESOS container with the default port mapping. */
	if (CHECK_INT(parse("{" MINIMAL ",\"ipAddress\":{\"networkName\":"
	                    "\"dcos\"}}"),
	              0)) {
		j = app_json_without_defaults();
		json_is(j,
		        "{\"networks\":[{\"mode\":\"container\",\"name\":"
		        "\"dcos\"}],\"container\":{\"type\":\"MESOS\","
		        "\"volumes\":[],\"portMappings\":[{\"containerPort\":0,"
		        "\"name\":\"default\",\"protocol\":\"tcp\","
		        "\"servicePort\":0}]}}");
		json_object_put(j);
		CHECK_INT(app->network_mode, APP_NET_CONTAINER);
		CHECK_INT(app->port_mappings[0].host_port, -1);
	}

	/* Bridge mode: an absent host port is 0; requirePorts forced off. */
	if (CHECK_INT(parse("{" MINIMAL ",\"requirePorts\":true,\"networks\":"
	                    "[{\"mode\":\"container/bridge\"}],\"container\":"
	                    "{\"type\":\"MESOS\",\"portMappings\":[{"
	                    "\"containerPort\":80}]}}"),
	              0)) {
		CHECK_INT(app->port_mappings[0].host_port, 0);
		CHECK(!app->require_ports);
	}
}

/* Negative conformance example (examples/app.json): cmd and args, and
 * ipAddress with portDefinitions. */
static void test_conformance_negative(void)
{
	CHECK_INT(parse("{\"id\":\"/foo\",\"cmd\":\"env && sleep 60\","
	                "\"args\":[\"--debug\"],\"ipAddress\":{\"networkName\":"
	                "\"a\"},\"portDefinitions\":[{\"port\":0}]}"),
	          -1);
	CHECK_STR(model_errors_find(&errs, "/"),
	          "cannot specify both an IP address and port");
	/* Conformance 6 (pinger-localhost-app): portDefinitions and
	 * requirePorts. */
	if (CHECK_INT(parse("{\"id\":\"/pinger\",\"cmd\":\"./p\",\"cpus\":0.1,"
	                    "\"requirePorts\":true,\"portDefinitions\":[{"
	                    "\"port\":10101,\"name\":\"http\"}]}"),
	              0)) {
		CHECK(app->require_ports);
		CHECK_INT(app->port_definitions[0].service_port, 10101);
	}
}

/* parse -> json -> parse gives the same definition. */
static void test_round_trip(void)
{
	static const char *const bodies[] = {
		"{" MINIMAL "}",
		"{\"id\":\"/pinger\",\"cmd\":\"./pinger\",\"container\":{"
		"\"type\":\"DOCKER\",\"docker\":{\"image\":\"py\",\"network\":"
		"\"BRIDGE\",\"portMappings\":[{\"containerPort\":80}]}},"
		"\"uris\":[\"http://h/a.zip\"],\"labels\":{\"a\":\"b\"}}",
		"{" MINIMAL ",\"ipAddress\":{\"networkName\":\"n\"},"
		"\"unreachableStrategy\":\"disabled\",\"healthChecks\":[{"
		"\"protocol\":\"MESOS_HTTP\",\"path\":\"/\"}]}",
		"{" MINIMAL ",\"ports\":[1,2],\"cpus\":0.25,\"mem\":33.5,"
		"\"version\":\"2015-09-25T15:13:48.343Z\",\"versionInfo\":{"
		"\"lastScalingAt\":\"2015-09-25T15:13:48.343Z\","
		"\"lastConfigChangeAt\":\"2015-09-25T15:13:48.343Z\"}}",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct json_object *first, *second = NULL;
		struct app *again = NULL;

		if (!CHECK_INT(parse(bodies[i]), 0))
			continue;
		first = model_app_to_json(app);
		if (CHECK_INT(model_app_parse(first, "/other", "", &again,
		                              &errs),
		              0))
			second = model_app_to_json(again);
		if (!CHECK(json_object_equal(first, second)))
			fprintf(stderr, "\n  %s\n  %s\n",
			        json_object_to_json_string(first),
			        json_object_to_json_string(second));
		if (again != NULL)
			CHECK_INT(model_app_compare(app, again), MODEL_APP_SAME);
		json_object_put(first);
		json_object_put(second);
		model_app_free(again);
	}
}

static void test_merge(void)
{
	struct json_object *patch;
	struct app *merged = NULL;

	if (!CHECK_INT(parse("{" MINIMAL ",\"instances\":2,\"labels\":{"
	                     "\"a\":\"1\"},\"ports\":[8080]}"),
	               0))
		return;
	/* Given fields replace, the rest stays; the id is the current one. */
	patch = json_tokener_parse("{\"id\":\"/other\",\"instances\":5,"
	                           "\"labels\":{\"b\":\"2\"}}");
	if (CHECK_INT(model_app_merge(app, patch, "", &merged, &errs), 0)) {
		CHECK_STR(merged->id, "/basic-0");
		CHECK_INT(merged->instances, 5);
		CHECK_INT(merged->n_labels, 1);
		CHECK_STR(merged->labels[0].key, "b");
		CHECK_STR(merged->cmd, "sleep 100");
		CHECK_INT(merged->port_definitions[0].service_port, 8080);
		CHECK_INT(model_app_compare(app, merged), MODEL_APP_CONFIG);
	}
	json_object_put(patch);
	model_app_free(merged);
	merged = NULL;

	/* Only instances: a scale. */
	patch = json_tokener_parse("{\"instances\":0}");
	if (CHECK_INT(model_app_merge(app, patch, "", &merged, &errs), 0))
		CHECK_INT(model_app_compare(app, merged), MODEL_APP_SCALE);
	json_object_put(patch);
	model_app_free(merged);
	merged = NULL;

	/* The deprecated ports replace the current portDefinitions. */
	patch = json_tokener_parse("{\"ports\":[9090]}");
	if (CHECK_INT(model_app_merge(app, patch, "", &merged, &errs), 0))
		CHECK_INT(merged->port_definitions[0].service_port, 9090);
	json_object_put(patch);
	model_app_free(merged);
	merged = NULL;

	/* Switching to bridge networking drops the host port definitions. */
	patch = json_tokener_parse("{\"networks\":[{\"mode\":"
	                           "\"container/bridge\"}]}");
	if (CHECK_INT(model_app_merge(app, patch, "", &merged, &errs), 0)) {
		CHECK_INT(merged->n_port_definitions, 0);
		CHECK_INT(merged->n_port_mappings, 1);
	}
	json_object_put(patch);
	model_app_free(merged);
	merged = NULL;

	/* Back to host networking: the port mappings go, the default port
	 * definition comes back. */
	if (CHECK_INT(parse("{" MINIMAL ",\"networks\":[{\"mode\":"
	                    "\"container/bridge\"}]}"),
	              0)) {
		CHECK_INT(app->n_port_mappings, 1);
		CHECK_INT(app->port_mappings[0].host_port, 0);
		patch = json_tokener_parse("{\"networks\":[{\"mode\":"
		                           "\"host\"}]}");
		if (CHECK_INT(model_app_merge(app, patch, "", &merged, &errs),
		              0)) {
			CHECK_INT(merged->n_port_mappings, 0);
			CHECK_INT(merged->n_port_definitions, 1);
			CHECK_INT(merged->network_mode, APP_NET_HOST);
		}
		json_object_put(patch);
		model_app_free(merged);
		merged = NULL;
	}

	/* A bad patch is refused with its path. */
	patch = json_tokener_parse("{\"cpus\":-2}");
	CHECK_INT(model_app_merge(app, patch, "", &merged, &errs), -1);
	CHECK(merged == NULL);
	CHECK_STR(model_errors_find(&errs, "/cpus"),
	          "got -2.0, expected 0.0 or more");
	json_object_put(patch);
}

static void test_timestamp(void)
{
	char buf[MODEL_TIMESTAMP_LEN];

	model_timestamp_format(1443194028343LL, buf);
	CHECK_STR(buf, "2015-09-25T15:13:48.343Z");
	model_timestamp_format(0, buf);
	CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
	model_timestamp_format(1443194028005LL, buf);
	CHECK_STR(buf, "2015-09-25T15:13:48.005Z");
	model_timestamp_now(buf);
	CHECK_INT(strlen(buf), 24);
	CHECK(buf[10] == 'T' && buf[19] == '.' && buf[23] == 'Z');
}

/* GroupVersioningUtil's rules. */
static void test_version_info(void)
{
	static const char *const t1 = "2015-01-01T00:00:00.001Z",
	                         *t2 = "2015-01-01T00:00:00.002Z",
	                         *t3 = "2015-01-01T00:00:00.003Z";
	struct app *next = NULL;
	struct json_object *patch, *j;

	if (!CHECK_INT(parse("{" MINIMAL "}"), 0))
		return;
	/* New app: everything now. */
	CHECK_INT(model_app_stamp(app, NULL, t1, false), 0);
	CHECK_STR(app->version, t1);
	CHECK_STR(app->last_scaling_at, t1);
	CHECK_STR(app->last_config_change_at, t1);
	j = model_app_to_json(app);
	json_is(json_object_object_get(j, "versionInfo"),
	        "{\"lastScalingAt\":\"2015-01-01T00:00:00.001Z\","
	        "\"lastConfigChangeAt\":\"2015-01-01T00:00:00.001Z\"}");
	CHECK_STR(json_object_get_string(json_object_object_get(j, "version")),
	          t1);
	json_object_put(j);

	/* Scale only: version and lastScalingAt. */
	patch = json_tokener_parse("{\"instances\":3}");
	if (CHECK_INT(model_app_merge(app, patch, "", &next, &errs), 0)) {
		CHECK_INT(model_app_stamp(next, app, t2, false), 0);
		CHECK_STR(next->version, t2);
		CHECK_STR(next->last_scaling_at, t2);
		CHECK_STR(next->last_config_change_at, t1);
	}
	json_object_put(patch);
	model_app_free(next);
	next = NULL;

	/* Config change: everything now. */
	patch = json_tokener_parse("{\"cmd\":\"sleep 200\"}");
	if (CHECK_INT(model_app_merge(app, patch, "", &next, &errs), 0)) {
		CHECK_INT(model_app_stamp(next, app, t2, false), 0);
		CHECK_STR(next->version, t2);
		CHECK_STR(next->last_scaling_at, t2);
		CHECK_STR(next->last_config_change_at, t2);
	}
	json_object_put(patch);
	model_app_free(next);
	next = NULL;

	/* Unchanged: the previous stamps stay. */
	patch = json_tokener_parse("{}");
	if (CHECK_INT(model_app_merge(app, patch, "", &next, &errs), 0)) {
		CHECK_INT(model_app_stamp(next, app, t2, false), 0);
		CHECK_STR(next->version, t1);
		CHECK_STR(next->last_scaling_at, t1);
		CHECK_STR(next->last_config_change_at, t1);
		/* Restart: version and lastConfigChangeAt. */
		CHECK_INT(model_app_stamp(next, app, t3, true), 0);
		CHECK_STR(next->version, t3);
		CHECK_STR(next->last_scaling_at, t1);
		CHECK_STR(next->last_config_change_at, t3);
	}
	json_object_put(patch);
	model_app_free(next);
}

/* Marathon's health check defaults (reference 4.1) are filled in. */
static void test_health_defaults(void)
{
	struct json_object *out, *hc;

	if (!CHECK_INT(parse("{" MINIMAL ",\"healthChecks\":[{},"
	                     "{\"protocol\":\"TCP\",\"port\":8080,"
	                     "\"intervalSeconds\":5},{\"protocol\":"
	                     "\"COMMAND\",\"command\":{\"value\":\"true\"}}]"
	                     "}"),
	               0))
		return;
	out = model_app_to_json(app);
	hc = json_object_array_get_idx(
		json_object_object_get(out, "healthChecks"), 0);
	CHECK(json_is(hc, "{\"protocol\":\"HTTP\",\"path\":\"/\","
	                  "\"portIndex\":0,\"gracePeriodSeconds\":300,"
	                  "\"intervalSeconds\":60,\"timeoutSeconds\":20,"
	                  "\"maxConsecutiveFailures\":3,\"delaySeconds\":15,"
	                  "\"ignoreHttp1xx\":false}"));
	hc = json_object_array_get_idx(
		json_object_object_get(out, "healthChecks"), 1);
	CHECK(json_is(hc, "{\"protocol\":\"TCP\",\"port\":8080,"
	                  "\"gracePeriodSeconds\":300,\"intervalSeconds\":5,"
	                  "\"timeoutSeconds\":20,"
	                  "\"maxConsecutiveFailures\":3,\"delaySeconds\":15}"));
	hc = json_object_array_get_idx(
		json_object_object_get(out, "healthChecks"), 2);
	CHECK(!json_object_object_get_ex(hc, "portIndex", NULL));
	CHECK(!json_object_object_get_ex(hc, "path", NULL));
	json_object_put(out);
}

static CU_TestInfo parse_tests[] = {
	{"defaults of a minimal app", test_defaults},
	{"health check defaults", test_health_defaults},
	{"typed fields", test_typed},
	{"validation messages and paths", test_validation},
	{"read errors (Invalid JSON)", test_read_errors},
	{"422 bodies", test_body},
	{"deprecated forms migrated", test_deprecated},
	{"conformance examples", test_conformance_negative},
	{"round trip", test_round_trip},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo change_tests[] = {
	{"partial update merge", test_merge},
	{"timestamps", test_timestamp},
	{"versionInfo rules", test_version_info},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"model_app_parse", NULL, NULL, setup, teardown, parse_tests},
	{"changes and versions", NULL, NULL, setup, teardown, change_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
