/*
 * test_sched_task: the task builder (core/sched).  Apps are parsed with
 * model_app_parse, as the scheduler gets them; each case asserts the
 * whole environment in order (marathon-api.md 3.8, EnvironmentHelper),
 * the command and the docker block, and which host ports the app asks an
 * offer for.
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
#include "sched/sched_task.h"

#define APP_VERSION "2015-09-25T15:13:48.343Z"
#define TID "prod_web.instance-4ff6a5b1-9b80-11e6-a5e5-0242ac110002._app.1"

/* Parse and stamp TEXT; NULL (and a failed check) when refused. */
static struct app *app_of(const char *text)
{
	struct json_object *in = json_tokener_parse(text);
	struct model_errors errs = {0};
	struct app *app = NULL;

	if (!CHECK(in != NULL))
		return NULL;
	if (!CHECK_INT(model_app_parse(in, "/", "", &app, &errs), 0)) {
		struct json_object *e = model_errors_to_json(&errs);

		fprintf(stderr, "\n  refused: %s\n",
		        e != NULL ? json_object_to_json_string(e) : "?");
		json_object_put(e);
	} else if (!CHECK_INT(model_app_stamp(app, NULL, APP_VERSION, false),
	                      0)) {
		model_app_free(app);
		app = NULL;
	}
	model_errors_clear(&errs);
	json_object_put(in);
	return app;
}

/* The environment is exactly WANT (NULL-terminated), in order. */
static bool env_is(const struct sched_task *t, const char *const *want)
{
	size_t i;
	bool ok = true;

	for (i = 0; want[i] != NULL && t->env[i] != NULL; i++)
		ok &= CHECK_STR(t->env[i], want[i]);
	ok &= CHECK(want[i] == NULL && t->env[i] == NULL);
	ok &= CHECK_INT(t->n_env, i);
	if (!ok) {
		fprintf(stderr, "\n  environment:\n");
		for (i = 0; t->env[i] != NULL; i++)
			fprintf(stderr, "    %s\n", t->env[i]);
	}
	return ok;
}

static bool requests_are(const struct app *app, const uint32_t *want,
                         size_t n)
{
	uint32_t *req = NULL;
	size_t nr = 0;
	bool ok;

	if (!CHECK_INT(sched_task_port_requests(app, &req, &nr), 0))
		return false;
	ok = CHECK_INT(nr, n);
	for (size_t i = 0; ok && i < n; i++)
		ok &= CHECK_INT(req[i], want[i]);
	free(req);
	return ok;
}

/* Host networking: port names, a dynamic port, labels with odd
 * characters and their limits, the app's env overriding. */
