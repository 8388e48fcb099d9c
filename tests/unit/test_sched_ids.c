/*
 * test_sched_ids: instance, task and deployment ids (core/sched), and the
 * UUIDs under them: version and variant bits, the multicast node bit,
 * strictly increasing v1 timestamps near the wall clock, and every task
 * id form taken apart (marathon-api.md 3.7).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "lib/cu_run.h"
#include "sched/sched_ids.h"

static unsigned hexdigit(char c)
{
	return (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
}

static bool lower_uuid(const char *u)
{
	if (strlen(u) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-'
		         : !((u[i] >= '0' && u[i] <= '9') ||
		             (u[i] >= 'a' && u[i] <= 'f')))
			return false;
	}
	return true;
}

static void test_uuid_v1(void)
{
	char a[SCHED_UUID_LEN], b[SCHED_UUID_LEN];
	uint64_t ta, tb, now;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 10000000ULL +
	      (uint64_t)ts.tv_nsec / 100 + 0x01B21DD213814000ULL;
	CHECK_INT(sched_uuid_v1(a), 0);
	CHECK(lower_uuid(a));
	CHECK(a[14] == '1');                         /* version 1 */
	CHECK((hexdigit(a[19]) & 0xc) == 0x8);       /* variant 10 */
	CHECK((hexdigit(a[25]) & 0x1) == 1);         /* multicast node */
	CHECK_INT(sched_uuid_v1_time(a, &ta), 0);
	/* Within ten seconds of the clock read just before. */
	CHECK(ta >= now && ta - now < 100000000ULL);

	/* A burst: strictly increasing, same node and clock sequence. */
	for (int i = 0; i < 1000; i++) {
		CHECK_INT(sched_uuid_v1(b), 0);
		CHECK_INT(sched_uuid_v1_time(b, &tb), 0);
		if (!CHECK(tb > ta) || !CHECK(strcmp(a + 19, b + 19) == 0))
			break;
		ta = tb;
	}
	/* Not v1: */
	CHECK_INT(sched_uuid_v4(b), 0);
	CHECK_INT(sched_uuid_v1_time(b, &tb), -1);
	CHECK_INT(sched_uuid_v1_time("nope", &tb), -1);
}

static void test_uuid_v4(void)
{
	char a[SCHED_UUID_LEN], b[SCHED_UUID_LEN];
	char *d;

	CHECK_INT(sched_uuid_v4(a), 0);
	CHECK_INT(sched_uuid_v4(b), 0);
	CHECK(lower_uuid(a));
	CHECK(a[14] == '4');
	CHECK((hexdigit(a[19]) & 0xc) == 0x8);
	CHECK(strcmp(a, b) != 0);
	d = sched_deployment_id_new();
	if (CHECK(d != NULL)) {
		CHECK(lower_uuid(d));
		CHECK(d[14] == '4');
	}
	free(d);
}

static void test_round_trip(void)
{
	char *inst = sched_instance_id_new("/prod/web.api");
	char *task = NULL, *app = NULL;
	struct sched_task_ref ref;
	uint64_t t;

	if (!CHECK(inst != NULL))
		return;
	CHECK(strncmp(inst, "prod_web.api.instance-", 22) == 0);
	CHECK(lower_uuid(inst + 22));
	CHECK_INT(sched_uuid_v1_time(inst + 22, &t), 0);

	task = sched_task_id_format(inst, 1);
	if (CHECK(task != NULL)) {
		CHECK(strncmp(task, inst, strlen(inst)) == 0);
		CHECK_STR(task + strlen(inst), "._app.1");
		CHECK_INT(sched_task_ref_parse(task, &ref), 0);
		CHECK_STR(ref.app_id, "/prod/web.api");
		CHECK_STR(ref.instance_id, inst);
		CHECK_STR(ref.container, "_app");
		CHECK_INT(ref.incarnation, 1);
		CHECK(!ref.legacy);
		sched_task_ref_clear(&ref);
	}
	free(task);

	/* A relaunch: the next incarnation, same instance. */
	task = sched_task_id_format(inst, 12);
	if (CHECK(task != NULL)) {
		CHECK_INT(sched_task_ref_parse(task, &ref), 0);
		CHECK_STR(ref.instance_id, inst);
		CHECK_INT(ref.incarnation, 12);
		sched_task_ref_clear(&ref);
	}
	free(task);

	CHECK_INT(sched_instance_id_app(inst, &app), 0);
	CHECK_STR(app, "/prod/web.api");
	free(app);
	free(inst);
}

