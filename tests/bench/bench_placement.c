/*
 * bench_placement: what constraints cost the scheduler.
 *
 * 1. Decisions.  1,000 agents in 20 racks and two apps, matched in turn:
 *    one with GROUP_BY rack_id and MAX_PER hostname 20 that has 10,000
 *    instances placed (10 per agent) and places 1,000 more, one with
 *    UNIQUE hostname and GROUP_BY rack_id that has 500 placed and places
 *    500 more.  GROUP_BY keeps refusing the racks that got ahead, so the
 *    matcher asks again and again, as it does in real rounds.  We count
 *    the operators' match() calls per second.  The
 *    floor is the same operators' match() called directly with a view
 *    filled in advance, so the ratio is what the host's bookkeeping (value
 *    ids, counters, the matcher's heap) adds to the operators' own work.
 *    Target: at least 1,000,000 decisions/s.
 *
 * 2. A cluster.  The real stadiond with 1,000 simulated agents in 20
 *    racks (--local_agents): POST one app of 10,000 instances with
 *    GROUP_BY rack_id and time it until all 10,000 are RUNNING.  The floor
 *    is the same app without constraints, in the same run.  Target: 3 s.
 *
 *   tests/bench/bench_placement [SECONDS_PER_MEASURE]   (default 1)
 * needs STADIOND and BUNDLED_PLUGINS (make bench-placement sets them).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include <stadion/constraint.h>

#include "bench/bench_util.h"
#include "lib/harness.h"
#include "lib/tjson.h"
#include "log.h"
#include "model/model_app.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"
#include "sched/sched_match.h"
#include "sched/sched_place.h"

#define N_AGENTS 1000
#define N_RACKS 20
#define N_PLACED 10000
#define N_APP 10000

/* ---- 1. decisions -------------------------------------------------------- */

static struct driver_agent agents[N_AGENTS];
static struct driver_attribute attrs[N_AGENTS][2];
static char names[N_AGENTS][3][16];

static void make_agents(void)
{
	for (size_t i = 0; i < N_AGENTS; i++) {
		snprintf(names[i][0], 16, "agent-%zu", i);
		snprintf(names[i][1], 16, "r%zu", i % N_RACKS);
		snprintf(names[i][2], 16, "s%zu", i);
		attrs[i][0] = (struct driver_attribute){"rack_id", names[i][1],
		                                        DRIVER_ATTR_TEXT};
		attrs[i][1] = (struct driver_attribute){"slot", names[i][2],
		                                        DRIVER_ATTR_TEXT};
		agents[i] = (struct driver_agent){
			.id = names[i][0], .hostname = names[i][0],
			.cpus = 1e6, .mem = 1e9, .disk = 1e9,
			.attributes = attrs[i], .n_attributes = 2,
			.simulated = true,
		};
	}
}

static int load(struct plugin_set *set, const char *dir, const char *so)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.so", dir, so);
	return plugin_set_load_file(set, path);
}

