/*
 * test_sched_place: placement constraints in the core (core/sched/
 * sched_place) with the bundled operators, loaded from their built .so
 * files through the real loader: validation messages and paths, the
 * matcher hook over agents with and without the field, @region/@zone, the
 * counts GROUP_BY sees (groups in use, the smallest, the group of agents
 * lacking the field), a list that cannot compile at launch, and scale-down
 * victims.  Expected placements were worked out by hand from the rules of
 * reference 5 and the matcher's order (least loaded, then agent order).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/cu_run.h"
#include "log.h"
#include "model/model_app.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"
#include "sched/sched_match.h"
#include "sched/sched_place.h"

#ifndef CONSTRAINT_PLUGINS
#error "CONSTRAINT_PLUGINS must name the build's plugins/constraint"
#endif

#define N_AGENTS 6

/* a0..a5: racks r1 r1 r1 r2 r2 and one agent without a rack; zones and a
 * region from the fault-domain attributes. */
static struct driver_agent agents[N_AGENTS];
static struct driver_attribute attrs[N_AGENTS][3];
static struct driver_offer offers[N_AGENTS];
static char hostnames[N_AGENTS][8];

static struct event_base *base;
static struct plugin_host *host;
static struct plugin_set *set;
static char last_warning[1024];

static void sink(int level, const char *line, void *arg)
{
	(void)arg;
	if (level <= LOG_LVL_WARN)
		snprintf(last_warning, sizeof(last_warning), "%s", line);
}

static int suite_init(void)
{
	static const char *const dirs[] = {"unique", "cluster", "group_by",
		"like", "unlike", "max_per", "is"};
	static const char *const racks[] = {"r1", "r1", "r1", "r2", "r2", NULL};
	static const char *const zones[] = {"z1", "z1", "z2", "z2", "z3", "z3"};

	log_set_level(LOG_LVL_WARN);
	log_set_sink(sink, NULL);
	base = event_base_new();
	host = base != NULL ? plugin_host_new(base) : NULL;
	set = host != NULL ? plugin_set_new(host, NULL) : NULL;
	if (set == NULL)
		return 1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[2048];

		snprintf(path, sizeof(path), "%s/%s/.libs/constraint_%s.so",
		         CONSTRAINT_PLUGINS, dirs[i], dirs[i]);
		if (plugin_set_load_file(set, path) != 0)
			return 1;
	}
	for (size_t i = 0; i < N_AGENTS; i++) {
		size_t n = 0;

		snprintf(hostnames[i], sizeof(hostnames[i]), "a%zu", i);
		attrs[i][n++] = (struct driver_attribute){
			"zone", (char *)zones[i], DRIVER_ATTR_TEXT};
		attrs[i][n++] = (struct driver_attribute){
			"region", "eu", DRIVER_ATTR_TEXT};
		if (racks[i] != NULL)
			attrs[i][n++] = (struct driver_attribute){
				"rack_id", (char *)racks[i], DRIVER_ATTR_TEXT};
		agents[i] = (struct driver_agent){
			.id = hostnames[i], .hostname = hostnames[i],
			.cpus = 100, .mem = 100000, .disk = 100000,
			.attributes = attrs[i], .n_attributes = n,
			.simulated = true,
		};
		offers[i] = (struct driver_offer){
			.agent = &agents[i], .cpus = 100, .mem = 100000,
			.disk = 100000,
		};
	}
	return 0;
}

static int suite_clean(void)
{
	log_set_sink(NULL, NULL);
	plugin_set_free(set);
	plugin_host_free(host);
	if (base != NULL)
		event_base_free(base);
	return 0;
}

/* An app with CONSTRAINTS (a JSON array); NULL if it does not parse. */
static struct app *app_with(const char *constraints)
{
	char body[1024];
	struct json_object *in;
	struct model_errors errs;
	struct app *app = NULL;

	snprintf(body, sizeof(body),
	         "{\"id\":\"/t\",\"cmd\":\"sleep 1\",\"cpus\":1,\"mem\":1,"
	         "\"constraints\":%s}", constraints);
	model_errors_init(&errs);
	in = json_tokener_parse(body);
	if (in == NULL || model_app_parse(in, "/", NULL, &app, &errs) != 0)
		app = NULL;
	json_object_put(in);
	model_errors_clear(&errs);
	return app;
}

/* ---- validation ------------------------------------------------------- */

