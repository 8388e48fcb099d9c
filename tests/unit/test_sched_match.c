/*
 * test_sched_match: the offer matcher (core/sched/sched_match): each
 * resource fitting and not, with the reason counted where Marathon's
 * funnel puts it; host ports by count and by number; several instances per
 * agent and the spreading order; the constraint hook; the
 * processedOffersSummary JSON; and a micro-benchmark whose rates are
 * printed, never asserted (machines differ).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "lib/cu_run.h"
#include "model/model_app.h"
#include "sched/sched_match.h"

#define MAX_AGENTS 1000

/* A cluster of simulated agents and one offer each; all static, so tests
 * leak nothing when they stop early. */
static struct driver_agent agents[MAX_AGENTS];
static struct driver_offer offers[MAX_AGENTS];
static struct driver_port_range ranges[MAX_AGENTS][4];
static char ids[MAX_AGENTS][16];

static void cluster(size_t n, double cpus, double mem, double disk,
                    uint32_t port_begin, uint32_t port_end)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "agent-%zu", i);
		agents[i] = (struct driver_agent){
			.id = ids[i], .hostname = ids[i],
			.cpus = cpus, .mem = mem, .disk = disk,
			.simulated = true,
		};
		ranges[i][0] = (struct driver_port_range){port_begin, port_end};
		offers[i] = (struct driver_offer){
			.agent = &agents[i], .cpus = cpus, .mem = mem,
			.disk = disk, .ports = ranges[i],
			.n_ports = port_end >= port_begin ? 1 : 0,
		};
	}
}

static const struct sched_match_demand small = {
	.cpus = 0.5, .mem = 64, .disk = 10,
};

/* Run DEMAND x COUNT against a fresh pool of the first N offers and
 * return how many were placed; STATS (initialised) gets the statistics. */
static uint32_t run_once(size_t n, const struct sched_match_demand *demand,
                         uint32_t count, struct sched_match_stats *stats)
{
	struct sched_match_pool *pool = sched_match_pool_new(offers, n);
	size_t where[64];
	uint32_t ports[256], placed = 0;
	struct sched_match_request req = {
		.demand = demand, .count = count, .stats = stats,
		.now_ms = 1000,
	};

	if (!CHECK(pool != NULL) || !CHECK(count <= 64))
		goto out_pool;
	CHECK_INT(sched_match_run(pool, &req, where, ports, &placed), 0);
out_pool:
	sched_match_pool_free(pool);
	return placed;
}

static void test_reason_names(void)
{
	static const char *const funnel[] = {
		"UnfulfilledRole", "UnfulfilledConstraint",
		"NoCorrespondingReservationFound", "AgentMaintenance",
		"InsufficientCpus", "InsufficientMemory", "InsufficientDisk",
		"InsufficientGpus", "InsufficientPorts",
		"DeclinedScarceResources",
	};

	CHECK_INT(SCHED_MATCH_N_REASONS, 10);
	for (int i = 0; i < SCHED_MATCH_N_REASONS; i++)
		CHECK_STR(sched_match_reason_name(i), funnel[i]);
	CHECK(sched_match_reason_name(SCHED_MATCH_N_REASONS) == NULL);
}

/* One agent (1 cpu, 128 MiB, 100 MiB disk, ports 31000-31001) and one
 * instance of each demand: placed or not, and under which reason. */
