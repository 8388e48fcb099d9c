/*
 * state_codec: see state_codec.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stadion/plugin.h>

#include "jsonutil.h"
#include "state/state_codec.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

const char *state_goal_name(enum state_goal goal)
{
	switch (goal) {
	case STATE_GOAL_RUNNING:
		return "Running";
	case STATE_GOAL_STOPPED:
		return "Stopped";
	case STATE_GOAL_DECOMMISSIONED:
		return "Decommissioned";
	}
	return "Running";
}

void state_instance_free(struct state_instance *inst)
{
	if (inst == NULL)
		return;
	free(inst->instance_id);
	free(inst->app_id);
	free(inst->app_version);
	free(inst->agent_id);
	free(inst->hostname);
	free(inst->task_id);
	free(inst->state);
	free(inst->host_ports);
	free(inst->staged_at);
	free(inst->started_at);
	free(inst->sandbox);
	free(inst);
}

void state_deployment_free(struct state_deployment *dep)
{
	if (dep == NULL)
		return;
	free(dep->id);
	free(dep->version);
	for (size_t i = 0; i < dep->n_affected_apps; i++)
		free(dep->affected_apps[i]);
	free(dep->affected_apps);
	json_object_put(dep->steps);
	free(dep->from_root);
	free(dep->to_root);
	free(dep);
}

/* ------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------ */

/* OBJ's text as a malloc'ed string; drops the reference to OBJ. */
static char *take_text(struct json_object *obj)
{
	const char *text;
	char *out = NULL;

	if (obj == NULL)
		return NULL;
	if ((text = json_object_to_json_string_ext(obj, JSON_FLAGS)) != NULL)
		out = strdup(text);
	json_object_put(obj);
	return out;
}

/* Add KEY: VALUE to OBJ; a NULL string is left out.  False when out of
 * memory. */
static bool add_str(struct json_object *obj, const char *key,
                    const char *value)
{
	if (value == NULL)
		return true;
	return jsonutil_add(obj, key, json_object_new_string(value)) == 0;
}

static bool add_int(struct json_object *obj, const char *key, int64_t value)
{
	return jsonutil_add(obj, key, json_object_new_int64(value)) == 0;
}

static bool add_obj(struct json_object *obj, const char *key,
                    struct json_object *v)
{
	return jsonutil_add(obj, key, v) == 0;
}

/* Parse the stored bytes into an object.  NULL with MSG when they are not
 * one JSON object. */
