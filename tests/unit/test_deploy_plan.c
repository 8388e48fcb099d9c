/*
 * test_deploy_plan: deployment plans (core/deploy/deploy_plan.c): every
 * step rule of Marathon's DeploymentPlan.apply on small roots, dependency
 * layering (apps, groups, unknown ids, cycles), the /v2/deployments JSON
 * byte for byte, conflicts and the 409 body, the revert root, the stored
 * form's round trip and the UUIDs.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "deploy/deploy_plan.h"
#include "lib/cu_run.h"
#include "model/model_app.h"
#include "model/model_errors.h"

/* Allocation failures, for the cleanup paths: the program is linked with
 * --wrap for these four (see core/deploy/Makefile.inc), which reroutes the
 * calls made by the statically linked core library; json-c, a shared
 * library, keeps allocating normally.  fail_in counts down the calls
 * that still succeed; -1 means never fail. */
static long fail_in = -1;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static bool should_fail(void)
{
	if (fail_in < 0)
		return false;
	return fail_in-- == 0;
}

void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return should_fail() ? NULL : __real_strdup(s);
}

#define MAX_APPS 16
#define PLAN_ID "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"
#define PLAN_VERSION "2015-09-29T15:59:51.164Z"
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Every app a test parsed, freed by teardown. */
static struct app *made[4 * MAX_APPS];
static size_t n_made;

/* Two roots per test and the plan built from them. */
struct fixture_root {
	const struct app *apps[MAX_APPS];
	struct deploy_root root;
};
static struct fixture_root orig, tgt;
static struct deploy_plan *plan;

static void setup(void)
{
	n_made = 0;
	memset(&orig, 0, sizeof(orig));
	memset(&tgt, 0, sizeof(tgt));
	orig.root.apps = orig.apps;
	tgt.root.apps = tgt.apps;
	plan = NULL;
}

static void teardown(void)
{
	for (size_t i = 0; i < n_made; i++)
		model_app_free(made[i]);
	n_made = 0;
	deploy_plan_free(plan);
	plan = NULL;
}

/* Parse the app definition TEXT (JSON); NULL (and a failed check) when
 * it does not parse. */
static struct app *app(const char *text)
{
	struct json_object *in = json_tokener_parse(text);
	struct model_errors errs;
	struct app *a = NULL;

	model_errors_init(&errs);
	if (CHECK(in != NULL) &&
	    !CHECK_INT(model_app_parse(in, "/", "", &a, &errs), 0))
		fprintf(stderr, "\n  refused: %s\n", text);
	json_object_put(in);
	model_errors_clear(&errs);
	if (a != NULL && n_made < sizeof(made) / sizeof(*made))
		made[n_made++] = a;
	return a;
}

static void add(struct fixture_root *r, const struct app *a)
{
	if (CHECK(a != NULL) && CHECK(r->root.n_apps < MAX_APPS))
		r->apps[r->root.n_apps++] = a;
}

/* Build the plan from orig and tgt with RESTART and KILLS. */
static int build_with(const char *const *restart, size_t n_restart,
                      const struct deploy_kill *kills, size_t n_kills)
{
	struct deploy_plan_input in = {
		.original = &orig.root,
		.target = &tgt.root,
		.id = PLAN_ID,
		.version = PLAN_VERSION,
		.original_version = "2015-09-29T15:00:00.000Z",
		.target_version = PLAN_VERSION,
		.restart_ids = restart,
		.n_restart_ids = n_restart,
		.kills = kills,
		.n_kills = n_kills,
	};

	deploy_plan_free(plan);
	plan = NULL;
	return deploy_plan_build(&in, &plan);
}

static int build(void)
{
	return build_with(NULL, 0, NULL, 0);
}

/* JSON's compact text, '/' unescaped; static buffer of json-c, valid
 * until JSON is released. */
static const char *text(struct json_object *json)
{
	return json != NULL ? json_object_to_json_string_ext(json, JSON_FLAGS)
	                    : NULL;
}

/* The steps as compact JSON, compared to WANT. */
static bool steps_are(const char *want)
{
	struct json_object *steps;
	bool ok;

	if (!CHECK(plan != NULL))
		return false;
	steps = deploy_plan_steps_to_json(plan);
	ok = CHECK_STR(text(steps), want);
	json_object_put(steps);
	return ok;
}

/* ---- the step rules -------------------------------------------------- */