struct parse_case {
	const char *task_id;
	const char *app_id;      /* NULL: not a task id */
	const char *instance_id;
	const char *container;
	int64_t incarnation;
	bool legacy;
};

#define U "4ff6a5b1-9b80-11e6-a5e5-0242ac110002"

static const struct parse_case parse_cases[] = {
	{"web.instance-" U "._app.3", "/web", "web.instance-" U, "_app", 3,
	 false},
	{"a_b.c.instance-" U "._app.1", "/a/b.c", "a_b.c.instance-" U,
	 "_app", 1, false},
	/* An id segment may hold ".instance-" itself. */
	{"x.instance-y_app.instance-" U "._app.2", "/x.instance-y/app",
	 "x.instance-y_app.instance-" U, "_app", 2, false},
	/* 1.4 - 1.7: task id = instance id. */
	{"web.marathon-" U, "/web", "web.marathon-" U, NULL, 0, true},
	{"web.marathon-" U "._app.4", "/web", "web.marathon-" U, "_app", 4,
	 true},
	/* Pod tasks. */
	{"pod.instance-" U ".ct1", "/pod", "pod.instance-" U, "ct1", 0,
	 false},
	{"pod.instance-" U ".ct1.2", "/pod", "pod.instance-" U, "ct1", 2,
	 false},
	/* Before 1.4. */
	{"web." U, "/web", "web.marathon-" U, NULL, 0, true},
	{"g_web_" U, "/g/web", "g_web.marathon-" U, NULL, 0, true},
	{"g_web." U ".7", "/g/web", "g_web.marathon-" U, NULL, 7, true},
	/* Not task ids. */
	{"web", NULL, NULL, NULL, 0, false},
	{"", NULL, NULL, NULL, 0, false},
	{".instance-" U "._app.1", NULL, NULL, NULL, 0, false},
	{"web.instance-" U "._app.x", NULL, NULL, NULL, 0, false},
	{"a.b.5", NULL, NULL, NULL, 0, false},
	{U, NULL, NULL, NULL, 0, false},
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		struct sched_task_ref ref;
		int rc = sched_task_ref_parse(c->task_id, &ref);

		if (c->app_id == NULL) {
			if (!CHECK_INT(rc, -1))
				fprintf(stderr, "  parsed: %s\n", c->task_id);
			else
				CHECK_INT(errno, EINVAL);
			CHECK(ref.app_id == NULL);
			sched_task_ref_clear(&ref);
			continue;
		}
		if (!CHECK_INT(rc, 0)) {
			fprintf(stderr, "  refused: %s\n", c->task_id);
			continue;
		}
		CHECK_STR(ref.app_id, c->app_id);
		CHECK_STR(ref.instance_id, c->instance_id);
		if (c->container != NULL)
			CHECK_STR(ref.container, c->container);
		else
			CHECK(ref.container == NULL);
		CHECK_INT(ref.incarnation, c->incarnation);
		CHECK_INT(ref.legacy, c->legacy);
		sched_task_ref_clear(&ref);
	}
}

static void test_instance_app(void)
{
	char *app = NULL;

	CHECK_INT(sched_instance_id_app("a_b.marathon-" U, &app), 0);
	CHECK_STR(app, "/a/b");
	free(app);
	app = NULL;
	/* A task id is not an instance id. */
	CHECK_INT(sched_instance_id_app("a.instance-" U "._app.1", &app), -1);
	CHECK_INT(sched_instance_id_app("web." U, &app), -1);
	CHECK(app == NULL);
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"uuid v1", test_uuid_v1},
		{"uuid v4", test_uuid_v4},
		{"round trip", test_round_trip},
		{"parse", test_parse},
		{"instance app", test_instance_app},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"sched_ids", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