static struct json_object *parse(const void *value, size_t len,
                                 const char *what, char *msg, size_t msglen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL;

	if (tok == NULL) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	if (len <= (size_t)INT32_MAX)
		obj = json_tokener_parse_ex(tok, value, (int)len);
	if (obj != NULL &&
	    (json_tokener_get_error(tok) != json_tokener_success ||
	     json_tokener_get_parse_end(tok) != len ||
	     !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	if (obj == NULL)
		snprintf(msg, msglen, "stored %s is not a JSON object", what);
	return obj;
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* A copy of string member KEY into *OUT_R (NULL when absent or null).
 * False when it has another type or memory ran out. */
static bool get_str(struct json_object *obj, const char *key, char **out_r)
{
	struct json_object *v = get(obj, key);

	*out_r = NULL;
	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	return (*out_r = strdup(json_object_get_string(v))) != NULL;
}

static bool get_int(struct json_object *obj, const char *key, int64_t *out_r)
{
	struct json_object *v = get(obj, key);

	*out_r = 0;
	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_int))
		return false;
	*out_r = json_object_get_int64(v);
	return true;
}

/* ------------------------------------------------------------------------
 * Apps
 * ------------------------------------------------------------------------ */

char *state_app_encode(const struct app *app)
{
	return take_text(model_app_to_json(app));
}

int state_app_decode(const void *value, size_t len, struct app **app_r,
                     char *msg, size_t msglen)
{
	struct json_object *obj = parse(value, len, "app", msg, msglen);
	struct model_errors errs;
	int rc;

	if (obj == NULL)
		return STADION_EIO;
	model_errors_init(&errs);
	rc = model_app_parse(obj, "/", NULL, app_r, &errs);
	json_object_put(obj);
	if (rc == -2) {
		model_errors_clear(&errs);
		snprintf(msg, msglen, "out of memory");
		return STADION_ENOMEM;
	}
	if (rc != 0) {
		/* A stored app that no longer validates: name the first
		 * reason, the operator has to look at it. */
		snprintf(msg, msglen, "stored app is not valid: %s %s",
		         errs.n > 0 ? errs.items[0].path : "",
		         errs.n > 0 ? errs.items[0].message : "");
		model_errors_clear(&errs);
		return STADION_EIO;
	}
	model_errors_clear(&errs);
	return 0;
}

/* ------------------------------------------------------------------------
 * Root documents
 * ------------------------------------------------------------------------ */

void state_root_doc_free(struct state_root_doc *doc)
{
	if (doc == NULL)
		return;
	for (size_t i = 0; i < doc->n; i++) {
		free(doc->apps[i].id);
		free(doc->apps[i].version);
	}
	free(doc->apps);
	free(doc->version);
	free(doc);
}

struct state_root_doc *state_root_doc_new(const char *version,
                                          struct app *const *apps, size_t n)
{
	struct state_root_doc *doc = calloc(1, sizeof(*doc));

	if (doc == NULL)
		return NULL;
	if ((doc->version = strdup(version)) == NULL ||
	    (doc->apps = calloc(n + 1, sizeof(*doc->apps))) == NULL)
		goto out_free_doc;
	for (size_t i = 0; i < n; i++) {
		struct state_root_entry *e = &doc->apps[i];

		e->id = strdup(apps[i]->id);
		e->version = strdup(apps[i]->version);
		doc->n++;
		if (e->id == NULL || e->version == NULL)
			goto out_free_doc;
	}
	return doc;

out_free_doc:
	state_root_doc_free(doc);
	return NULL;
}

const struct state_root_entry *
state_root_doc_find(const struct state_root_doc *doc, const char *id)
{
	size_t lo = 0, hi = doc->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(doc->apps[mid].id, id);

		if (c == 0)
			return &doc->apps[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

char *state_root_doc_encode(const struct state_root_doc *doc)
{
	struct json_object *obj = json_object_new_object(), *arr;

	if (obj == NULL || !add_str(obj, "version", doc->version) ||
	    !add_obj(obj, "apps", arr = json_object_new_array()))
		goto out_put;
	for (size_t i = 0; i < doc->n; i++) {
		struct json_object *e = json_object_new_object();

		if (jsonutil_append(arr, e) != 0)
			goto out_put;
		if (!add_str(e, "id", doc->apps[i].id) ||
		    !add_str(e, "version", doc->apps[i].version))
			goto out_put;
	}
	return take_text(obj);

out_put:
	json_object_put(obj);
	return NULL;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct state_root_entry *)a)->id,
	              ((const struct state_root_entry *)b)->id);
}

int state_root_doc_decode(const void *value, size_t len,
                          struct state_root_doc **doc_r, char *msg,
                          size_t msglen)
{
	struct json_object *obj = parse(value, len, "root", msg, msglen), *arr;
	struct state_root_doc *doc = NULL;
	size_t n;

	if (obj == NULL)
		return STADION_EIO;
	arr = get(obj, "apps");
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		goto out_bad;
	n = json_object_array_length(arr);
	if ((doc = calloc(1, sizeof(*doc))) == NULL ||
	    (doc->apps = calloc(n + 1, sizeof(*doc->apps))) == NULL ||
	    !get_str(obj, "version", &doc->version) || doc->version == NULL)
		goto out_bad;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct state_root_entry *en = &doc->apps[doc->n];

		if (!json_object_is_type(e, json_type_object))
			goto out_bad;
		doc->n++;
		if (!get_str(e, "id", &en->id) ||
		    !get_str(e, "version", &en->version) || en->id == NULL ||
		    en->version == NULL)
			goto out_bad;
	}
	/* Stored sorted; sort anyway so that lookups never depend on it. */
	qsort(doc->apps, doc->n, sizeof(*doc->apps), entry_cmp);
	json_object_put(obj);
	*doc_r = doc;
	return 0;