static void test_new_app(void)
{
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"sleep 1\",\"instances\":2}"));
	if (!CHECK_INT(build(), 0))
		return;
	if (!steps_are("[{\"actions\":[{\"action\":\"StartApplication\","
	               "\"app\":\"/a\"}]},"
	               "{\"actions\":[{\"action\":\"ScaleApplication\","
	               "\"app\":\"/a\"}]}]"))
		return;
	CHECK_INT(plan->steps[0].actions[0].instances, 0);
	CHECK_INT(plan->steps[1].actions[0].instances, 2);
	CHECK(plan->steps[1].actions[0].app == tgt.apps[0]);
	CHECK_INT(plan->n_affected_apps, 1);
	CHECK_STR(plan->affected_apps[0], "/a");
}

static void test_removed_apps_one_step(void)
{
	/* /b depends on /a: stops are still one parallel step. */
	add(&orig, app("{\"id\":\"/b\",\"cmd\":\"run x\",\"dependencies\":[\"/a\"]}"));
	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&orig, app("{\"id\":\"/keep\",\"cmd\":\"run x\"}"));
	add(&tgt, orig.apps[2]);
	if (!CHECK_INT(build(), 0))
		return;
	if (!steps_are("[{\"actions\":[{\"action\":\"StopApplication\","
	               "\"app\":\"/a\"},{\"action\":\"StopApplication\","
	               "\"app\":\"/b\"}]}]"))
		return;
	CHECK(plan->steps[0].actions[0].app == orig.apps[1]);
	CHECK_INT(plan->n_affected_apps, 2);
}

static void test_scale_only_with_kills(void)
{
	static const char *const victims[] = {"a.instance-1", "a.instance-2"};
	struct deploy_kill kill = {"/a", victims, 2};
	struct deploy_kill other = {"/nope", victims, 1};
	struct deploy_kill both[] = {other, kill};

	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":5}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":3}"));
	if (!CHECK_INT(build_with(NULL, 0, both, 2), 0))
		return;
	if (!steps_are("[{\"actions\":[{\"action\":\"ScaleApplication\","
	               "\"app\":\"/a\"}]}]"))
		return;
	CHECK_INT(plan->steps[0].actions[0].instances, 3);
	if (CHECK_INT(plan->steps[0].actions[0].n_kill, 2)) {
		CHECK_STR(plan->steps[0].actions[0].kill[0], "a.instance-1");
		CHECK_STR(plan->steps[0].actions[0].kill[1], "a.instance-2");
	}
}

static void test_config_change_restarts(void)
{
	static const char *const victims[] = {"a.x"};
	static const struct deploy_kill kill = {"/a", victims, 1};

	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":2}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run y\",\"instances\":4}"));
	if (!CHECK_INT(build_with(NULL, 0, &kill, 1), 0))
		return;
	if (!steps_are("[{\"actions\":[{\"action\":\"RestartApplication\","
	               "\"app\":\"/a\"}]}]"))
		return;
	CHECK_INT(plan->steps[0].actions[0].instances, 4);
	/* Sentenced instances belong to scale actions only. */
	CHECK_INT(plan->steps[0].actions[0].n_kill, 0);
}

static void test_unchanged_no_steps(void)
{
	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	if (!CHECK_INT(build(), 0))
		return;
	CHECK_INT(plan->n_steps, 0);
	CHECK_INT(plan->n_affected_apps, 0);
	steps_are("[]");
}