static void test_each_resource(void)
{
	static const uint32_t three[] = {0, 0, 0};
	static const uint32_t two[] = {0, 0};
	static const struct {
		const char *name;
		struct sched_match_demand d;
		int reason; /* -1: fits */
	} cases[] = {
		{"fits exactly", {.cpus = 1, .mem = 128, .disk = 100,
		  .host_ports = two, .n_host_ports = 2}, -1},
		{"cpus", {.cpus = 1.001, .mem = 1},
		 SCHED_MATCH_INSUFFICIENT_CPUS},
		{"mem", {.cpus = 1, .mem = 128.5},
		 SCHED_MATCH_INSUFFICIENT_MEMORY},
		{"disk", {.cpus = 0.1, .disk = 101},
		 SCHED_MATCH_INSUFFICIENT_DISK},
		{"gpus: local agents have none", {.cpus = 0.1, .gpus = 1},
		 SCHED_MATCH_INSUFFICIENT_GPUS},
		{"ports", {.cpus = 0.1, .host_ports = three,
		  .n_host_ports = 3}, SCHED_MATCH_INSUFFICIENT_PORTS},
		/* Everything fails: cpus comes first in the funnel. */
		{"first failing check wins", {.cpus = 2, .mem = 1000,
		  .disk = 1000, .gpus = 1, .host_ports = three,
		  .n_host_ports = 3}, SCHED_MATCH_INSUFFICIENT_CPUS},
		{"mem before disk", {.cpus = 0.1, .mem = 1000, .disk = 1000},
		 SCHED_MATCH_INSUFFICIENT_MEMORY},
		{"disk before ports", {.disk = 1000, .host_ports = three,
		  .n_host_ports = 3}, SCHED_MATCH_INSUFFICIENT_DISK},
	};

	cluster(1, 1, 128, 100, 31000, 31001);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sched_match_stats st;
		uint32_t placed;

		sched_match_stats_init(&st);
		placed = run_once(1, &cases[c].d, 1, &st);
		if (!CHECK_INT(placed, cases[c].reason < 0 ? 1 : 0))
			fprintf(stderr, "case %s\n", cases[c].name);
		CHECK_INT(st.processed_offers, 1);
		if (cases[c].reason < 0) {
			CHECK_INT(st.unused_offers, 0);
			CHECK_INT(st.last_used_offer_at_ms, 1000);
			CHECK_INT(st.last_unused_offer_at_ms, -1);
		} else {
			CHECK_INT(st.unused_offers, 1);
			if (!CHECK_INT(st.launch_attempt[cases[c].reason], 1))
				fprintf(stderr, "case %s\n", cases[c].name);
			CHECK_INT(st.last_unused_offer_at_ms, 1000);
			CHECK_INT(st.n_last, 1);
		}
		sched_match_stats_reset(&st);
	}
}

/* Fixed point: ten 0.1-cpu instances fill one cpu exactly, the eleventh
 * does not fit; a pool is consumed across runs. */
static void test_fill_one_agent(void)
{
	static const struct sched_match_demand tenth = {.cpus = 0.1,
	                                                .mem = 12.8};
	struct sched_match_pool *pool;
	struct sched_match_remaining rem;
	struct sched_match_stats st;
	size_t where[16];
	uint32_t placed = 0;
	struct sched_match_request req = {
		.demand = &tenth, .count = 11, .stats = &st, .now_ms = 5,
	};

	cluster(1, 1, 128, 0, 1, 0);
	sched_match_stats_init(&st);
	pool = sched_match_pool_new(offers, 1);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 10);
	for (uint32_t i = 0; i < placed; i++)
		CHECK_INT(where[i], 0);
	sched_match_pool_remaining(pool, 0, &rem);
	CHECK(rem.cpus == 0 && rem.mem == 0);
	/* The agent got instances: a used offer, not an unused one. */
	CHECK_INT(st.processed_offers, 1);
	CHECK_INT(st.unused_offers, 0);

	/* The next run finds it empty. */
	req.count = 1;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 0);
	CHECK_INT(st.processed_offers, 2);
	CHECK_INT(st.unused_offers, 1);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_CPUS], 1);
	sched_match_pool_free(pool);
	sched_match_stats_reset(&st);
}