static void test_host(void)
{
	char text[4096], longkey[600], longval[600];
	struct app *app;
	struct sched_task *t = NULL;
	static const uint32_t ports[] = {31000, 31001};
	static const uint32_t req[] = {0, 0};
	struct sched_task_params p = {
		.task_id = TID, .agent_id = "local-0",
		.hostname = "agent1.example.com", .host_ports = ports,
		.n_host_ports = 2,
	};
	static const char *const want[] = {
		"MESOS_TASK_ID=" TID,
		"MARATHON_APP_ID=/prod/web",
		"MARATHON_APP_VERSION=" APP_VERSION,
		"MARATHON_APP_RESOURCE_CPUS=0.1",
		"MARATHON_APP_RESOURCE_MEM=32.0",
		"MARATHON_APP_RESOURCE_DISK=0.0",
		"MARATHON_APP_RESOURCE_GPUS=0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE=FALSE",
		"MARATHON_APP_LABELS=MY_LABEL HAPROXY_0_VHOST WEIRD_K_Y_ K_492",
		"MARATHON_APP_LABEL_MY_LABEL=v1",
		"MARATHON_APP_LABEL_HAPROXY_0_VHOST=web.example.com",
		"MARATHON_APP_LABEL_WEIRD_K_Y_=a b=c",
		"MARATHON_APP_LABEL_K_492=long key",
		"PORT0=override",
		"PORT1=31001",
		"PORT_10000=31000",
		"PORT_31001=31001",
		"PORT_HTTP=31000",
		"PORT_ADMIN-API=31001",
		"PORT=31000",
		"PORTS=31000,31001",
		"HOST=agent1.example.com",
		"FOO=bar",
		NULL,
	};

	/* A key of 492 characters is kept, 493 dropped; a value of 511
	 * kept, 512 dropped. */
	memset(longkey, 'k', sizeof(longkey));
	memset(longval, 'v', sizeof(longval));
	snprintf(text, sizeof(text),
	         "{\"id\":\"/prod/web\",\"cmd\":\"python3 -m http.server "
	         "$PORT0\",\"cpus\":0.1,\"mem\":32,"
	         "\"portDefinitions\":[{\"port\":10000,\"name\":\"http\"},"
	         "{\"port\":0,\"name\":\"admin-api\"}],"
	         "\"labels\":{\"my.label\":\"v1\","
	         "\"HAPROXY_0_VHOST\":\"web.example.com\","
	         "\"weird  k\xc3\xa9y!?\":\"a b=c\","
	         "\"k_%.*s\":\"long key\",\"k_%.*s\":\"dropped\","
	         "\"long_value\":\"%.*s\"},"
	         "\"env\":{\"PORT0\":\"override\",\"FOO\":\"bar\"}}",
	         490, longkey, 491, longkey, 512, longval);
	if ((app = app_of(text)) == NULL)
		return;
	requests_are(app, req, 2);
	if (!CHECK_INT(sched_task_build(app, &p, &t), 0))
		goto free_app;
	CHECK_STR(t->spec.task_id, TID);
	CHECK_STR(t->spec.agent_id, "local-0");
	CHECK_STR(t->spec.shell, "python3 -m http.server $PORT0");
	CHECK(t->spec.argv == NULL);
	CHECK(t->spec.docker == NULL);
	CHECK(t->spec.cpus == 0.1 && t->spec.mem == 32 && t->spec.disk == 0);
	CHECK_INT(t->spec.n_ports, 2);
	CHECK_INT(t->spec.ports[0], 31000);
	CHECK_INT(t->spec.ports[1], 31001);
	CHECK_INT(t->n_index_ports, 2);
	CHECK_INT(t->index_ports[1], 31001);
	/* Replace the long label's lines by their short forms. */
	for (size_t i = 0; i < t->n_env; i++) {
		char *k = strstr(t->env[i], "K_KKKK");

		if (k != NULL && strlen(k) >= 492 &&
		    strspn(k + 2, "K") == 490) {
			memmove(k + 2, "492", 3);
			memmove(k + 5, k + 2 + 490, strlen(k + 2 + 490) + 1);
		}
	}
	env_is(t, want);
	sched_task_free(t);
free_app:
	model_app_free(app);
}

/* requirePorts asks for the declared ports; a prefix applies to PORT*
 * and HOST only; args make an argv; enforceRole TRUE. */