static void test_restart_marker(void)
{
	static const char *const restart[] = {"/unknown", "/a"};

	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&orig, app("{\"id\":\"/b\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&tgt, orig.apps[1]);
	if (!CHECK_INT(build_with(restart, 2, NULL, 0), 0))
		return;
	steps_are("[{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/a\"}]}]");
}

/* A new version on an otherwise equal app is Marathon's needsRestart. */
static void test_new_version_restarts(void)
{
	struct app *o = app("{\"id\":\"/a\",\"cmd\":\"run x\"}");
	struct app *t = app("{\"id\":\"/a\",\"cmd\":\"run x\"}");

	if (!CHECK(o != NULL && t != NULL) ||
	    !CHECK_INT(model_app_stamp(o, NULL, "2020-01-01T00:00:00.000Z",
	                               false), 0) ||
	    !CHECK_INT(model_app_stamp(t, o, "2020-01-02T00:00:00.000Z",
	                               true), 0))
		return;
	add(&orig, o);
	add(&tgt, t);
	if (!CHECK_INT(build(), 0))
		return;
	steps_are("[{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/a\"}]}]");

	/* Stamped unchanged: same version, nothing to do. */
	if (!CHECK_INT(model_app_stamp(t, o, "2020-01-03T00:00:00.000Z",
	                               false), 0) ||
	    !CHECK_INT(build(), 0))
		return;
	CHECK_INT(plan->n_steps, 0);
}

static void test_target_zero_scales(void)
{
	static const char *const restart[] = {"/b"};

	/* A config change to 0 instances scales down instead of
	 * restarting; so does a restart of an app at 0. */
	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":3}"));
	add(&orig, app("{\"id\":\"/b\",\"cmd\":\"run x\",\"instances\":0}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run y\",\"instances\":0}"));
	add(&tgt, orig.apps[1]);
	if (!CHECK_INT(build_with(restart, 1, NULL, 0), 0))
		return;
	if (!steps_are("[{\"actions\":[{\"action\":\"ScaleApplication\","
	               "\"app\":\"/a\"},{\"action\":\"ScaleApplication\","
	               "\"app\":\"/b\"}]}]"))
		return;
	CHECK_INT(plan->steps[0].actions[0].instances, 0);
}

/* Stop, start, then the layers: all three kinds in one plan. */
static void test_step_order(void)
{
	add(&orig, app("{\"id\":\"/gone\",\"cmd\":\"run x\"}"));
	add(&orig, app("{\"id\":\"/db\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/web\",\"cmd\":\"run x\",\"dependencies\":[\"/db\"]}"));
	add(&tgt, app("{\"id\":\"/db\",\"cmd\":\"run y\"}"));
	if (!CHECK_INT(build(), 0))
		return;
	steps_are("[{\"actions\":[{\"action\":\"StopApplication\","
	          "\"app\":\"/gone\"}]},"
	          "{\"actions\":[{\"action\":\"StartApplication\","
	          "\"app\":\"/web\"}]},"
	          "{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/db\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/web\"}]}]");
}

/* ---- dependencies ---------------------------------------------------- */

static void test_chain_of_three(void)
{
	add(&tgt, app("{\"id\":\"/c\",\"cmd\":\"run x\",\"dependencies\":[\"/b\"]}"));
	add(&tgt, app("{\"id\":\"/b\",\"cmd\":\"run x\",\"dependencies\":[\"/a\"]}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/z\",\"cmd\":\"run x\"}"));
	if (!CHECK_INT(build(), 0))
		return;
	steps_are("[{\"actions\":[{\"action\":\"StartApplication\","
	          "\"app\":\"/a\"},{\"action\":\"StartApplication\","
	          "\"app\":\"/b\"},{\"action\":\"StartApplication\","
	          "\"app\":\"/c\"},{\"action\":\"StartApplication\","
	          "\"app\":\"/z\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/a\"},{\"action\":\"ScaleApplication\","
	          "\"app\":\"/z\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/b\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/c\"}]}]");
}

/* The chain runs through unchanged apps; empty layers are dropped. */
static void test_chain_through_unchanged(void)
{
	add(&orig, app("{\"id\":\"/c\",\"cmd\":\"run x\",\"dependencies\":[\"/b\"]}"));
	add(&orig, app("{\"id\":\"/b\",\"cmd\":\"run x\",\"dependencies\":[\"/a\"]}"));
	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/c\",\"cmd\":\"run y\",\"dependencies\":[\"/b\"]}"));
	add(&tgt, orig.apps[1]);
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run y\"}"));
	if (!CHECK_INT(build(), 0))
		return;
	steps_are("[{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/a\"}]},"
	          "{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/c\"}]}]");
}

static void test_dependency_on_group(void)
{
	add(&tgt, app("{\"id\":\"/web/x\",\"cmd\":\"run x\","
	              "\"dependencies\":[\"/db\"]}"));
	add(&tgt, app("{\"id\":\"/db/p\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/db/q/r\",\"cmd\":\"run x\"}"));
	/* Not below /db: a prefix of the id is no group. */
	add(&tgt, app("{\"id\":\"/dbx\",\"cmd\":\"run x\",\"dependencies\":[\"/web\"]}"));
	if (!CHECK_INT(build(), 0))
		return;
	CHECK_INT(plan->n_steps, 4);
	steps_are("[{\"actions\":[{\"action\":\"StartApplication\","
	          "\"app\":\"/db/p\"},{\"action\":\"StartApplication\","
	          "\"app\":\"/db/q/r\"},{\"action\":\"StartApplication\","
	          "\"app\":\"/dbx\"},{\"action\":\"StartApplication\","
	          "\"app\":\"/web/x\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/db/p\"},{\"action\":\"ScaleApplication\","
	          "\"app\":\"/db/q/r\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/web/x\"}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/dbx\"}]}]");
}

