#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "api/api_appinfo.h"
#include "deploy/deploy_run.h"
#include "jsonutil.h"
#include "sched/sched_tracker.h"

static const char *const embed_prefixes[] = {"group.apps.", "apps.", "app."};

unsigned api_appinfo_embed_value(const char *value)
{
	for (size_t i = 0;
	     i < sizeof(embed_prefixes) / sizeof(embed_prefixes[0]); i++) {
		size_t n = strlen(embed_prefixes[i]);

		if (strncmp(value, embed_prefixes[i], n) == 0) {
			value += n;
			break;
		}
	}
	if (strcmp(value, "tasks") == 0)
		return API_APPINFO_TASKS | API_APPINFO_DEPLOYMENTS;
	if (strcmp(value, "failures") == 0)
		return API_APPINFO_TASKS | API_APPINFO_LAST_FAILURE |
		       API_APPINFO_DEPLOYMENTS;
	if (strcmp(value, "deployments") == 0)
		return API_APPINFO_DEPLOYMENTS;
	if (strcmp(value, "readiness") == 0)
		return API_APPINFO_READINESS;
	if (strcmp(value, "lastTaskFailure") == 0)
		return API_APPINFO_LAST_FAILURE;
	if (strcmp(value, "counts") == 0)
		return API_APPINFO_COUNTS;
	if (strcmp(value, "taskStats") == 0)
		return API_APPINFO_TASK_STATS;
	return 0;
}

unsigned api_appinfo_embeds(const struct http_req *req)
{
	const struct evkeyval *kv;
	unsigned embeds = 0;

	TAILQ_FOREACH(kv, &req->query, next)
		if (strcmp(kv->key, "embed") == 0)
			embeds |= api_appinfo_embed_value(kv->value);
	return embeds;
}

static int add_counts(struct json_object *o, const struct tracker_counts *c,
                      const char *const keys[4])
{
	return jsonutil_add(o, keys[0], json_object_new_int64(c->staged)) ||
	       jsonutil_add(o, keys[1], json_object_new_int64(c->running)) ||
	       jsonutil_add(o, keys[2], json_object_new_int64(c->healthy)) ||
	       jsonutil_add(o, keys[3], json_object_new_int64(c->unhealthy));
}