static void test_require_ports(void)
{
	struct app *app = app_of(
		"{\"id\":\"/a\",\"args\":[\"/bin/echo\",\"a b\"],"
		"\"requirePorts\":true,\"cpus\":1.5,\"mem\":1024,\"disk\":"
		"0.0001,"
		"\"portDefinitions\":[{\"port\":8080},{\"port\":8081,"
		"\"name\":\"x\"}]}");
	struct sched_task *t = NULL;
	static const uint32_t ports[] = {8080, 8081};
	struct sched_task_params p = {
		.task_id = "a.instance-x._app.2", .hostname = "h",
		.host_ports = ports, .n_host_ports = 2, .env_prefix = "MY_",
		.enforce_role = true,
	};
	static const char *const want[] = {
		"MESOS_TASK_ID=a.instance-x._app.2",
		"MARATHON_APP_ID=/a",
		"MARATHON_APP_VERSION=" APP_VERSION,
		"MARATHON_APP_RESOURCE_CPUS=1.5",
		"MARATHON_APP_RESOURCE_MEM=1024.0",
		"MARATHON_APP_RESOURCE_DISK=1.0E-4",
		"MARATHON_APP_RESOURCE_GPUS=0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE=TRUE",
		"MARATHON_APP_LABELS=",
		"MY_PORT0=8080",
		"MY_PORT1=8081",
		"MY_PORT_8080=8080",
		"MY_PORT_8081=8081",
		"MY_PORT_X=8081",
		"MY_PORT=8080",
		"MY_PORTS=8080,8081",
		"MY_HOST=h",
		NULL,
	};
	static const uint32_t req[] = {8080, 8081};

	if (app == NULL)
		return;
	requests_are(app, req, 2);
	if (CHECK_INT(sched_task_build(app, &p, &t), 0)) {
		CHECK(t->spec.shell == NULL);
		if (CHECK(t->spec.argv != NULL)) {
			CHECK_STR(t->spec.argv[0], "/bin/echo");
			CHECK_STR(t->spec.argv[1], "a b");
			CHECK(t->spec.argv[2] == NULL);
		}
		CHECK(t->spec.agent_id == NULL);
		env_is(t, want);
		sched_task_free(t);
	}
	/* One host port per request, no more, no fewer. */
	p.n_host_ports = 1;
	t = NULL;
	CHECK_INT(sched_task_build(app, &p, &t), -1);
	CHECK_INT(errno, EINVAL);
	CHECK(t == NULL);
	model_app_free(app);
}

/* Bridge networking with a DOCKER container: containerPort 0 becomes the
 * host port, fixed host ports are asked for as such, the docker block. */
static void test_bridge_docker(void)
{
	struct app *app = app_of(
		"{\"id\":\"/db\",\"cpus\":0.25,\"mem\":64,\"args\":[\"--port\","
		"\"6379\"],\"labels\":{\"tier\":\"cache\"},"
		"\"taskKillGracePeriodSeconds\":7,"
		"\"container\":{\"type\":\"DOCKER\",\"docker\":{\"image\":"
		"\"redis:7\",\"privileged\":true,\"forcePullImage\":true,"
		"\"parameters\":[{\"key\":\"memory-swap\",\"value\":\"1g\"}]},"
		"\"portMappings\":[{\"containerPort\":0,\"hostPort\":0,"
		"\"name\":\"main\"},{\"containerPort\":6379,\"protocol\":"
		"\"udp\"},{\"containerPort\":8080,\"hostPort\":9999}]},"
		"\"networks\":[{\"mode\":\"container/bridge\"}]}");
	struct sched_task *t = NULL;
	static const uint32_t ports[] = {31005, 31006, 9999};
	static const uint32_t req[] = {0, 0, 9999};
	struct sched_task_params p = {
		.task_id = "db.instance-x._app.1", .agent_id = "local-1",
		.hostname = "h2", .host_ports = ports, .n_host_ports = 3,
	};
	static const char *const want[] = {
		"MESOS_TASK_ID=db.instance-x._app.1",
		"MARATHON_APP_ID=/db",
		"MARATHON_APP_VERSION=" APP_VERSION,
		"MARATHON_APP_DOCKER_IMAGE=redis:7",
		"MARATHON_APP_RESOURCE_CPUS=0.25",
		"MARATHON_APP_RESOURCE_MEM=64.0",
		"MARATHON_APP_RESOURCE_DISK=0.0",
		"MARATHON_APP_RESOURCE_GPUS=0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE=FALSE",
		"MARATHON_APP_LABELS=TIER",
		"MARATHON_APP_LABEL_TIER=cache",
		"PORT0=31005",
		"PORT1=31006",
		"PORT2=9999",
		"PORT_31005=31005",
		"PORT_6379=31006",
		"PORT_8080=9999",
		"PORT_MAIN=31005",
		"PORT=31005",
		"PORTS=31005,31006,9999",
		"HOST=h2",
		NULL,
	};
	const struct driver_docker *d;

	if (app == NULL)
		return;
	requests_are(app, req, 3);
	if (!CHECK_INT(sched_task_build(app, &p, &t), 0))
		goto free_app;
	env_is(t, want);
	CHECK(t->spec.shell == NULL);
	if (CHECK(t->spec.argv != NULL))
		CHECK_STR(t->spec.argv[0], "--port");
	CHECK_INT(t->spec.kill_grace_ms, 7000);
	d = t->spec.docker;
	if (!CHECK(d != NULL))
		goto free_task;
	CHECK_STR(d->image, "redis:7");
	CHECK_STR(d->network, "BRIDGE");
	CHECK(d->privileged && d->force_pull);
	if (CHECK_INT(d->n_port_mappings, 3)) {
		CHECK_INT(d->port_mappings[0].container_port, 31005);
		CHECK_INT(d->port_mappings[0].host_port, 31005);
		CHECK_STR(d->port_mappings[0].protocol, "tcp");
		CHECK_INT(d->port_mappings[1].container_port, 6379);
		CHECK_INT(d->port_mappings[1].host_port, 31006);
		CHECK_STR(d->port_mappings[1].protocol, "udp");
		CHECK_INT(d->port_mappings[2].container_port, 8080);
		CHECK_INT(d->port_mappings[2].host_port, 9999);
	}
	if (CHECK_INT(d->n_parameters, 1)) {
		CHECK_STR(d->parameters[0].key, "memory-swap");
		CHECK_STR(d->parameters[0].value, "1g");
	}
	if (CHECK_INT(d->n_labels, 2)) {
		CHECK_STR(d->labels[0].key, "tier");
		CHECK_STR(d->labels[0].value, "cache");
		CHECK_STR(d->labels[1].key, "MESOS_TASK_ID");
		CHECK_STR(d->labels[1].value, "db.instance-x._app.1");
	}
free_task:
	sched_task_free(t);
free_app:
	model_app_free(app);
}