static int bench_decisions(double seconds, double *rate_r, double *floor_r)
{
	const char *dir = getenv("BUNDLED_PLUGINS");
	struct event_base *base = event_base_new();
	struct plugin_host *host = base ? plugin_host_new(base) : NULL;
	struct plugin_set *set = host ? plugin_set_new(host, NULL) : NULL;
	struct sched_place *pl = NULL;
	struct json_object *in = NULL, *in2 = NULL;
	struct model_errors errs;
	struct app *apps[2] = {NULL, NULL};
	struct driver_offer offers[N_AGENTS];
	uint32_t existing[2][N_AGENTS];
	size_t idx[1000];
	uint64_t decisions = 0, calls = 0;
	double t0, t;
	int rc = -1;

	model_errors_init(&errs);
	if (set == NULL || dir == NULL ||
	    load(set, dir, "constraint_group_by") != 0 ||
	    load(set, dir, "constraint_max_per") != 0 ||
	    load(set, dir, "constraint_unique") != 0) {
		fprintf(stderr, "bench_placement: cannot load the operators "
		        "from BUNDLED_PLUGINS=%s\n", dir ? dir : "(unset)");
		goto out_free;
	}
	make_agents();
	in = json_tokener_parse(
		"{\"id\":\"/bench\",\"cmd\":\"sleep 1\",\"cpus\":0.001,"
		"\"mem\":1,\"instances\":1,\"constraints\":"
		"[[\"rack_id\",\"GROUP_BY\"],"
		"[\"hostname\",\"MAX_PER\",\"20\"]]}");
	in2 = json_tokener_parse(
		"{\"id\":\"/bench2\",\"cmd\":\"sleep 1\",\"cpus\":0.001,"
		"\"mem\":1,\"instances\":1,\"constraints\":"
		"[[\"hostname\",\"UNIQUE\"],[\"rack_id\",\"GROUP_BY\"]]}");
	pl = sched_place_new(set, agents, N_AGENTS);
	if (in == NULL || in2 == NULL || pl == NULL ||
	    model_app_parse(in, "/", NULL, &apps[0], &errs) != 0 ||
	    model_app_parse(in2, "/", NULL, &apps[1], &errs) != 0 ||
	    sched_place_validate(pl, apps[0], NULL, &errs) != 0 ||
	    sched_place_validate(pl, apps[1], NULL, &errs) != 0) {
		struct json_object *e = model_errors_to_json(&errs);

		fprintf(stderr, "bench_placement: the apps are refused: %s\n",
		        e ? json_object_to_json_string(e) : "out of memory");
		json_object_put(e);
		goto out_free;
	}
	for (size_t i = 0; i < N_AGENTS; i++) {
		offers[i] = (struct driver_offer){.agent = &agents[i],
		                                  .cpus = 1e6, .mem = 1e9,
		                                  .disk = 1e9};
		existing[0][i] = N_PLACED / N_AGENTS;
		existing[1][i] = i < N_AGENTS / 2;
	}

	/* The host: whole matching runs. */
	t0 = bench_now_s();
	for (unsigned k = 0;; k ^= 1) {
		struct sched_match_pool *pool =
			sched_match_pool_new(offers, N_AGENTS);
		struct sched_match_demand demand = {.cpus = 0.001, .mem = 1};
		struct sched_place_run *run = NULL;
		struct sched_match_hook hook;
		struct sched_match_request req = {
			.demand = &demand, .count = k == 0 ? 1000 : 500,
			.existing = existing[k],
		};
		uint32_t placed;

		if (pool == NULL ||
		    sched_place_run_new(pl, apps[k], offers, N_AGENTS,
		                        existing[k], req.count, &run,
		                        &hook) != 0) {
			sched_match_pool_free(pool);
			goto out_free;
		}
		req.hook = &hook;
		if (sched_match_run(pool, &req, idx, NULL, &placed) != 0 ||
		    placed != req.count) {
			fprintf(stderr, "bench_placement: placed %u of %u\n",
			        placed, req.count);
			sched_place_run_free(run);
			sched_match_pool_free(pool);
			goto out_free;
		}
		sched_place_run_free(run);
		sched_match_pool_free(pool);
		t = bench_now_s() - t0;
		if (t >= seconds && k == 1)
			break;
	}
	decisions = sched_place_decisions(pl);
	*rate_r = (double)decisions / t;

	/* The floor: the operators alone, views filled in advance. */
	{
		const struct plugin *ps[3] = {
			plugin_set_find(set, STADION_PLUGIN_KIND_CONSTRAINT,
			                "GROUP_BY"),
			plugin_set_find(set, STADION_PLUGIN_KIND_CONSTRAINT,
			                "MAX_PER"),
			plugin_set_find(set, STADION_PLUGIN_KIND_CONSTRAINT,
			                "UNIQUE"),
		};
		const char *operands[3] = {NULL, "20", NULL};
		void *args[3] = {NULL, NULL, NULL};
		struct stadion_constraint_view v = {
			.size = sizeof(v), .type = STADION_VALUE_TEXT,
			.field = "rack_id", .value = "r1", .placed_here = 500,
			.placed_total = N_PLACED, .values_used = N_RACKS,
			.min_used = 500, .values_known = N_RACKS,
		};
		volatile unsigned sink = 0;

		for (int k = 0; k < 3; k++) {
			const struct stadion_constraint_ops *ops = ps[k]->ops;
			struct stadion_err err;

			if (ops->compile(ps[k]->state, "f", operands[k],
			                 &args[k], &err) != 0)
				goto out_free;
		}
		t0 = bench_now_s();
		do {
			for (int rep = 0; rep < 10000; rep++)
				for (int k = 0; k < 3; k++) {
					const struct stadion_constraint_ops
						*ops = ps[k]->ops;

					v.placed_here = (uint32_t)rep & 1023;
					sink += ops->match(ps[k]->state,
					                   args[k], &v);
					calls++;
				}
			t = bench_now_s() - t0;
		} while (t < seconds);
		(void)sink;
		for (int k = 0; k < 3; k++) {
			const struct stadion_constraint_ops *ops = ps[k]->ops;

			if (ops->free_arg != NULL)
				ops->free_arg(ps[k]->state, args[k]);
		}
		*floor_r = (double)calls / t;
	}
	rc = 0;

out_free:
	model_errors_clear(&errs);
	model_app_free(apps[0]);
	model_app_free(apps[1]);
	json_object_put(in);
	json_object_put(in2);
	sched_place_free(pl);
	plugin_set_free(set);
	plugin_host_free(host);
	if (base != NULL)
		event_base_free(base);
	return rc;
}