static void test_group_dependencies(void)
{
	static const char *const deps[] = {"/db", "/nothing"};
	static const struct deploy_group groups[] = {
		{"/web", deps, 2},
	};

	add(&orig, app("{\"id\":\"/web/a\",\"cmd\":\"run x\"}"));
	add(&orig, app("{\"id\":\"/web/b/c\",\"cmd\":\"run x\"}"));
	add(&orig, app("{\"id\":\"/db/p\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/web/a\",\"cmd\":\"run y\"}"));
	add(&tgt, app("{\"id\":\"/web/b/c\",\"cmd\":\"run y\"}"));
	add(&tgt, app("{\"id\":\"/db/p\",\"cmd\":\"run y\"}"));
	tgt.root.groups = groups;
	tgt.root.n_groups = 1;
	if (!CHECK_INT(build(), 0))
		return;
	steps_are("[{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/db/p\"}]},"
	          "{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/web/a\"},{\"action\":\"RestartApplication\","
	          "\"app\":\"/web/b/c\"}]}]");
}

static void test_unknown_dependency_ignored(void)
{
	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":2,"
	              "\"dependencies\":[\"/nope\",\"/a/b\"]}"));
	if (!CHECK_INT(build(), 0))
		return;
	/* Dependencies changed too: a restart, in the first layer. */
	steps_are("[{\"actions\":[{\"action\":\"RestartApplication\","
	          "\"app\":\"/a\"}]}]");
}

static void test_cycles(void)
{
	static const char *const deps[] = {"/g"};
	static const struct deploy_group self[] = {{"/g", deps, 1}};

	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"dependencies\":[\"/c\"]}"));
	add(&tgt, app("{\"id\":\"/b\",\"cmd\":\"run x\",\"dependencies\":[\"/a\"]}"));
	add(&tgt, app("{\"id\":\"/c\",\"cmd\":\"run x\",\"dependencies\":[\"/b\"]}"));
	CHECK_INT(deploy_root_check_cycles(&tgt.root), DEPLOY_PLAN_CYCLE);
	CHECK_INT(build(), DEPLOY_PLAN_CYCLE);
	CHECK(plan == NULL);
	CHECK_STR(DEPLOY_PLAN_MSG_CYCLE,
	          "Dependency graph has cyclic dependencies.");

	/* An app depending on its own group. */
	tgt.root.n_apps = 0;
	add(&tgt, app("{\"id\":\"/g/a\",\"cmd\":\"run x\",\"dependencies\":[\"/g\"]}"));
	CHECK_INT(deploy_root_check_cycles(&tgt.root), DEPLOY_PLAN_CYCLE);

	/* A group depending on itself. */
	tgt.root.n_apps = 0;
	add(&tgt, app("{\"id\":\"/g/b\",\"cmd\":\"run x\"}"));
	CHECK_INT(deploy_root_check_cycles(&tgt.root), 0);
	tgt.root.groups = self;
	tgt.root.n_groups = 1;
	CHECK_INT(deploy_root_check_cycles(&tgt.root), DEPLOY_PLAN_CYCLE);

	/* A diamond is no cycle. */
	tgt.root.groups = NULL;
	tgt.root.n_groups = 0;
	tgt.root.n_apps = 0;
	add(&tgt, app("{\"id\":\"/d\",\"cmd\":\"run x\",\"dependencies\":[\"/e\",\"/f\"]}"));
	add(&tgt, app("{\"id\":\"/e\",\"cmd\":\"run x\",\"dependencies\":[\"/h\"]}"));
	add(&tgt, app("{\"id\":\"/f\",\"cmd\":\"run x\",\"dependencies\":[\"/h\"]}"));
	add(&tgt, app("{\"id\":\"/h\",\"cmd\":\"run x\"}"));
	CHECK_INT(deploy_root_check_cycles(&tgt.root), 0);
	if (CHECK_INT(build(), 0))
		CHECK_INT(plan->n_steps, 4);
}