/* Any ports: the lowest free ones, across ranges, until none are left. */
static void test_ports_any(void)
{
	static const uint32_t two[] = {0, 0};
	struct sched_match_demand d = {.cpus = 0.1, .host_ports = two,
	                               .n_host_ports = 2};
	struct sched_match_pool *pool;
	struct sched_match_remaining rem;
	struct sched_match_stats st;
	size_t where[4];
	uint32_t ports[8], placed = 0;
	struct sched_match_request req = {
		.demand = &d, .count = 3, .stats = &st,
	};

	cluster(1, 8, 1024, 0, 31000, 31002);
	ranges[0][1] = (struct driver_port_range){31010, 31010};
	offers[0].n_ports = 2;
	sched_match_stats_init(&st);
	pool = sched_match_pool_new(offers, 1);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, ports, &placed), 0);
	CHECK_INT(placed, 2);
	CHECK_INT(ports[0], 31000);
	CHECK_INT(ports[1], 31001);
	CHECK_INT(ports[2], 31002);
	CHECK_INT(ports[3], 31010);
	sched_match_pool_remaining(pool, 0, &rem);
	CHECK_INT(rem.free_ports, 0);
	/* The driver's offer is not changed. */
	CHECK_INT(offers[0].ports[0].begin, 31000);

	/* Exhausted ranges: InsufficientPorts. */
	req.count = 1;
	CHECK_INT(sched_match_run(pool, &req, where, ports, &placed), 0);
	CHECK_INT(placed, 0);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_PORTS], 1);
	sched_match_pool_free(pool);
	sched_match_stats_reset(&st);
}

/* Fixed port numbers: taken out of the middle of a range, in the app's
 * order beside the any ports, and only once per agent. */
static void test_ports_fixed(void)
{
	static const uint32_t mixed[] = {0, 31003, 0};
	static const uint32_t absent[] = {32000};
	static const uint32_t dup[] = {31001, 31001};
	struct sched_match_demand d = {.cpus = 0.1, .host_ports = mixed,
	                               .n_host_ports = 3};
	struct sched_match_pool *pool;
	struct sched_match_stats st;
	size_t where[4];
	uint32_t ports[12], placed = 0;
	struct sched_match_request req = {
		.demand = &d, .count = 2, .stats = &st,
	};

	cluster(2, 8, 1024, 0, 31000, 31005);
	sched_match_stats_init(&st);
	pool = sched_match_pool_new(offers, 2);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, ports, &placed), 0);
	/* One per agent: the fixed port is gone after the first. */
	CHECK_INT(placed, 2);
	CHECK_INT(where[0], 0);
	CHECK_INT(where[1], 1);
	CHECK_INT(ports[0], 31000);
	CHECK_INT(ports[1], 31003);
	CHECK_INT(ports[2], 31001);
	CHECK(!sched_match_pool_port_free(pool, 0, 31003));
	CHECK(sched_match_pool_port_free(pool, 0, 31002));
	CHECK(sched_match_pool_port_free(pool, 0, 31004));

	/* Both agents have 31003 taken now: a third is refused. */
	req.count = 1;
	CHECK_INT(sched_match_run(pool, &req, where, ports, &placed), 0);
	CHECK_INT(placed, 0);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_PORTS], 2);

	/* Any ports still come from the rest, skipping the hole. */
	{
		static const uint32_t four_any[] = {0, 0, 0, 0};
		struct sched_match_demand any = {.host_ports = four_any,
		                                 .n_host_ports = 3};

		req.demand = &any;
		CHECK_INT(sched_match_run(pool, &req, where, ports, &placed),
		          0);
		CHECK_INT(placed, 1);
		CHECK_INT(ports[0], 31002);
		CHECK_INT(ports[1], 31004);
		CHECK_INT(ports[2], 31005);
	}
	sched_match_pool_free(pool);
	sched_match_stats_reset(&st);

	/* A number outside the ranges, and one number asked twice. */
	d.host_ports = absent;
	d.n_host_ports = 1;
	sched_match_stats_init(&st);
	CHECK_INT(run_once(1, &d, 1, &st), 0);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_PORTS], 1);
	sched_match_stats_reset(&st);
	d.host_ports = dup;
	d.n_host_ports = 2;
	CHECK_INT(run_once(1, &d, 1, &st), 0);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_PORTS], 1);
	sched_match_stats_reset(&st);
}