/* ---- 2. a cluster ------------------------------------------------------- */

static int write_agents(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs("[", f);
	for (int i = 0; i < N_AGENTS; i++)
		fprintf(f, "%s{\"hostname\":\"agent-%d\",\"cpus\":100,"
		        "\"mem\":100000,\"simulated\":true,\"attributes\":"
		        "{\"rack_id\":\"r%d\"}}",
		        i ? "," : "", i, i % N_RACKS);
	fputs("]\n", f);
	return fclose(f);
}

/* Seconds from POSTing the app until all N_APP run; -1 on failure. */
static double time_app(struct daemon *d, const char *id,
                       const char *constraints)
{
	char body[512], path[128];
	struct http_resp resp;
	double t0 = bench_now_s();

	snprintf(body, sizeof(body),
	         "{\"id\":\"%s\",\"cmd\":\"sleep 1000\",\"cpus\":0.01,"
	         "\"mem\":1,\"instances\":%d,\"constraints\":%s}",
	         id, N_APP, constraints);
	if (daemon_call(d, "POST", "/v2/apps", NULL, body, &resp) != 0 ||
	    resp.status != 201) {
		fprintf(stderr, "bench_placement: POST %s: %d\n", id,
		        resp.status);
		http_resp_free(&resp);
		return -1;
	}
	http_resp_free(&resp);
	snprintf(path, sizeof(path), "/v2/apps%s", id);
	while (bench_now_s() - t0 < 60) {
		struct json_object *o;
		int64_t running = -1;

		if (daemon_call(d, "GET", path, NULL, NULL, &resp) == 0 &&
		    (o = http_resp_json(&resp)) != NULL) {
			running = tjson_int(tjson_get(o, "app"),
			                    "tasksRunning");
			json_object_put(o);
		}
		http_resp_free(&resp);
		if (running == N_APP)
			return bench_now_s() - t0;
		usleep(20 * 1000);
	}
	fprintf(stderr, "bench_placement: %s not running after 60 s\n", id);
	return -1;
}

static int bench_cluster(double *with_r, double *without_r)
{
	char agents_path[] = "/tmp/bench_placement-agents-XXXXXX";
	const char *args[] = {"--local_agents", agents_path, NULL};
	struct daemon d;
	int fd = mkstemp(agents_path), rc = -1;

	if (fd < 0)
		return -1;
	close(fd);
	if (write_agents(agents_path) != 0 || daemon_start(&d, args) != 0)
		goto out_unlink;
	*without_r = time_app(&d, "/plain", "[]");
	*with_r = time_app(&d, "/grouped", "[[\"rack_id\",\"GROUP_BY\"]]");
	rc = *with_r >= 0 && *without_r >= 0 ? 0 : -1;
	daemon_stop(&d);
out_unlink:
	unlink(agents_path);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	double rate, floor_rate, with_s, without_s;

	log_set_level(LOG_LVL_WARN);
	if (seconds <= 0)
		seconds = 1.0;
	if (bench_decisions(seconds, &rate, &floor_rate) != 0)
		return 1;
	printf("decisions: %.0f/s through the matcher (%d agents, %d "
	       "placed, GROUP_BY + MAX_PER + UNIQUE); the operators alone "
	       "%.0f/s; ratio %.2f; target >= 1000000/s: %s\n",
	       rate, N_AGENTS, N_PLACED, floor_rate, rate / floor_rate,
	       rate >= 1e6 ? "met" : "MISSED");
	if (bench_cluster(&with_s, &without_s) != 0)
		return 1;
	printf("cluster: %d instances, GROUP_BY rack_id over %d agents in %d "
	       "racks, all RUNNING in %.2f s; without constraints %.2f s; "
	       "ratio %.2f; target <= 3 s: %s\n",
	       N_APP, N_AGENTS, N_RACKS, with_s, without_s,
	       with_s / without_s, with_s <= 3.0 ? "met" : "MISSED");
	return 0;
}