/* ---- JSON ------------------------------------------------------------ */

static void test_deployments_json(void)
{
	struct json_object *json, *ready;
	struct deploy_progress progress = {2, NULL};

	add(&orig, app("{\"id\":\"/old\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/new\",\"cmd\":\"run x\"}"));
	if (!CHECK_INT(build(), 0))
		return;

	json = deploy_plan_to_json(plan, NULL);
	CHECK_STR(text(json),
	          "{\"id\":\"" PLAN_ID "\",\"version\":\"" PLAN_VERSION "\","
	          "\"affectedApps\":[\"/new\",\"/old\"],\"affectedPods\":[],"
	          "\"steps\":[{\"actions\":[{\"action\":\"StopApplication\","
	          "\"app\":\"/old\"}]},{\"actions\":[{\"action\":"
	          "\"StartApplication\",\"app\":\"/new\"}]},{\"actions\":"
	          "[{\"action\":\"ScaleApplication\",\"app\":\"/new\"}]}],"
	          "\"currentActions\":[],\"currentStep\":0,\"totalSteps\":3}");
	json_object_put(json);

	json = deploy_plan_to_json(plan, &progress);
	CHECK_STR(text(json),
	          "{\"id\":\"" PLAN_ID "\",\"version\":\"" PLAN_VERSION "\","
	          "\"affectedApps\":[\"/new\",\"/old\"],\"affectedPods\":[],"
	          "\"steps\":[{\"actions\":[{\"action\":\"StopApplication\","
	          "\"app\":\"/old\"}]},{\"actions\":[{\"action\":"
	          "\"StartApplication\",\"app\":\"/new\"}]},{\"actions\":"
	          "[{\"action\":\"ScaleApplication\",\"app\":\"/new\"}]}],"
	          "\"currentActions\":[{\"action\":\"StartApplication\","
	          "\"app\":\"/new\",\"readinessCheckResults\":[]}],"
	          "\"currentStep\":2,\"totalSteps\":3}");
	json_object_put(json);

	/* Readiness results come from the runner, keyed by app id. */
	ready = json_tokener_parse("{\"/new\":[{\"name\":\"r\",\"ready\":false}]}");
	progress.current_step = 3;
	progress.readiness = ready;
	json = deploy_plan_to_json(plan, &progress);
	CHECK_CONTAINS(text(json),
	               "\"currentActions\":[{\"action\":\"ScaleApplication\","
	               "\"app\":\"/new\",\"readinessCheckResults\":"
	               "[{\"name\":\"r\",\"ready\":false}]}],"
	               "\"currentStep\":3,\"totalSteps\":3}");
	json_object_put(json);
	json_object_put(ready);

	/* Past the end: no current actions. */
	progress.current_step = 4;
	progress.readiness = NULL;
	json = deploy_plan_to_json(plan, &progress);
	CHECK_CONTAINS(text(json), "\"currentActions\":[],\"currentStep\":4");
	json_object_put(json);
}

/* The plan ID from O to T; NULL (and a failed check) when not built. */
static struct deploy_plan *plan_of(const char *id,
                                   const struct deploy_root *o,
                                   const struct deploy_root *t)
{
	struct deploy_plan_input in = {
		.original = o, .target = t, .id = id, .version = PLAN_VERSION,
	};
	struct deploy_plan *p = NULL;

	CHECK_INT(deploy_plan_build(&in, &p), 0);
	return p;
}