/* Least loaded first, ties by offer order; existing instances count. */
static void test_spread(void)
{
	static const uint32_t existing[] = {2, 0, 0};
	struct sched_match_pool *pool;
	size_t where[16];
	uint32_t placed = 0;
	struct sched_match_request req = {.demand = &small, .count = 7};
	static const size_t want[] = {0, 1, 2, 0, 1, 2, 0};
	static const size_t want_existing[] = {1, 2, 1, 2};

	cluster(3, 4, 1024, 1000, 1, 0);
	pool = sched_match_pool_new(offers, 3);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 7);
	for (size_t i = 0; i < 7; i++)
		CHECK_INT(where[i], want[i]);
	sched_match_pool_free(pool);

	pool = sched_match_pool_new(offers, 3);
	if (!CHECK(pool != NULL))
		return;
	req.count = 4;
	req.existing = existing;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 4);
	for (size_t i = 0; i < 4; i++)
		CHECK_INT(where[i], want_existing[i]);
	sched_match_pool_free(pool);

	/* A small agent fills up and the rest go to the big one. */
	cluster(2, 4, 1024, 1000, 1, 0);
	offers[0].cpus = 1;
	pool = sched_match_pool_new(offers, 2);
	if (!CHECK(pool != NULL))
		return;
	req.existing = NULL;
	req.count = 6;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 6);
	{
		size_t on0 = 0;

		for (size_t i = 0; i < placed; i++)
			on0 += where[i] == 0;
		CHECK_INT(on0, 2);
	}
	sched_match_pool_free(pool);
}

/* Hooks used below: ARG is a struct hook_state. */
struct hook_state {
	size_t calls, placed_calls;
	size_t banned;           /* this offer is always refused */
	uint32_t wait_for;       /* hold offer 0 until offer 1 has this */
	uint32_t max_per;        /* at most this many per agent */
};

static enum sched_match_verdict unique_hook(void *arg,
                                            const struct sched_match_view *v)
{
	struct hook_state *h = arg;

	h->calls++;
	if (v->offer_index == h->banned)
		return SCHED_MATCH_REJECT_FINAL;
	return v->placed_here < h->max_per ? SCHED_MATCH_ACCEPT
	                                   : SCHED_MATCH_REJECT_FINAL;
}

static enum sched_match_verdict wait_hook(void *arg,
                                          const struct sched_match_view *v)
{
	struct hook_state *h = arg;

	h->calls++;
	if (v->offer_index == 0 && v->placed[1] < h->wait_for)
		return SCHED_MATCH_REJECT;
	return SCHED_MATCH_ACCEPT;
}

/* The worst case for the matcher: half the agents refuse "for now" every
 * time, so every placement asks them all again. */
static enum sched_match_verdict odd_hook(void *arg,
                                         const struct sched_match_view *v)
{
	struct hook_state *h = arg;

	h->calls++;
	return v->offer_index % 2 ? SCHED_MATCH_REJECT : SCHED_MATCH_ACCEPT;
}

static void count_placed(void *arg, size_t offer_index)
{
	struct hook_state *h = arg;

	h->placed_calls++;
}