static void test_validate(void)
{
	struct sched_place *pl = sched_place_new(set, agents, N_AGENTS);
	struct app *app = app_with(
		"[[\"hostname\",\"unique\"],[\"\",\"LIKE\",\"a\"],"
		"[\"x\",\"NOT_IN\",\"a\"],[\"x\",\"MAX_PER\"],"
		"[\"x\",\"A_VERY_LONG_OPERATOR_NAME_OF_40_CHARACTERS\"]]");
	struct model_errors errs;

	model_errors_init(&errs);
	if (!CHECK(pl != NULL && app != NULL))
		goto out_free;
	CHECK_INT(sched_place_validate(pl, app, "/apps(3)", &errs), -1);
	/* Operators are upper-cased: "unique" is UNIQUE. */
	CHECK(model_errors_find(&errs, "/apps(3)/constraints(0)") == NULL);
	CHECK_STR(model_errors_find(&errs, "/apps(3)/constraints(1)"),
	          SCHED_PLACE_MSG_NO_FIELD);
	CHECK_STR(model_errors_find(&errs, "/apps(3)/constraints(2)"),
	          "operator must be one of the following UNIQUE, CLUSTER, "
	          "GROUP_BY, LIKE, MAX_PER, UNLIKE or IS; no constraint "
	          "plugin \"NOT_IN\" is loaded");
	CHECK_STR(model_errors_find(&errs, "/apps(3)/constraints(3)"),
	          "MAX_PER requires an integer value");
	CHECK_CONTAINS(model_errors_find(&errs, "/apps(3)/constraints(4)"),
	               "no constraint plugin "
	               "\"A_VERY_LONG_OPERATOR_NAME_OF_40_CHARACTERS\"");
	CHECK_INT(errs.n, 4);
out_free:
	model_errors_clear(&errs);
	model_app_free(app);
	sched_place_free(pl);
}

/* Without any constraint plugin the message says what to install. */
static void test_validate_no_operators(void)
{
	struct plugin_set *empty = plugin_set_new(host, NULL);
	struct sched_place *pl = empty != NULL
	                                 ? sched_place_new(empty, agents,
	                                                   N_AGENTS)
	                                 : NULL;
	struct app *app = app_with("[[\"hostname\",\"UNIQUE\"]]");
	struct model_errors errs;

	model_errors_init(&errs);
	if (CHECK(pl != NULL && app != NULL)) {
		CHECK_INT(sched_place_validate(pl, app, NULL, &errs), -1);
		CHECK_STR(model_errors_find(&errs, "/constraints(0)"),
		          "no constraint plugin \"UNIQUE\" is loaded, nor any "
		          "other; install stadion's bundled plugins");
	}
	model_errors_clear(&errs);
	model_app_free(app);
	sched_place_free(pl);
	plugin_set_free(empty);
}

/* ---- matching runs ----------------------------------------------------- */

/* Place COUNT instances of CONSTRAINTS with EXISTING (per agent, NULL =
 * none); write per-agent totals (existing + placed) to ON_R.  Returns how
 * many were placed; STATS may be NULL. */
static uint32_t place(const char *constraints, const uint32_t *existing,
                      uint32_t count, uint32_t on_r[N_AGENTS],
                      struct sched_match_stats *stats)
{
	struct sched_place *pl = sched_place_new(set, agents, N_AGENTS);
	struct app *app = app_with(constraints);
	struct sched_match_pool *pool = sched_match_pool_new(offers, N_AGENTS);
	struct sched_match_demand demand = {.cpus = 1, .mem = 1};
	struct sched_place_run *run = NULL;
	struct sched_match_hook hook;
	struct model_errors errs;
	size_t idx[64];
	uint32_t placed = 0;
	struct sched_match_request req = {
		.demand = &demand, .count = count, .existing = existing,
		.stats = stats,
	};

	model_errors_init(&errs);
	for (size_t i = 0; i < N_AGENTS; i++)
		on_r[i] = existing != NULL ? existing[i] : 0;
	if (!CHECK(pl != NULL && app != NULL && pool != NULL && count <= 64))
		goto out_free;
	if (!CHECK_INT(sched_place_validate(pl, app, NULL, &errs), 0) ||
	    !CHECK_INT(sched_place_run_new(pl, app, offers, N_AGENTS,
	                                   existing, count, &run, &hook),
	               0) ||
	    !CHECK(run != NULL))
		goto out_free;
	req.hook = &hook;
	CHECK_INT(sched_match_run(pool, &req, idx, NULL, &placed), 0);
	for (uint32_t j = 0; j < placed; j++)
		on_r[idx[j]]++;
out_free:
	sched_place_run_free(run);
	sched_match_pool_free(pool);
	model_errors_clear(&errs);
	model_app_free(app);
	sched_place_free(pl);
	return placed;
}

static void check_on(const uint32_t on[N_AGENTS], const uint32_t want[N_AGENTS])
{
	for (size_t i = 0; i < N_AGENTS; i++)
		if (!CHECK_INT(on[i], want[i]))
			fprintf(stderr, "agent a%zu\n", i);
}