static void test_conflicts(void)
{
	struct fixture_root r1 = {0}, r2 = {0}, r3 = {0}, empty = {0};
	struct deploy_plan *p1, *p2, *p3;
	const struct deploy_plan *running[2];
	struct json_object *body;
	bool nomem = true;

	r1.root.apps = r1.apps;
	r2.root.apps = r2.apps;
	r3.root.apps = r3.apps;
	empty.root.apps = empty.apps;
	add(&r1, app("{\"id\":\"/a\",\"cmd\":\"run x\"}"));
	add(&r1, app("{\"id\":\"/b\",\"cmd\":\"run x\"}"));
	add(&r2, app("{\"id\":\"/b\",\"cmd\":\"run x\"}"));
	add(&r3, app("{\"id\":\"/c\",\"cmd\":\"run x\"}"));
	p1 = plan_of("11111111-1111-4111-8111-111111111111", &empty.root,
	             &r1.root);
	p2 = plan_of("22222222-2222-4222-8222-222222222222", &empty.root,
	             &r2.root);
	p3 = plan_of("33333333-3333-4333-8333-333333333333", &empty.root,
	             &r3.root);
	if (!CHECK(p1 && p2 && p3))
		goto out;

	CHECK(deploy_plan_conflicts(p1, p2));
	CHECK(deploy_plan_conflicts(p2, p1));
	CHECK(!deploy_plan_conflicts(p1, p3));
	CHECK(deploy_plan_affects(p1, "/a"));
	CHECK(!deploy_plan_affects(p1, "/c"));

	running[0] = p3;
	running[1] = p1;
	body = deploy_plan_conflict_body(p2, running, 2, &nomem);
	CHECK(!nomem);
	CHECK_STR(text(body),
	          "{\"message\":\"App is locked by one or more deployments. "
	          "Override with the option '?force=true'. View details at "
	          "'/v2/deployments/<DEPLOYMENT_ID>'.\",\"deployments\":"
	          "[{\"id\":\"11111111-1111-4111-8111-111111111111\"}]}");
	json_object_put(body);

	nomem = true;
	CHECK(deploy_plan_conflict_body(p3, running + 1, 1, &nomem) == NULL);
	CHECK(!nomem);
out:
	deploy_plan_free(p1);
	deploy_plan_free(p2);
	deploy_plan_free(p3);
}

/* ---- revert ---------------------------------------------------------- */

static void test_revert(void)
{
	struct fixture_root cur = {0};
	const struct app **apps = NULL;
	size_t n = 99;

	cur.root.apps = cur.apps;
	/* The plan: /a changed, /b removed, /c added, /u untouched. */
	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run a1\"}"));
	add(&orig, app("{\"id\":\"/b\",\"cmd\":\"run b1\"}"));
	add(&orig, app("{\"id\":\"/u\",\"cmd\":\"run u1\"}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run a2\"}"));
	add(&tgt, app("{\"id\":\"/c\",\"cmd\":\"run c2\"}"));
	add(&tgt, orig.apps[2]);
	if (!CHECK_INT(build(), 0))
		return;
	/* Meanwhile /u changed and /d arrived (other deployments). */
	add(&cur, tgt.apps[0]);
	add(&cur, tgt.apps[1]);
	add(&cur, app("{\"id\":\"/u\",\"cmd\":\"run u3\"}"));
	add(&cur, app("{\"id\":\"/d\",\"cmd\":\"run d3\"}"));

	if (!CHECK_INT(deploy_plan_revert_apps(plan, &orig.root, &cur.root,
	                                       &apps, &n), 0))
		return;
	if (CHECK_INT(n, 4)) {
		CHECK(apps[0] == orig.apps[0]); /* /a back to a1 */
		CHECK(apps[1] == cur.apps[2]);  /* /u keeps u3 */
		CHECK(apps[2] == cur.apps[3]);  /* /d stays */
		CHECK(apps[3] == orig.apps[1]); /* /b re-added */
	}
	free(apps);

	/* Without concurrent changes the revert is the original. */
	if (!CHECK_INT(deploy_plan_revert_apps(plan, &orig.root, &tgt.root,
	                                       &apps, &n), 0))
		return;
	if (CHECK_INT(n, 3)) {
		CHECK(apps[0] == orig.apps[0]);
		CHECK(apps[1] == orig.apps[2]);
		CHECK(apps[2] == orig.apps[1]);
	}
	free(apps);
}

/* ---- storage --------------------------------------------------------- */