static struct json_object *tasks_json(const struct tracker_app *ta)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr != NULL && ta != NULL && i < ta->n_instances;
	     i++) {
		struct json_object *t = tracker_task_json(ta->instances[i]);

		/* A Scheduled instance has no task to show. */
		if (t != NULL && jsonutil_append(arr, t) != 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The version an instance runs, for the version groups of taskStats. */
static const char *instance_version(const struct tracker_instance *inst)
{
	if (inst->version != NULL)
		return inst->version;
	return inst->app != NULL ? inst->app->version : NULL;
}

/* Which instances a taskStats group takes. */
enum stats_group {
	STATS_AFTER_SCALING,  /* version >= lastScalingAt */
	STATS_LATEST_CONFIG,  /* version >= lastConfigChangeAt */
	STATS_OUTDATED,       /* version < lastConfigChangeAt */
	STATS_TOTAL,
};

static bool in_group(const struct tracker_instance *inst,
                     const struct app *app, enum stats_group g)
{
	const char *v = instance_version(inst);

	/* Timestamps have a fixed width: byte order is time order. */
	switch (g) {
	case STATS_AFTER_SCALING:
		return v != NULL && app->last_scaling_at != NULL &&
		       strcmp(v, app->last_scaling_at) >= 0;
	case STATS_LATEST_CONFIG:
		return v != NULL && app->last_config_change_at != NULL &&
		       strcmp(v, app->last_config_change_at) >= 0;
	case STATS_OUTDATED:
		return v != NULL && app->last_config_change_at != NULL &&
		       strcmp(v, app->last_config_change_at) < 0;
	case STATS_TOTAL:
		return true;
	}
	return false;
}

/* One group's {"stats":{"counts":{...},"lifeTime":{...}}}: *OUT_R NULL
 * when the group has no task (Marathon leaves the group out).  0 or -1
 * when out of memory. */
static int group_stats(const struct tracker_app *ta, const struct app *app,
                       enum stats_group g, int64_t now_ms,
                       struct json_object **out_r)
{
	static const char *const keys[4] = {"staged", "running", "healthy",
	                                    "unhealthy"};
	struct tracker_instance **picked;
	struct tracker_app subset;
	struct tracker_counts c;
	struct json_object *stats = NULL, *counts = NULL, *life, *out;
	double *lifetimes = NULL, sum = 0;
	size_t n = 0, n_life = 0;

	*out_r = NULL;
	if (ta == NULL || ta->n_instances == 0)
		return 0;
	picked = calloc(ta->n_instances, sizeof(*picked));
	lifetimes = calloc(ta->n_instances, sizeof(*lifetimes));
	if (picked == NULL || lifetimes == NULL)
		goto fail_free_arrays;
	for (size_t i = 0; i < ta->n_instances; i++) {
		struct tracker_instance *inst = ta->instances[i];

		if (!inst->has_task || !in_group(inst, app, g))
			continue;
		picked[n++] = inst;
		if (inst->started_at_ms > 0) {
			lifetimes[n_life] =
				(double)(now_ms - inst->started_at_ms) / 1000.0;
			sum += lifetimes[n_life++];
		}
	}
	if (n == 0) {
		free(picked);
		free(lifetimes);
		return 0;
	}
	/* The tracker counts the subset as it counts the app. */
	subset = *ta;
	subset.instances = picked;
	subset.n_instances = n;
	tracker_counts(&subset, &c);
	if ((out = json_object_new_object()) == NULL)
		goto fail_free_arrays;
	stats = json_object_new_object();
	counts = json_object_new_object();
	if (stats == NULL || counts == NULL ||
	    add_counts(counts, &c, keys) != 0)
		goto fail_put;
	if (jsonutil_add(stats, "counts", counts) != 0) {
		counts = NULL;
		goto fail_put;
	}
	counts = NULL;
	if (n_life > 0) {
		double median;

		qsort(lifetimes, n_life, sizeof(*lifetimes), cmp_double);
		median = n_life % 2 == 1
		                 ? lifetimes[n_life / 2]
		                 : (lifetimes[n_life / 2 - 1] +
		                    lifetimes[n_life / 2]) /
		                           2;
		life = json_object_new_object();
		if (life == NULL ||
		    jsonutil_add(life, "averageSeconds",
		                 json_object_new_double(sum / (double)n_life)) !=
		            0 ||
		    jsonutil_add(life, "medianSeconds",
		                 json_object_new_double(median)) != 0) {
			json_object_put(life);
			goto fail_put;
		}
		if (jsonutil_add(stats, "lifeTime", life) != 0)
			goto fail_put;
	}
	if (jsonutil_add(out, "stats", stats) != 0) {
		stats = NULL;
		goto fail_put;
	}
	free(picked);
	free(lifetimes);
	*out_r = out;
	return 0;

fail_put:
	json_object_put(counts);
	json_object_put(stats);
	json_object_put(out);
fail_free_arrays:
	free(picked);
	free(lifetimes);
	return -1;
}

static struct json_object *task_stats_json(const struct tracker_app *ta,
                                           const struct app *app,
                                           int64_t now_ms)
{
	static const char *const names[] = {
		[STATS_AFTER_SCALING] = "startedAfterLastScaling",
		[STATS_LATEST_CONFIG] = "withLatestConfig",
		[STATS_OUTDATED] = "withOutdatedConfig",
		[STATS_TOTAL] = "totalSummary",
	};
	struct json_object *o = json_object_new_object();

	for (int g = STATS_AFTER_SCALING; o != NULL && g <= STATS_TOTAL; g++) {
		struct json_object *s;

		if (group_stats(ta, app, (enum stats_group)g, now_ms, &s) != 0 ||
		    (s != NULL && jsonutil_add(o, names[g], s) != 0)) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

struct json_object *api_appinfo_json(const struct stadiond *d,
                                     const struct app *app, unsigned embeds,
                                     int64_t now_ms)
{
	static const char *const count_keys[4] = {
		"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"};
	const struct tracker_app *ta = d->tracker != NULL
	                                       ? tracker_app(d->tracker, app->id)
	                                       : NULL;
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	/* The definition's members are shared, not copied: this runs for
	 * every app of every listing. */
	json_object_object_foreach(app->json, key, val) {
		if (json_object_object_add(o, key, json_object_get(val)) != 0) {
			json_object_put(val);
			goto fail_put;
		}
	}
	if (embeds & API_APPINFO_COUNTS) {
		struct tracker_counts c = {0};

		if (ta != NULL)
			tracker_counts(ta, &c);
		if (add_counts(o, &c, count_keys) != 0)
			goto fail_put;
	}
	if ((embeds & API_APPINFO_DEPLOYMENTS) &&
	    jsonutil_add(o, "deployments",
	                 d->runner != NULL
	                         ? deploy_run_app_deployments(d->runner, app->id)
	                         : json_object_new_array()) != 0)
		goto fail_put;
	/* Readiness results come from running deployments' readiness
	 * checks, which stadion does not run yet. */
	if ((embeds & API_APPINFO_READINESS) &&
	    jsonutil_add(o, "readinessCheckResults", json_object_new_array()) !=
	            0)
		goto fail_put;
	if ((embeds & API_APPINFO_TASKS) &&
	    jsonutil_add(o, "tasks", tasks_json(ta)) != 0)
		goto fail_put;
	if ((embeds & API_APPINFO_LAST_FAILURE) && ta != NULL &&
	    ta->last_failure != NULL &&
	    jsonutil_add(o, "lastTaskFailure", tracker_failure_json(ta)) != 0)
		goto fail_put;
	if ((embeds & API_APPINFO_TASK_STATS) &&
	    jsonutil_add(o, "tasksStats", task_stats_json(ta, app, now_ms)) != 0)
		goto fail_put;
	return o;

fail_put:
	json_object_put(o);
	return NULL;
}