static void test_unique_hostname(void)
{
	uint32_t on[N_AGENTS];
	static const uint32_t want[N_AGENTS] = {1, 1, 1, 1, 1, 1};
	static const uint32_t existing[N_AGENTS] = {1, 0, 0, 0, 0, 0};
	static const uint32_t want2[N_AGENTS] = {1, 1, 1, 1, 1, 1};
	struct sched_match_stats stats;
	int64_t last[SCHED_MATCH_N_REASONS], n_agents;

	sched_match_stats_init(&stats);
	CHECK_INT(place("[[\"hostname\",\"UNIQUE\"]]", NULL, 8, on, &stats),
	          6);
	check_on(on, want);
	sched_match_stats_last_summary(&stats, last, &n_agents);
	CHECK_INT(last[SCHED_MATCH_UNFULFILLED_CONSTRAINT], 0);
	sched_match_stats_reset(&stats);
	/* What already runs counts: a0 is taken. */
	CHECK_INT(place("[[\"hostname\",\"UNIQUE\"]]", existing, 8, on,
	                &stats),
	          5);
	check_on(on, want2);
	sched_match_stats_last_summary(&stats, last, &n_agents);
	CHECK_INT(last[SCHED_MATCH_UNFULFILLED_CONSTRAINT], 1);
	sched_match_stats_reset(&stats);
}

/* a5 lacks rack_id: only UNLIKE takes it. */
static void test_missing_field(void)
{
	uint32_t on[N_AGENTS];
	static const uint32_t like[N_AGENTS] = {1, 1, 1, 1, 1, 0};
	static const uint32_t unlike[N_AGENTS] = {0, 0, 0, 1, 1, 1};

	CHECK_INT(place("[[\"rack_id\",\"LIKE\",\"r.*\"]]", NULL, 5, on,
	                NULL),
	          5);
	check_on(on, like);
	CHECK_INT(place("[[\"rack_id\",\"UNLIKE\",\"r1\"]]", NULL, 3, on,
	                NULL),
	          3);
	check_on(on, unlike);
}

/* @zone and @region are the fault-domain attributes. */
static void test_fault_domain(void)
{
	uint32_t on[N_AGENTS];
	static const uint32_t zone[N_AGENTS] = {0, 0, 1, 1, 0, 0};
	static const uint32_t region[N_AGENTS] = {1, 1, 1, 1, 1, 1};

	CHECK_INT(place("[[\"@zone\",\"IS\",\"z2\"]]", NULL, 2, on, NULL), 2);
	check_on(on, zone);
	CHECK_INT(place("[[\"@region\",\"CLUSTER\",\"eu\"]]", NULL, 6, on,
	                NULL),
	          6);
	check_on(on, region);
	CHECK_INT(place("[[\"@zone\",\"UNIQUE\"]]", NULL, 6, on, NULL), 3);
}

/* GROUP_BY rack_id over existing counts, as Marathon 1.10 counts them:
 * r1 has 4, r2 1 and the rackless agent 1.  The agents lacking the field
 * form a group of their own that no GROUP_BY can grow, so after r2 has
 * caught up to 2 the smallest group in use stays at 1 and nothing more
 * is placed: one of three. */
static void test_group_by_counts(void)
{
	uint32_t on[N_AGENTS];
	static const uint32_t existing[N_AGENTS] = {2, 2, 0, 1, 0, 1};
	static const uint32_t want[N_AGENTS] = {2, 2, 0, 1, 1, 1};

	CHECK_INT(place("[[\"rack_id\",\"GROUP_BY\"]]", existing, 3, on,
	                NULL),
	          1);
	check_on(on, want);
}

/* GROUP_BY with a value: a group in use grows only once that many are in
 * use.  Two racks can never make three groups (the rackless agent takes
 * none), so two of four are placed; with 2 all four are, evenly. */
static void test_group_by_value(void)
{
	uint32_t on[N_AGENTS];
	static const uint32_t three[N_AGENTS] = {1, 0, 0, 1, 0, 0};
	static const uint32_t two[N_AGENTS] = {1, 1, 0, 1, 1, 0};

	CHECK_INT(place("[[\"rack_id\",\"GROUP_BY\",\"3\"]]", NULL, 4, on,
	                NULL),
	          2);
	check_on(on, three);
	CHECK_INT(place("[[\"rack_id\",\"GROUP_BY\",\"2\"]]", NULL, 4, on,
	                NULL),
	          4);
	check_on(on, two);
}

/* An operator that is gone: every agent declines, with the reason, and
 * one warning names the app and the constraint. */