out_bad:
	state_root_doc_free(doc);
	json_object_put(obj);
	snprintf(msg, msglen, "stored root version is malformed");
	return STADION_EIO;
}

/* ------------------------------------------------------------------------
 * Instances
 * ------------------------------------------------------------------------ */

char *state_instance_encode(const struct state_instance *inst)
{
	struct json_object *obj = json_object_new_object(), *ports, *launch;

	if (obj == NULL || !add_str(obj, "instanceId", inst->instance_id) ||
	    !add_str(obj, "appId", inst->app_id) ||
	    !add_str(obj, "appVersion", inst->app_version) ||
	    !add_str(obj, "agentId", inst->agent_id) ||
	    !add_str(obj, "hostname", inst->hostname) ||
	    !add_str(obj, "taskId", inst->task_id) ||
	    !add_int(obj, "incarnation", inst->incarnation) ||
	    !add_str(obj, "state", inst->state) ||
	    !add_str(obj, "goal", state_goal_name(inst->goal)) ||
	    !add_obj(obj, "hostPorts", ports = json_object_new_array()) ||
	    !add_str(obj, "stagedAt", inst->staged_at) ||
	    !add_str(obj, "startedAt", inst->started_at) ||
	    !add_obj(obj, "launch", launch = json_object_new_object()) ||
	    !add_int(launch, "pid", inst->pid) ||
	    !add_int(launch, "startTicks", (int64_t)inst->start_ticks) ||
	    !add_str(launch, "sandbox", inst->sandbox))
		goto out_put;
	for (size_t i = 0; i < inst->n_host_ports; i++) {
		struct json_object *p = json_object_new_int64(
			inst->host_ports[i]);

		if (jsonutil_append(ports, p) != 0)
			goto out_put;
	}
	return take_text(obj);

out_put:
	json_object_put(obj);
	return NULL;
}

int state_instance_decode(const void *value, size_t len,
                          struct state_instance **inst_r, char *msg,
                          size_t msglen)
{
	struct json_object *obj = parse(value, len, "instance", msg, msglen);
	struct json_object *ports, *launch;
	struct state_instance *inst;
	char *goal = NULL;
	int64_t n;

	if (obj == NULL)
		return STADION_EIO;
	if ((inst = calloc(1, sizeof(*inst))) == NULL)
		goto out_bad;
	if (!get_str(obj, "instanceId", &inst->instance_id) ||
	    inst->instance_id == NULL ||
	    !get_str(obj, "appId", &inst->app_id) || inst->app_id == NULL ||
	    !get_str(obj, "appVersion", &inst->app_version) ||
	    !get_str(obj, "agentId", &inst->agent_id) ||
	    !get_str(obj, "hostname", &inst->hostname) ||
	    !get_str(obj, "taskId", &inst->task_id) ||
	    !get_int(obj, "incarnation", &n) || n < 0 || n > UINT32_MAX)
		goto out_bad;
	inst->incarnation = (uint32_t)n;
	if (!get_str(obj, "state", &inst->state) ||
	    !get_str(obj, "goal", &goal) ||
	    !get_str(obj, "stagedAt", &inst->staged_at) ||
	    !get_str(obj, "startedAt", &inst->started_at))
		goto out_bad;
	if (goal == NULL || strcmp(goal, "Running") == 0)
		inst->goal = STATE_GOAL_RUNNING;
	else if (strcmp(goal, "Stopped") == 0)
		inst->goal = STATE_GOAL_STOPPED;
	else if (strcmp(goal, "Decommissioned") == 0)
		inst->goal = STATE_GOAL_DECOMMISSIONED;
	else
		goto out_bad;
	if ((ports = get(obj, "hostPorts")) != NULL) {
		size_t np;

		if (!json_object_is_type(ports, json_type_array))
			goto out_bad;
		np = json_object_array_length(ports);
		if ((inst->host_ports = calloc(np + 1,
		                               sizeof(*inst->host_ports))) ==
		    NULL)
			goto out_bad;
		for (size_t i = 0; i < np; i++) {
			struct json_object *p =
				json_object_array_get_idx(ports, i);
			int64_t v;

			if (!json_object_is_type(p, json_type_int))
				goto out_bad;
			v = json_object_get_int64(p);
			if (v < 0 || v > UINT32_MAX)
				goto out_bad;
			inst->host_ports[inst->n_host_ports++] = (uint32_t)v;
		}
	}
	if ((launch = get(obj, "launch")) != NULL) {
		if (!json_object_is_type(launch, json_type_object) ||
		    !get_int(launch, "pid", &inst->pid) ||
		    !get_int(launch, "startTicks", &n) ||
		    !get_str(launch, "sandbox", &inst->sandbox))
			goto out_bad;
		inst->start_ticks = (uint64_t)n;
	}
	free(goal);
	json_object_put(obj);
	*inst_r = inst;
	return 0;

out_bad:
	free(goal);
	state_instance_free(inst);
	json_object_put(obj);
	snprintf(msg, msglen, "stored instance is malformed");
	return STADION_EIO;
}