static void test_store_round_trip(void)
{
	static const char *const victims[] = {"a.i1"};
	static const struct deploy_kill kill = {"/a", victims, 1};
	struct json_object *stored, *stored2, *api1, *api2, *bad;
	struct deploy_plan *back = NULL;

	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":4}"));
	add(&orig, app("{\"id\":\"/gone\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":2}"));
	add(&tgt, app("{\"id\":\"/n\",\"cmd\":\"run x\",\"instances\":3}"));
	if (!CHECK_INT(build_with(NULL, 0, &kill, 1), 0))
		return;

	stored = deploy_plan_store_json(plan);
	CHECK_STR(text(stored),
	          "{\"id\":\"" PLAN_ID "\",\"version\":\"" PLAN_VERSION "\","
	          "\"originalVersion\":\"2015-09-29T15:00:00.000Z\","
	          "\"targetVersion\":\"" PLAN_VERSION "\","
	          "\"steps\":[{\"actions\":[{\"action\":\"StopApplication\","
	          "\"app\":\"/gone\",\"instances\":0}]},"
	          "{\"actions\":[{\"action\":\"StartApplication\","
	          "\"app\":\"/n\",\"instances\":0}]},"
	          "{\"actions\":[{\"action\":\"ScaleApplication\","
	          "\"app\":\"/a\",\"instances\":2,\"kill\":[\"a.i1\"]},"
	          "{\"action\":\"ScaleApplication\",\"app\":\"/n\","
	          "\"instances\":3}]}]}");
	if (!CHECK_INT(deploy_plan_from_json(stored, &orig.root, &tgt.root,
	                                     &back), 0))
		goto out_put_stored;

	stored2 = deploy_plan_store_json(back);
	CHECK_STR(text(stored2), text(stored));
	json_object_put(stored2);
	api1 = deploy_plan_to_json(plan, NULL);
	api2 = deploy_plan_to_json(back, NULL);
	CHECK_STR(text(api2), text(api1));
	json_object_put(api1);
	json_object_put(api2);
	CHECK(back->steps[0].actions[0].app == orig.apps[1]);
	CHECK(back->steps[2].actions[0].app == tgt.apps[0]);
	CHECK_STR(back->original_version, "2015-09-29T15:00:00.000Z");

	/* A stopped app the original root lacks (a restarted stadiond has
	 * no root with it) is read with no definition: stopping needs its
	 * id only. */
	deploy_plan_free(back);
	back = NULL;
	CHECK_INT(deploy_plan_from_json(stored, &tgt.root, &tgt.root, &back), 0);
	if (back != NULL) {
		CHECK(back->steps[0].actions[0].type == DEPLOY_ACTION_STOP);
		CHECK(back->steps[0].actions[0].app == NULL);
		CHECK_STR(back->steps[0].actions[0].app_id, orig.apps[1]->id);
	}
	deploy_plan_free(back);
	back = NULL;
	/* A target root that lacks an app: refused. */
	CHECK_INT(deploy_plan_from_json(stored, &orig.root, &orig.root, &back),
	          DEPLOY_PLAN_INVALID);
	CHECK(back == NULL);

	/* Malformed. */
	bad = json_tokener_parse(
	        "{\"id\":\"x\",\"version\":\"v\",\"steps\":[{\"actions\":"
	        "[{\"action\":\"Bogus\",\"app\":\"/a\",\"instances\":1}]}]}");
	CHECK_INT(deploy_plan_from_json(bad, &orig.root, &tgt.root, &back),
	          DEPLOY_PLAN_INVALID);
	json_object_put(bad);
	bad = json_tokener_parse(
	        "{\"id\":\"x\",\"version\":\"v\",\"steps\":[{\"actions\":[]}]}");
	CHECK_INT(deploy_plan_from_json(bad, &orig.root, &tgt.root, &back),
	          DEPLOY_PLAN_INVALID);
	json_object_put(bad);
	bad = json_tokener_parse(
	        "{\"id\":\"x\",\"version\":\"v\",\"steps\":[{\"actions\":"
	        "[{\"action\":\"ScaleApplication\",\"app\":\"/a\","
	        "\"instances\":1,\"kill\":[1]}]}]}");
	CHECK_INT(deploy_plan_from_json(bad, &orig.root, &tgt.root, &back),
	          DEPLOY_PLAN_INVALID);
	json_object_put(bad);
	CHECK(back == NULL);
out_put_stored:
	deploy_plan_free(back);
	json_object_put(stored);
}

/* Every allocation of build, store, read back and revert failing in
 * turn: each reports out of memory, leaves its result untouched and
 * leaks nothing (LeakSanitizer checks at exit). */