static void test_constraint_hook(void)
{
	struct hook_state hs = {.banned = 99, .max_per = 1};
	struct sched_match_hook hook = {unique_hook, count_placed, &hs};
	struct sched_match_pool *pool;
	struct sched_match_stats st;
	size_t where[8];
	uint32_t placed = 0;
	static const uint32_t one_each[] = {1, 1, 1};
	struct sched_match_request req = {
		.demand = &small, .count = 5, .hook = &hook, .stats = &st,
	};
	struct sched_match_demand big = {.cpus = 100};

	/* UNIQUE-like: one per agent, the other two are left. */
	cluster(3, 4, 1024, 1000, 1, 0);
	sched_match_stats_init(&st);
	pool = sched_match_pool_new(offers, 3);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 3);
	CHECK_INT(hs.placed_calls, 3);
	CHECK_INT(st.processed_offers, 3);
	CHECK_INT(st.unused_offers, 0);

	/* Next round, the three are there already: every agent refuses. */
	req.existing = one_each;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 0);
	CHECK_INT(st.processed_offers, 6);
	CHECK_INT(st.unused_offers, 3);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_UNFULFILLED_CONSTRAINT], 3);
	sched_match_pool_free(pool);
	sched_match_stats_reset(&st);

	/* The constraint comes before the resources in the funnel: agent 0
	 * refused and too small counts as UnfulfilledConstraint, agent 1
	 * only too small as InsufficientCpus. */
	hs = (struct hook_state){.banned = 0, .max_per = 10};
	req.existing = NULL;
	req.demand = &big;
	pool = sched_match_pool_new(offers, 2);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 0);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_UNFULFILLED_CONSTRAINT], 1);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_CPUS], 1);
	sched_match_pool_free(pool);
	sched_match_stats_reset(&st);

	/* A refusal for now is asked again after each placement. */
	hs = (struct hook_state){.wait_for = 2};
	hook.accept = wait_hook;
	req.demand = &small;
	req.count = 3;
	pool = sched_match_pool_new(offers, 2);
	if (!CHECK(pool != NULL))
		return;
	CHECK_INT(sched_match_run(pool, &req, where, NULL, &placed), 0);
	CHECK_INT(placed, 3);
	CHECK_INT(where[0], 1);
	CHECK_INT(where[1], 1);
	CHECK_INT(where[2], 0);
	CHECK_INT(hs.placed_calls, 3);
	/* Agent 0 got one in the end: a used offer. */
	CHECK_INT(st.unused_offers, 0);
	sched_match_pool_free(pool);
	sched_match_stats_reset(&st);
}

/* processedOffersSummary as QueueInfoConversion writes it. */
static void test_stats_json(void)
{
	struct sched_match_stats st;
	struct json_object *j, *arr, *e;
	/* QueueInfoConversionTest's numbers, with the 1.10 funnel. */
	static const int64_t processed[] = {123, 123, 123, 123, 123, 48, 33,
	                                    23, 23, 23};
	static const int64_t declined[] = {0, 0, 0, 0, 75, 15, 10, 0, 0, 0};

	sched_match_stats_init(&st);
	st.processed_offers = 123;
	st.unused_offers = 100;
	st.launch_attempt[SCHED_MATCH_INSUFFICIENT_CPUS] = 75;
	st.launch_attempt[SCHED_MATCH_INSUFFICIENT_MEMORY] = 15;
	st.launch_attempt[SCHED_MATCH_INSUFFICIENT_DISK] = 10;
	st.last_unused_offer_at_ms = 1443194028343;
	j = sched_match_stats_to_json(&st);
	if (!CHECK(j != NULL))
		goto out_stats;
	CHECK_STR(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
	          "{\"processedOffersCount\":123,\"unusedOffersCount\":100,"
	          "\"lastUnusedOfferAt\":\"2015-09-25T15:13:48.343Z\","
	          "\"rejectSummaryLastOffers\":[{\"reason\":"
	          "\"UnfulfilledRole\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"UnfulfilledConstraint\",\"declined\":0,"
	          "\"processed\":0},{\"reason\":"
	          "\"NoCorrespondingReservationFound\",\"declined\":0,"
	          "\"processed\":0},{\"reason\":\"AgentMaintenance\","
	          "\"declined\":0,\"processed\":0},{\"reason\":"
	          "\"InsufficientCpus\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientMemory\",\"declined\":0,"
	          "\"processed\":0},{\"reason\":\"InsufficientDisk\","
	          "\"declined\":0,\"processed\":0},{\"reason\":"
	          "\"InsufficientGpus\",\"declined\":0,\"processed\":0},"
	          "{\"reason\":\"InsufficientPorts\",\"declined\":0,"
	          "\"processed\":0},{\"reason\":\"DeclinedScarceResources\","
	          "\"declined\":0,\"processed\":0}],"
	          "\"rejectSummaryLaunchAttempt\":[{\"reason\":"
	          "\"UnfulfilledRole\",\"declined\":0,\"processed\":123},"
	          "{\"reason\":\"UnfulfilledConstraint\",\"declined\":0,"
	          "\"processed\":123},{\"reason\":"
	          "\"NoCorrespondingReservationFound\",\"declined\":0,"
	          "\"processed\":123},{\"reason\":\"AgentMaintenance\","
	          "\"declined\":0,\"processed\":123},{\"reason\":"
	          "\"InsufficientCpus\",\"declined\":75,\"processed\":123},"
	          "{\"reason\":\"InsufficientMemory\",\"declined\":15,"
	          "\"processed\":48},{\"reason\":\"InsufficientDisk\","
	          "\"declined\":10,\"processed\":33},{\"reason\":"
	          "\"InsufficientGpus\",\"declined\":0,\"processed\":23},"
	          "{\"reason\":\"InsufficientPorts\",\"declined\":0,"
	          "\"processed\":23},{\"reason\":\"DeclinedScarceResources\","
	          "\"declined\":0,\"processed\":23}]}");
	arr = json_object_object_get(j, "rejectSummaryLaunchAttempt");
	for (size_t i = 0; i < 10; i++) {
		e = json_object_array_get_idx(arr, i);
		CHECK_INT(json_object_get_int64(
			json_object_object_get(e, "processed")), processed[i]);
		CHECK_INT(json_object_get_int64(
			json_object_object_get(e, "declined")), declined[i]);
	}
	json_object_put(j);
out_stats:
	sched_match_stats_reset(&st);
}