/* ------------------------------------------------------------------------
 * Deployments
 * ------------------------------------------------------------------------ */

char *state_deployment_encode(const struct state_deployment *dep)
{
	struct json_object *obj = json_object_new_object(), *aff, *steps;

	steps = dep->steps != NULL ? json_object_get(dep->steps)
	                           : json_object_new_array();
	if (obj == NULL || !add_obj(obj, "steps", steps) ||
	    !add_str(obj, "id", dep->id) ||
	    !add_str(obj, "version", dep->version) ||
	    !add_obj(obj, "affectedApps", aff = json_object_new_array()) ||
	    !add_int(obj, "currentStep", dep->current_step) ||
	    !add_str(obj, "fromRoot", dep->from_root) ||
	    !add_str(obj, "toRoot", dep->to_root)) {
		if (obj == NULL)
			json_object_put(steps);
		goto out_put;
	}
	for (size_t i = 0; i < dep->n_affected_apps; i++) {
		struct json_object *s =
			json_object_new_string(dep->affected_apps[i]);

		if (jsonutil_append(aff, s) != 0)
			goto out_put;
	}
	return take_text(obj);

out_put:
	json_object_put(obj);
	return NULL;
}

int state_deployment_decode(const void *value, size_t len,
                            struct state_deployment **dep_r, char *msg,
                            size_t msglen)
{
	struct json_object *obj = parse(value, len, "deployment", msg, msglen);
	struct json_object *aff, *steps;
	struct state_deployment *dep;
	int64_t step;
	size_t n;

	if (obj == NULL)
		return STADION_EIO;
	if ((dep = calloc(1, sizeof(*dep))) == NULL)
		goto out_bad;
	if (!get_str(obj, "id", &dep->id) || dep->id == NULL ||
	    !get_str(obj, "version", &dep->version) ||
	    !get_int(obj, "currentStep", &step) || step < 0 ||
	    step > INT32_MAX || !get_str(obj, "fromRoot", &dep->from_root) ||
	    !get_str(obj, "toRoot", &dep->to_root))
		goto out_bad;
	dep->current_step = (int32_t)step;
	steps = get(obj, "steps");
	if (steps == NULL || !json_object_is_type(steps, json_type_array))
		goto out_bad;
	dep->steps = json_object_get(steps);
	aff = get(obj, "affectedApps");
	if (aff == NULL || !json_object_is_type(aff, json_type_array))
		goto out_bad;
	n = json_object_array_length(aff);
	if ((dep->affected_apps = calloc(n + 1, sizeof(char *))) == NULL)
		goto out_bad;
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(aff, i);

		if (!json_object_is_type(s, json_type_string) ||
		    (dep->affected_apps[i] =
		             strdup(json_object_get_string(s))) == NULL)
			goto out_bad;
		dep->n_affected_apps++;
	}
	json_object_put(obj);
	*dep_r = dep;
	return 0;

out_bad:
	state_deployment_free(dep);
	json_object_put(obj);
	snprintf(msg, msglen, "stored deployment is malformed");
	return STADION_EIO;
}
