/*
 * api_tasks: the tasks of apps (reference 1.1, 1.3, 3.3; Marathon's
 * AppTasksResource, TasksResource and TaskKiller): listing them, and
 * killing them three ways:
 *   plain   the task dies, its instance stays and is relaunched as the
 *           next incarnation (tracker_kill_task);
 *   wipe    the instance is decommissioned and expunged, and a new one is
 *           scheduled in its place;
 *   scale   a deployment that lowers the app's instances by the tasks
 *           killed, with them sentenced first (deploy_kill).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "api/api.h"
#include "api/api_util.h"
#include "deploy/deploy_run.h"
#include "jsonutil.h"
#include "model/model_errors.h"
#include "model/model_id.h"
#include "sched/sched_ids.h"
#include "sched/sched_tracker.h"
#include "state/state.h"

/* The instances picked for a kill, per app, by id: killing one may expunge
 * it (and change the tracker's arrays), so pointers are looked up again
 * right before each is used. */
struct kill_set {
	char *app_id;
	char **ids;
	size_t n, cap;
};

struct kill_sets {
	struct kill_set *sets;
	size_t n, cap;
};

static void kill_sets_clear(struct kill_sets *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		for (size_t j = 0; j < ks->sets[i].n; j++)
			free(ks->sets[i].ids[j]);
		free(ks->sets[i].ids);
		free(ks->sets[i].app_id);
	}
	free(ks->sets);
	memset(ks, 0, sizeof(*ks));
}

/* APP_ID's set (APP_ID copied), created empty when missing; NULL when out
 * of memory. */
static struct kill_set *kill_sets_app(struct kill_sets *ks, const char *app_id)
{
	struct kill_set *set;

	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->sets[i].app_id, app_id) == 0)
			return &ks->sets[i];
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 4;
		struct kill_set *sets = realloc(ks->sets, cap * sizeof(*sets));

		if (sets == NULL)
			return NULL;
		ks->sets = sets;
		ks->cap = cap;
	}
	set = &ks->sets[ks->n];
	memset(set, 0, sizeof(*set));
	if ((set->app_id = strdup(app_id)) == NULL)
		return NULL;
	ks->n++;
	return set;
}

/* Add instance INSTANCE_ID of APP_ID (both copied); 0 or -1 (ENOMEM). */
static int kill_sets_add(struct kill_sets *ks, const char *app_id,
                         const char *instance_id)
{
	struct kill_set *set = kill_sets_app(ks, app_id);
	char *id;

	if (set == NULL)
		return -1;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->ids[i], instance_id) == 0)
			return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;
		char **ids = realloc(set->ids, cap * sizeof(*ids));

		if (ids == NULL)
			return -1;
		set->ids = ids;
		set->cap = cap;
	}
	if ((id = strdup(instance_id)) == NULL)
		return -1;
	set->ids[set->n++] = id;
	return 0;
}

/* Marathon's isActive && !isKilling: the instances a scale-down counts. */
static bool counts_for_scale(const struct tracker_instance *inst)
{
	return inst->has_task && inst->goal == STATE_GOAL_RUNNING &&
	       !driver_task_state_terminal(inst->task_state) &&
	       inst->task_state != DRIVER_TASK_KILLING;
}

/* Kill the instances of SET without scaling, appending the tasks they had
 * to TASKS (the user only cares that they go away: Marathon answers with
 * every instance found, killed or expunged).  0 or -1 (out of memory;
 * what was killed stays killed). */
static int kill_set_apply(struct stadiond *d, const struct kill_set *set,
                          bool wipe, struct json_object *tasks)
{
	struct tracker_app *ta;
	uint32_t replace = 0;
	int rc = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct tracker_instance *inst =
			tracker_instance(d->tracker, set->ids[i]);
		struct json_object *t;

		if (inst == NULL)
			continue;
		/* The task as it was, before the kill changes its state. */
		t = tracker_task_json(inst);
		if (t != NULL && jsonutil_append(tasks, t) != 0)
			rc = -1;
		if (wipe) {
			if (inst->goal == STATE_GOAL_RUNNING)
				replace++;
			tracker_decommission(d->tracker, inst);
		} else if (inst->has_task) {
			tracker_kill_task(d->tracker, inst);
		}
	}
	/* A wiped instance is gone for good: a new one takes its place. */
	if (replace > 0) {
		const struct app *app = NULL;

		if ((ta = tracker_app(d->tracker, set->app_id)) != NULL)
			app = ta->current;
		if (app == NULL)
			app = state_app(d->state, set->app_id);
		if (app != NULL &&
		    tracker_schedule(d->tracker, app, replace) != 0)
			rc = -1;
	}
	return rc;
}