/* The last unused offer per agent: replaced by the agent's next one, kept
 * after a used one (as Marathon does). */
static void test_last_offers(void)
{
	struct sched_match_stats st;
	struct sched_match_demand cpu = {.cpus = 3};
	struct sched_match_demand mem = {.cpus = 0.1, .mem = 4096};
	int64_t counts[SCHED_MATCH_N_REASONS], n;

	cluster(40, 2, 1024, 100, 1, 0);
	sched_match_stats_init(&st);
	CHECK_INT(run_once(40, &cpu, 1, &st), 0);
	sched_match_stats_last_summary(&st, counts, &n);
	CHECK_INT(n, 40);
	CHECK_INT(counts[SCHED_MATCH_INSUFFICIENT_CPUS], 40);
	CHECK_INT(run_once(40, &mem, 1, &st), 0);
	sched_match_stats_last_summary(&st, counts, &n);
	CHECK_INT(n, 40);
	CHECK_INT(counts[SCHED_MATCH_INSUFFICIENT_CPUS], 0);
	CHECK_INT(counts[SCHED_MATCH_INSUFFICIENT_MEMORY], 40);
	CHECK_INT(run_once(40, &small, 1, &st), 1);
	sched_match_stats_last_summary(&st, counts, &n);
	CHECK_INT(n, 40);
	CHECK_INT(st.processed_offers, 81);
	CHECK_INT(st.unused_offers, 80);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_CPUS], 40);
	CHECK_INT(st.launch_attempt[SCHED_MATCH_INSUFFICIENT_MEMORY], 40);
	sched_match_stats_reset(&st);
	CHECK_INT(st.n_last, 0);
	CHECK_INT(st.processed_offers, 0);
}