static void test_out_of_memory(void)
{
	static const char *const victims[] = {"a.i1", "a.i2"};
	static const char *const restart[] = {"/r"};
	static const struct deploy_kill kill = {"/a", victims, 2};
	struct deploy_plan_input in = {
		.original = &orig.root, .target = &tgt.root,
		.id = PLAN_ID, .version = PLAN_VERSION,
		.original_version = "o", .target_version = "t",
		.restart_ids = restart, .n_restart_ids = 1,
		.kills = &kill, .n_kills = 1,
	};
	struct json_object *stored;
	long k;
	int rc = DEPLOY_PLAN_NOMEM;

	add(&orig, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":4,"
	               "\"dependencies\":[\"/g\"]}"));
	add(&orig, app("{\"id\":\"/gone\",\"cmd\":\"run x\"}"));
	add(&orig, app("{\"id\":\"/r\",\"cmd\":\"run x\"}"));
	add(&tgt, app("{\"id\":\"/a\",\"cmd\":\"run x\",\"instances\":2,"
	              "\"dependencies\":[\"/g\"]}"));
	add(&tgt, app("{\"id\":\"/g/n\",\"cmd\":\"run x\"}"));
	add(&tgt, orig.apps[2]);

	for (k = 0; k < 1000; k++) {
		fail_in = k;
		rc = deploy_plan_build(&in, &plan);
		fail_in = -1;
		if (rc != DEPLOY_PLAN_NOMEM)
			break;
		CHECK(plan == NULL);
	}
	if (!CHECK_INT(rc, 0) || !CHECK(k > 5))
		return;
	if (!steps_are("[{\"actions\":[{\"action\":\"StopApplication\","
	               "\"app\":\"/gone\"}]},"
	               "{\"actions\":[{\"action\":\"StartApplication\","
	               "\"app\":\"/g/n\"}]},"
	               "{\"actions\":[{\"action\":\"ScaleApplication\","
	               "\"app\":\"/g/n\"},{\"action\":"
	               "\"RestartApplication\",\"app\":\"/r\"}]},"
	               "{\"actions\":[{\"action\":\"ScaleApplication\","
	               "\"app\":\"/a\"}]}]"))
		return;

	stored = deploy_plan_store_json(plan);
	for (k = 0; k < 1000; k++) {
		struct deploy_plan *back = NULL;

		fail_in = k;
		rc = deploy_plan_from_json(stored, &orig.root, &tgt.root, &back);
		fail_in = -1;
		deploy_plan_free(back);
		if (rc != DEPLOY_PLAN_NOMEM)
			break;
		CHECK(back == NULL);
	}
	CHECK_INT(rc, 0);
	json_object_put(stored);

	for (k = 0; k < 1000; k++) {
		const struct app **apps = NULL;
		size_t n = 0;

		fail_in = k;
		rc = deploy_plan_revert_apps(plan, &orig.root, &tgt.root, &apps,
		                             &n);
		fail_in = -1;
		free(apps);
		if (rc != DEPLOY_PLAN_NOMEM)
			break;
	}
	CHECK_INT(rc, 0);
	for (k = 0; k < 1000; k++) {
		fail_in = k;
		rc = deploy_root_check_cycles(&tgt.root);
		fail_in = -1;
		if (rc != DEPLOY_PLAN_NOMEM)
			break;
	}
	CHECK_INT(rc, 0);
}

static CU_TestInfo plan_tests[] = {
	{"new app: start at 0, then scale", test_new_app},
	{"removed apps: one parallel stop step", test_removed_apps_one_step},
	{"scale only, with sentenced instances", test_scale_only_with_kills},
	{"config change restarts", test_config_change_restarts},
	{"unchanged: no steps", test_unchanged_no_steps},
	{"restart marker", test_restart_marker},
	{"new version on an equal app restarts", test_new_version_restarts},
	{"target 0 scales", test_target_zero_scales},
	{"stop, start, layers", test_step_order},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo dep_tests[] = {
	{"chain of three", test_chain_of_three},
	{"chain through unchanged apps", test_chain_through_unchanged},
	{"dependency on a group", test_dependency_on_group},
	{"group dependencies", test_group_dependencies},
	{"unknown dependency ignored", test_unknown_dependency_ignored},
	{"cycles", test_cycles},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo json_tests[] = {
	{"/v2/deployments entry", test_deployments_json},
	{"conflicts and the 409 body", test_conflicts},
	{"revert root", test_revert},
	{"stored form round trip", test_store_round_trip},
	{"out of memory everywhere", test_out_of_memory},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"deploy_plan steps", NULL, NULL, setup, teardown, plan_tests},
	{"deploy_plan dependencies", NULL, NULL, setup, teardown, dep_tests},
	{"deploy_plan json", NULL, NULL, setup, teardown, json_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