/* The deployment of a kill with scale=true: each app of KS with its
 * instances lowered by those of its victims that still count, the victims
 * sentenced.  Answers REQ. */
static void kill_and_scale(struct http_req *req, const struct kill_sets *ks,
                           bool force)
{
	struct stadiond *d = api_util_daemon(req);
	struct deploy_change change = {.force = force};
	struct deploy_kill *kills = calloc(ks->n ? ks->n : 1, sizeof(*kills));
	struct app **apps = calloc(ks->n ? ks->n : 1, sizeof(*apps));
	struct model_errors errs;
	size_t n_apps = 0;

	model_errors_init(&errs);
	if (kills == NULL || apps == NULL)
		goto fail_nomem;
	for (size_t i = 0; i < ks->n; i++) {
		const struct kill_set *set = &ks->sets[i];
		const struct app *current = state_app(d->state, set->app_id);
		struct json_object *patch;
		int64_t count = 0, instances;
		int rc;

		if (current == NULL) {
			api_util_reply_no_app(req, set->app_id);
			goto fail_free;
		}
		for (size_t j = 0; j < set->n; j++) {
			const struct tracker_instance *inst =
				tracker_instance(d->tracker, set->ids[j]);

			if (inst != NULL && counts_for_scale(inst))
				count++;
		}
		instances = current->instances - count;
		if (instances < 0)
			instances = 0;
		patch = json_object_new_object();
		if (patch == NULL ||
		    jsonutil_add(patch, "instances",
		                 json_object_new_int64(instances)) != 0) {
			json_object_put(patch);
			goto fail_nomem;
		}
		rc = model_app_merge(current, patch, NULL, &apps[n_apps], &errs);
		json_object_put(patch);
		if (rc == -1) {
			api_util_reply_errors(req, &errs);
			goto fail_free;
		}
		if (rc != 0)
			goto fail_nomem;
		n_apps++;
		kills[i].app_id = set->app_id;
		kills[i].instance_ids = (const char *const *)set->ids;
		kills[i].n_instance_ids = set->n;
	}
	change.put_apps = apps;
	change.n_put_apps = n_apps;
	change.kills = kills;
	change.n_kills = ks->n;
	if (n_apps == 0) {
		/* Nothing to kill: Marathon's plan is empty, and done. */
		api_util_reply_deployment(req, 200, NULL, NULL, NULL);
		goto out_free;
	}
	api_util_submit(req, &change, 200, NULL);
	goto out_free;

fail_nomem:
	http_reply_message(req, 500, "out of memory");
fail_free:
	for (size_t i = 0; i < n_apps; i++)
		model_app_free(apps[i]);
out_free:
	model_errors_clear(&errs);
	free(apps);
	free(kills);
}

/* Kill KS's instances without scaling and answer {"tasks": [...]}. */
static void kill_plain(struct http_req *req, const struct kill_sets *ks,
                       bool wipe)
{
	struct stadiond *d = api_util_daemon(req);
	struct json_object *root = json_object_new_object();
	struct json_object *tasks = json_object_new_array();
	int rc = 0;

	if (root == NULL || tasks == NULL ||
	    json_object_object_add(root, "tasks", tasks) != 0) {
		json_object_put(tasks);
		json_object_put(root);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < ks->n; i++)
		if (kill_set_apply(d, &ks->sets[i], wipe, tasks) != 0)
			rc = -1;
	if (rc != 0) {
		json_object_put(root);
		http_reply_message(req, 500, "out of memory");
		return;
	}
	http_reply_json(req, 200, root);
}