static void test_broken_list(void)
{
	struct plugin_set *few = plugin_set_new(host, NULL);
	struct sched_place *pl = NULL;
	struct app *app = app_with("[[\"hostname\",\"UNIQUE\"]]");
	struct sched_match_pool *pool = sched_match_pool_new(offers, N_AGENTS);
	struct sched_match_demand demand = {.cpus = 1, .mem = 1};
	struct sched_match_stats stats;
	struct sched_place_run *run = NULL;
	struct sched_match_hook hook;
	int64_t last[SCHED_MATCH_N_REASONS], n_agents;
	size_t idx[4];
	uint32_t placed = 7;
	struct sched_match_request req = {.demand = &demand, .count = 4};

	sched_match_stats_init(&stats);
	last_warning[0] = '\0';
	if (few != NULL)
		pl = sched_place_new(few, agents, N_AGENTS);
	if (!CHECK(pl != NULL && app != NULL && pool != NULL))
		goto out_free;
	if (!CHECK_INT(sched_place_run_new(pl, app, offers, N_AGENTS, NULL, 4,
	                                   &run, &hook),
	               0))
		goto out_free;
	req.hook = &hook;
	req.stats = &stats;
	CHECK_INT(sched_match_run(pool, &req, idx, NULL, &placed), 0);
	CHECK_INT(placed, 0);
	sched_match_stats_last_summary(&stats, last, &n_agents);
	CHECK_INT(last[SCHED_MATCH_UNFULFILLED_CONSTRAINT], N_AGENTS);
	CHECK_CONTAINS(last_warning, "app /t: constraint 0 cannot be used");
	CHECK_CONTAINS(last_warning, "no constraint plugin \"UNIQUE\"");
out_free:
	sched_match_stats_reset(&stats);
	sched_place_run_free(run);
	sched_match_pool_free(pool);
	model_app_free(app);
	sched_place_free(pl);
	plugin_set_free(few);
}

/* An app without constraints needs no run. */
static void test_no_constraints(void)
{
	struct sched_place *pl = sched_place_new(set, agents, N_AGENTS);
	struct app *app = app_with("[]");
	struct sched_place_run *run = (struct sched_place_run *)1;
	struct sched_match_hook hook;

	if (CHECK(pl != NULL && app != NULL)) {
		CHECK_INT(sched_place_run_new(pl, app, offers, N_AGENTS, NULL,
		                              1, &run, &hook),
		          0);
		CHECK(run == NULL);
	}
	model_app_free(app);
	sched_place_free(pl);
}

/* ---- scale-down -------------------------------------------------------- */

static void test_victims(void)
{
	struct sched_place *pl = sched_place_new(set, agents, N_AGENTS);
	struct app *grouped = app_with("[[\"rack_id\",\"GROUP_BY\"]]");
	struct app *unique = app_with("[[\"hostname\",\"UNIQUE\"]]");
	/* Candidates in Marathon's order: r2 (a3) first, then r1 x3, one
	 * without an agent (Scheduled) last. */
	const struct driver_agent *cands[] = {
		&agents[3], &agents[0], &agents[1], &agents[2], NULL,
	};
	size_t order[5];

	if (!CHECK(pl != NULL && grouped != NULL && unique != NULL))
		goto out_free;
	/* Kill 3 of r1 3 / r2 1 / unplaced 1: the unplaced one, then the
	 * largest group twice, in the given order: 1 + 1 remain. */
	CHECK_INT(sched_place_victims(pl, grouped, cands, 5, 3, order), 0);
	CHECK_INT(order[0], 4);
	CHECK_INT(order[1], 1);
	CHECK_INT(order[2], 2);
	CHECK_INT(order[3], 0);
	CHECK_INT(order[4], 3);
	/* Even groups: the given order decides. */
	{
		const struct driver_agent *even[] = {
			&agents[3], &agents[0], &agents[4], &agents[1],
		};

		CHECK_INT(sched_place_victims(pl, grouped, even, 4, 2, order),
		          0);
		CHECK_INT(order[0], 0);
		CHECK_INT(order[1], 1);
	}
	/* No operator with a preference: the given order. */
	CHECK_INT(sched_place_victims(pl, unique, cands, 5, 2, order), 0);
	for (size_t i = 0; i < 5; i++)
		CHECK_INT(order[i], i);
out_free:
	model_app_free(grouped);
	model_app_free(unique);
	sched_place_free(pl);
}

static CU_TestInfo tests[] = {
	{"validation: paths and messages", test_validate},
	{"validation without operators", test_validate_no_operators},
	{"UNIQUE hostname and what runs", test_unique_hostname},
	{"a missing field: only UNLIKE", test_missing_field},
	{"@zone and @region", test_fault_domain},
	{"GROUP_BY counts groups in use", test_group_by_counts},
	{"GROUP_BY with a value", test_group_by_value},
	{"an operator gone: rejected, warned", test_broken_list},
	{"no constraints: no run", test_no_constraints},
	{"scale-down victims", test_victims},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"sched_place", suite_init, suite_clean, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return cu_run(suites);
}