static uint32_t scripted_port(void *arg)
{
	unsigned *n = arg;

	/* First a port the task holds already, then a free one. */
	return (*n)++ == 0 ? 31000 : 40000;
}

/* A container network: a mapping without a host port gets no offer
 * port; containerPort 0 there gets a random port (not one in use). */
static void test_container_network(void)
{
	struct app *app = app_of(
		"{\"id\":\"/c\",\"cmd\":\"serve\","
		"\"container\":{\"type\":\"DOCKER\",\"docker\":{\"image\":"
		"\"nginx\"},\"portMappings\":[{\"containerPort\":0,\"name\":"
		"\"a\"},{\"containerPort\":5000},{\"containerPort\":80,"
		"\"hostPort\":0,\"name\":\"web\"}]},"
		"\"networks\":[{\"mode\":\"container\",\"name\":\"dcos\"}]}");
	struct sched_task *t = NULL;
	static const uint32_t ports[] = {31000};
	static const uint32_t req[] = {0};
	unsigned calls = 0;
	struct sched_task_params p = {
		.task_id = "c.instance-x._app.1", .hostname = "h",
		.host_ports = ports, .n_host_ports = 1,
		.random_port = scripted_port, .random_arg = &calls,
	};
	static const char *const want[] = {
		"MESOS_TASK_ID=c.instance-x._app.1",
		"MARATHON_APP_ID=/c",
		"MARATHON_APP_VERSION=" APP_VERSION,
		"MARATHON_APP_DOCKER_IMAGE=nginx",
		"MARATHON_APP_RESOURCE_CPUS=1.0",
		"MARATHON_APP_RESOURCE_MEM=128.0",
		"MARATHON_APP_RESOURCE_DISK=0.0",
		"MARATHON_APP_RESOURCE_GPUS=0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE=FALSE",
		"MARATHON_APP_LABELS=",
		"PORT0=40000",
		"PORT1=5000",
		"PORT2=31000",
		"PORT_40000=40000",
		"PORT_5000=5000",
		"PORT_80=31000",
		"PORT_WEB=31000",
		"PORT=31000",
		"PORTS=31000,40000",
		"HOST=h",
		NULL,
	};

	if (app == NULL)
		return;
	requests_are(app, req, 1);
	if (CHECK_INT(sched_task_build(app, &p, &t), 0)) {
		env_is(t, want);
		CHECK_INT(calls, 2);
		CHECK_STR(t->spec.shell, "serve");
		if (CHECK(t->spec.docker != NULL) &&
		    CHECK_INT(t->spec.docker->n_port_mappings, 3)) {
			const struct driver_docker *d = t->spec.docker;

			CHECK_STR(d->network, "USER");
			CHECK_INT(d->port_mappings[0].container_port, 40000);
			CHECK_INT(d->port_mappings[0].host_port, 0);
			CHECK_INT(d->port_mappings[1].container_port, 5000);
			CHECK_INT(d->port_mappings[2].container_port, 80);
			CHECK_INT(d->port_mappings[2].host_port, 31000);
		}
		sched_task_free(t);
	}
	model_app_free(app);
}