static void test_demand_from_app(void)
{
	static const struct {
		const char *json;
		size_t n;
		uint32_t ports[3];
	} cases[] = {
		{"{\"id\":\"/a\",\"cmd\":\"sleep 1\",\"cpus\":0.5,\"mem\":64,"
		 "\"portDefinitions\":[{\"port\":10000},{\"port\":10001}]}",
		 2, {0, 0}},
		{"{\"id\":\"/a\",\"cmd\":\"sleep 1\",\"requirePorts\":true,"
		 "\"portDefinitions\":[{\"port\":10000},{\"port\":10001}]}",
		 2, {10000, 10001}},
		{"{\"id\":\"/a\",\"cmd\":\"sleep 1\",\"portDefinitions\":[]}",
		 0, {0}},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct json_object *in = json_tokener_parse(cases[c].json);
		struct model_errors errs;
		struct app *app = NULL;
		struct sched_match_demand d;

		model_errors_init(&errs);
		if (!CHECK(in != NULL) ||
		    !CHECK_INT(model_app_parse(in, "/", "", &app, &errs), 0))
			goto next;
		if (!CHECK_INT(sched_match_demand_from_app(app, &d), 0))
			goto next;
		if (c == 0) {
			CHECK(d.cpus == 0.5);
			CHECK(d.mem == 64);
		}
		if (CHECK_INT(d.n_host_ports, cases[c].n))
			for (size_t i = 0; i < d.n_host_ports; i++)
				CHECK_INT(d.host_ports[i], cases[c].ports[i]);
		sched_match_demand_release(&d);
next:
		model_app_free(app);
		model_errors_clear(&errs);
		json_object_put(in);
	}
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10,000 instances over 1,000 agents, one port each: without a hook, with
 * a MAX_PER-like hook, and with one that holds agents back (the worst
 * case: each placement asks the held agents again).  Printed only. */
static void test_benchmark(void)
{
	enum { N_AGENTS = 1000, N_INST = 10000 };
	static const uint32_t one_port[] = {0};
	static size_t where[N_INST];
	static uint32_t ports[N_INST];
	struct sched_match_demand d = {.cpus = 0.1, .mem = 64, .disk = 10,
	                               .host_ports = one_port,
	                               .n_host_ports = 1};
	struct hook_state hs = {.banned = N_AGENTS, .max_per = 10};
	struct sched_match_hook unique = {unique_hook, NULL, &hs};
	struct sched_match_hook odd = {odd_hook, NULL, &hs};
	const struct sched_match_hook *hooks[] = {NULL, &unique, &odd};
	const char *names[] = {"no constraint", "MAX_PER 10 hook",
	                       "half refuse for now (worst case)"};

	cluster(N_AGENTS, 16, 65536, 1000000, 31000, 32000);
	for (size_t h = 0; h < 3; h++) {
		struct sched_match_stats st;
		struct sched_match_pool *pool;
		struct sched_match_request req = {
			.demand = &d, .count = N_INST, .hook = hooks[h],
			.stats = &st, .now_ms = 1,
		};
		uint32_t placed = 0;
		double t0, t1;

		hs.calls = 0;
		sched_match_stats_init(&st);
		t0 = seconds();
		pool = sched_match_pool_new(offers, N_AGENTS);
		if (!CHECK(pool != NULL))
			return;
		CHECK_INT(sched_match_run(pool, &req, where, ports, &placed),
		          0);
		t1 = seconds();
		CHECK_INT(placed, N_INST);
		printf("\n  bench %s: %u instances on %d agents in %.3f ms "
		       "(%.0f placements/s, %zu constraint decisions, "
		       "%.0f decisions/s)",
		       names[h], placed, N_AGENTS, (t1 - t0) * 1e3,
		       placed / (t1 - t0), hs.calls,
		       hs.calls ? hs.calls / (t1 - t0) : 0.0);
		sched_match_pool_free(pool);
		sched_match_stats_reset(&st);
	}
	printf("\n");
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{"reason names in funnel order", test_reason_names},
		{"each resource fits or not", test_each_resource},
		{"one agent filled exactly", test_fill_one_agent},
		{"any host ports", test_ports_any},
		{"fixed host ports", test_ports_fixed},
		{"least loaded first", test_spread},
		{"constraint hook", test_constraint_hook},
		{"processedOffersSummary json", test_stats_json},
		{"last offers per agent", test_last_offers},
		{"demand from an app", test_demand_from_app},
		{"benchmark (printed)", test_benchmark},
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{"sched_match", NULL, NULL, NULL, NULL, tests},
		CU_SUITE_INFO_NULL,
	};

	return cu_run(suites);
}