/* The kill options every kill takes; 0, or -1 when REQ got its answer. */
static int kill_options(struct http_req *req, bool *scale_r, bool *wipe_r,
                        bool *force_r)
{
	if (api_util_bool(req, "scale", false, scale_r) != 0 ||
	    api_util_bool(req, "wipe", false, wipe_r) != 0 ||
	    api_util_bool(req, "force", false, force_r) != 0)
		return -1;
	if (*scale_r && *wipe_r) {
		http_reply_message(req, 400,
		                   "You cannot use scale and wipe at the same "
		                   "time.");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * /v2/apps/{id}/tasks
 * ------------------------------------------------------------------------ */

static int append_tasks(const struct tracker_app *ta, struct json_object *arr)
{
	for (size_t i = 0; ta != NULL && i < ta->n_instances; i++) {
		struct json_object *t = tracker_task_json(ta->instances[i]);

		if (t != NULL && jsonutil_append(arr, t) != 0)
			return -1;
	}
	return 0;
}

void api_tasks_app(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	const struct state_snapshot *snap;
	struct json_object *root, *tasks;
	char *raw, *id = NULL, *prefix = NULL, *path;
	size_t n;
	int rc = 0;

	if (!api_util_ready(req) || (raw = api_util_param(req, 0)) == NULL)
		return;
	snap = state_snapshot(d->state);
	root = json_object_new_object();
	tasks = json_object_new_array();
	if (root == NULL || tasks == NULL ||
	    json_object_object_add(root, "tasks", tasks) != 0) {
		json_object_put(tasks);
		goto fail_nomem;
	}
	n = strlen(raw);
	if (raw[n - 1] == '*' && (n == 1 || raw[n - 2] == '/')) {
		/* {group}/ * : the tasks of every app below the group. */
		bool found;

		if ((path = strndup(raw, n - 1)) == NULL)
			goto fail_nomem;
		id = model_id_normalize(path, "/");
		free(path);
		if (id == NULL || asprintf(&prefix, "%s/",
		                           model_id_is_root(id) ? "" : id) < 0) {
			prefix = NULL;
			goto fail_nomem;
		}
		found = model_id_is_root(id);
		for (size_t i = 0; rc == 0 && i < snap->n_apps; i++) {
			if (strncmp(snap->apps[i]->id, prefix, strlen(prefix)) != 0)
				continue;
			found = true;
			rc = append_tasks(tracker_app(d->tracker, snap->apps[i]->id),
			                  tasks);
		}
		if (!found) {
			http_reply_message(req, 404, "Group '%s' does not exist",
			                   id);
			goto out_put;
		}
	} else {
		if ((id = model_id_normalize(raw, "/")) == NULL)
			goto fail_nomem;
		if (state_app(d->state, id) == NULL) {
			api_util_reply_no_app(req, id);
			goto out_put;
		}
		rc = append_tasks(tracker_app(d->tracker, id), tasks);
	}
	if (rc != 0)
		goto fail_nomem;
	http_reply_json(req, 200, root);
	root = NULL;
	goto out_put;

fail_nomem:
	http_reply_message(req, 500, "out of memory");
out_put:
	json_object_put(root);
	free(prefix);
	free(id);
	free(raw);
}

void api_tasks_app_one(struct http_req *req)
{
	/* Marathon routes .../tasks/{taskId} to its task resource, which
	 * only deletes: there is no GET of one task. */
	http_reply_header(req, "Allow", "DELETE");
	http_reply_message(req, 405,
	                   "HTTP method GET is not allowed for %s; use DELETE",
	                   req->path);
}

void api_tasks_app_kill(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct kill_sets ks = {0};
	const struct tracker_app *ta;
	const char *host;
	bool scale, wipe, force;
	char *id;

	if (!api_util_ready(req) || kill_options(req, &scale, &wipe, &force) != 0 ||
	    (id = api_util_id(req, 0)) == NULL)
		return;
	if (state_app(d->state, id) == NULL) {
		api_util_reply_no_app(req, id);
		goto out_free;
	}
	host = http_req_query(req, "host");
	/* The app's own set, even if empty: a scale answers with a
	 * deployment all the same. */
	if (kill_sets_app(&ks, id) == NULL)
		goto fail_nomem;
	ta = tracker_app(d->tracker, id);
	for (size_t i = 0; ta != NULL && i < ta->n_instances; i++) {
		const struct tracker_instance *inst = ta->instances[i];

		/* A scale only picks launched instances. */
		if (scale && !inst->has_task)
			continue;
		if (host != NULL && strcmp(host, "*") != 0 &&
		    (inst->agent == NULL ||
		     strcmp(inst->agent->hostname, host) != 0))
			continue;
		if (kill_sets_add(&ks, id, inst->instance_id) != 0)
			goto fail_nomem;
	}
	if (scale)
		kill_and_scale(req, &ks, force);
	else
		kill_plain(req, &ks, wipe);
	goto out_free;

fail_nomem:
	http_reply_message(req, 500, "out of memory");
out_free:
	kill_sets_clear(&ks);
	free(id);
}

void api_tasks_app_kill_one(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct sched_task_ref ref = {0};
	struct kill_sets ks = {0};
	struct tracker_instance *inst = NULL;
	struct json_object *task, *root;
	bool scale, wipe, force;
	char *id = NULL, *task_id = NULL;

	if (!api_util_ready(req) || kill_options(req, &scale, &wipe, &force) != 0 ||
	    (id = api_util_id(req, 0)) == NULL ||
	    (task_id = api_util_param(req, 1)) == NULL)
		goto out_free;
	if (state_app(d->state, id) == NULL) {
		api_util_reply_no_app(req, id);
		goto out_free;
	}
	/* Any incarnation's task id names its instance. */
	if (sched_task_ref_parse(task_id, &ref) == 0) {
		inst = tracker_instance(d->tracker, ref.instance_id);
		if (inst != NULL && (inst->tapp == NULL ||
		                     strcmp(inst->tapp->app_id, id) != 0))
			inst = NULL;
	} else if (errno == ENOMEM) {
		goto fail_nomem;
	}
	if (scale) {
		if (kill_sets_app(&ks, id) == NULL)
			goto fail_nomem;
		if (inst != NULL && inst->has_task &&
		    kill_sets_add(&ks, id, inst->instance_id) != 0)
			goto fail_nomem;
		kill_and_scale(req, &ks, force);
		goto out_free;
	}
	/* A Scheduled instance has no task to kill or show. */
	if (inst == NULL || (task = tracker_task_json(inst)) == NULL) {
		http_reply_message(req, 404, "Task '%s' does not exist", task_id);
		goto out_free;
	}
	if (kill_sets_add(&ks, id, inst->instance_id) != 0) {
		json_object_put(task);
		goto fail_nomem;
	}
	root = json_object_new_object();
	if (root == NULL || jsonutil_add(root, "task", task) != 0) {
		if (root == NULL)
			json_object_put(task);
		json_object_put(root);
		goto fail_nomem;
	}
	{
		/* The answer is the task before the kill; the kill's own
		 * list is not needed. */
		struct json_object *scratch = json_object_new_array();

		if (scratch == NULL ||
		    kill_set_apply(d, &ks.sets[0], wipe, scratch) != 0) {
			json_object_put(scratch);
			json_object_put(root);
			goto fail_nomem;
		}
		json_object_put(scratch);
	}
	http_reply_json(req, 200, root);
	goto out_free;

fail_nomem:
	http_reply_message(req, 500, "out of memory");
out_free:
	sched_task_ref_clear(&ref);
	kill_sets_clear(&ks);
	free(task_id);
	free(id);
}

/* ------------------------------------------------------------------------
 * /v2/tasks
 * ------------------------------------------------------------------------ */

/* The service ports of APP, as Marathon's servicePorts: the port
 * definitions' ports, or the port mappings' service ports off host
 * networking. */
static struct json_object *service_ports(const struct app *app)
{
	struct json_object *arr = json_object_new_array();
	bool mappings = app->network_mode != APP_NET_HOST;
	size_t n = mappings ? app->n_port_mappings : app->n_port_definitions;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		const struct app_port *p = mappings ? &app->port_mappings[i]
		                                    : &app->port_definitions[i];

		if (jsonutil_append(arr, json_object_new_int64(p->service_port)) !=
		    0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* The conditions status= filters on; only these two exist in Marathon,
 * other values are ignored. */
static const char *status_condition(const char *status)
{
	if (strcasecmp(status, "running") == 0)
		return "Running";
	if (strcasecmp(status, "staging") == 0)
		return "Staging";
	return NULL;
}

void api_tasks_list(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct tracker_app **apps;
	struct json_object *root, *tasks;
	const struct evkeyval *kv;
	bool want_running = false, want_staging = false;
	size_t n_apps;

	if (!api_util_ready(req))
		return;
	TAILQ_FOREACH(kv, &req->query, next) {
		const char *cond;

		if (strcmp(kv->key, "status") != 0 &&
		    strcmp(kv->key, "status[]") != 0)
			continue;
		if ((cond = status_condition(kv->value)) == NULL)
			continue;
		if (strcmp(cond, "Running") == 0)
			want_running = true;
		else
			want_staging = true;
	}
	root = json_object_new_object();
	tasks = json_object_new_array();
	if (root == NULL || tasks == NULL ||
	    json_object_object_add(root, "tasks", tasks) != 0) {
		json_object_put(tasks);
		goto fail_put;
	}
	tracker_apps(d->tracker, &apps, &n_apps);
	for (size_t i = 0; i < n_apps; i++) {
		const struct app *app = state_app(d->state, apps[i]->app_id);
		struct json_object *ports;

		/* Instances of an app that is gone are not listed. */
		if (app == NULL)
			continue;
		for (size_t j = 0; j < apps[i]->n_instances; j++) {
			const struct tracker_instance *inst =
				apps[i]->instances[j];
			struct json_object *t;

			if ((want_running || want_staging) &&
			    !(want_running &&
			      strcmp(inst->condition, "Running") == 0) &&
			    !(want_staging &&
			      strcmp(inst->condition, "Staging") == 0))
				continue;
			if ((t = tracker_task_json(inst)) == NULL)
				continue;
			if ((ports = service_ports(app)) == NULL ||
			    json_object_object_add(t, "servicePorts", ports) != 0) {
				json_object_put(ports);
				json_object_put(t);
				goto fail_put;
			}
			if (jsonutil_append(tasks, t) != 0)
				goto fail_put;
		}
	}
	http_reply_json(req, 200, root);
	return;

fail_put:
	json_object_put(root);
	http_reply_message(req, 500, "out of memory");
}

void api_tasks_delete(struct http_req *req)
{
	struct stadiond *d = api_util_daemon(req);
	struct kill_sets ks = {0};
	struct model_errors errs;
	struct json_object *body, *ids = NULL;
	bool scale, wipe, force;

	if (!api_util_ready(req) || kill_options(req, &scale, &wipe, &force) != 0 ||
	    (body = api_util_body_json(req)) == NULL)
		return;
	model_errors_init(&errs);
	if (!json_object_is_type(body, json_type_object) ||
	    !json_object_object_get_ex(body, "ids", &ids)) {
		model_errors_add(&errs, MODEL_ERR_JSON, NULL, "/ids", "%s",
		                 MODEL_ERR_MISSING);
		api_util_reply_errors(req, &errs);
		goto out_free;
	}
	if (!json_object_is_type(ids, json_type_array)) {
		model_errors_add(&errs, MODEL_ERR_JSON, NULL, "/ids", "%s",
		                 MODEL_ERR_ARRAY);
		api_util_reply_errors(req, &errs);
		goto out_free;
	}
	for (size_t i = 0; i < json_object_array_length(ids); i++) {
		struct json_object *v = json_object_array_get_idx(ids, i);
		struct sched_task_ref ref = {0};
		const char *task_id;
		char path[32];

		if (!json_object_is_type(v, json_type_string)) {
			snprintf(path, sizeof(path), "/ids(%zu)", i);
			model_errors_add(&errs, MODEL_ERR_JSON, NULL, path, "%s",
			                 MODEL_ERR_STRING);
			api_util_reply_errors(req, &errs);
			goto out_free;
		}
		task_id = json_object_get_string(v);
		if (sched_task_ref_parse(task_id, &ref) != 0) {
			if (errno == ENOMEM)
				goto fail_nomem;
			/* Marathon's MatchError text for a string. */
			http_reply_message(req, 400,
			                   "Invalid task id '%s'. [%s (of class "
			                   "java.lang.String)]",
			                   task_id, task_id);
			goto out_free;
		}
		/* Unknown instances and apps are skipped, not refused. */
		if (tracker_instance(d->tracker, ref.instance_id) != NULL &&
		    state_app(d->state, ref.app_id) != NULL &&
		    kill_sets_add(&ks, ref.app_id, ref.instance_id) != 0) {
			sched_task_ref_clear(&ref);
			goto fail_nomem;
		}
		sched_task_ref_clear(&ref);
	}
	if (scale)
		kill_and_scale(req, &ks, force);
	else
		kill_plain(req, &ks, wipe);
	goto out_free;

fail_nomem:
	http_reply_message(req, 500, "out of memory");
out_free:
	model_errors_clear(&errs);
	kill_sets_clear(&ks);
	json_object_put(body);
}