/* No ports at all: no PORT variables, not even PORTS.  A MESOS
 * container with a docker image: no MARATHON_APP_DOCKER_IMAGE and no
 * docker block (the image is the Mesos containerizer's business). */
static void test_no_ports(void)
{
	struct app *app = app_of("{\"id\":\"/n\",\"cmd\":\"sleep 1\","
	                         "\"portDefinitions\":[],\"container\":"
	                         "{\"type\":\"MESOS\",\"docker\":"
	                         "{\"image\":\"alpine\"}}}");
	struct sched_task *t = NULL;
	struct sched_task_params p = {.task_id = "n.instance-x._app.1",
	                              .hostname = "h"};
	static const char *const want[] = {
		"MESOS_TASK_ID=n.instance-x._app.1",
		"MARATHON_APP_ID=/n",
		"MARATHON_APP_VERSION=" APP_VERSION,
		"MARATHON_APP_RESOURCE_CPUS=1.0",
		"MARATHON_APP_RESOURCE_MEM=128.0",
		"MARATHON_APP_RESOURCE_DISK=0.0",
		"MARATHON_APP_RESOURCE_GPUS=0",
		"MARATHON_APP_ENFORCE_GROUP_ROLE=FALSE",
		"MARATHON_APP_LABELS=",
		"HOST=h",
		NULL,
	};

	if (app == NULL)
		return;
	requests_are(app, NULL, 0);
	if (CHECK_INT(sched_task_build(app, &p, &t), 0)) {
		env_is(t, want);
		CHECK_INT(t->spec.n_ports, 0);
		CHECK(t->spec.docker == NULL);
		sched_task_free(t);
	}
	model_app_free(app);
}

static void test_format_double(void)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
		{0.1, "0.1"},       {128, "128.0"},       {0, "0.0"},
		{1, "1.0"},         {0.25, "0.25"},       {1e-4, "1.0E-4"},
		{0.001, "0.001"},   {1e7, "1.0E7"},
		{9999999, "9999999.0"},
		{12345678, "1.2345678E7"}, {1234567.5, "1234567.5"},
		{0.3, "0.3"},       {2048.5, "2048.5"},   {-1.5, "-1.5"},
		{0.00012, "1.2E-4"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sched_task_format_double(cases[i].d, buf);
		CHECK_STR(buf, cases[i].want);
	}
}

static void test_label_names(void)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
		{"a.b-c", "A_B_C"},
		{"x..--y", "X_Y"},
		{"_ok_9", "_OK_9"},
		{"\xc3\xbcn\xc3\xaf", "_N_"},
		{"HAPROXY_GROUP", "HAPROXY_GROUP"},
		{"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = sched_task_label_env_name(cases[i].key);

		CHECK_STR(n, cases[i].want);
		free(n);
	}
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"host networking", test_host},
		{"requirePorts, prefix, args", test_require_ports},
		{"bridge docker", test_bridge_docker},
		{"container network", test_container_network},
		{"no ports", test_no_ports},
		{"double format", test_format_double},
		{"label names", test_label_names},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"sched_task", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
