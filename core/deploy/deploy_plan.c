#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "deploy/deploy_plan.h"

static const char *const action_name[] = {
	[DEPLOY_ACTION_START] = "StartApplication",
	[DEPLOY_ACTION_STOP] = "StopApplication",
	[DEPLOY_ACTION_SCALE] = "ScaleApplication",
	[DEPLOY_ACTION_RESTART] = "RestartApplication",
};

/* ---- roots and the dependency graph ---------------------------------- */

/* The index of the app ID in ROOT, or -1. */
static ssize_t root_find(const struct deploy_root *root, const char *id)
{
	for (size_t i = 0; i < root->n_apps; i++)
		if (strcmp(root->apps[i]->id, id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Whether APP_ID lies below the group GROUP_ID (every app lies below the
 * root "/"). */
static bool in_group(const char *app_id, const char *group_id)
{
	size_t len = strlen(group_id);

	if (strcmp(group_id, "/") == 0)
		return true;
	return strncmp(app_id, group_id, len) == 0 && app_id[len] == '/';
}

struct node {
	size_t *to; /* owned: indexes of the apps this one depends on */
	size_t n_to, cap;
	int mark;   /* DFS: 0 new, 1 on the stack, 2 done */
	size_t depth; /* vertices on the longest chain from here */
};

struct graph {
	const struct deploy_root *root;
	struct node *nodes; /* owned, one per app of root */
};

static int graph_edge(struct graph *g, size_t from, size_t to)
{
	struct node *n = &g->nodes[from];

	if (n->n_to == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		size_t *to_new = realloc(n->to, cap * sizeof(*to_new));

		if (to_new == NULL)
			return -1;
		n->to = to_new;
		n->cap = cap;
	}
	n->to[n->n_to++] = to;
	return 0;
}

/* Edges FROM -> every app below GROUP_ID. */
static int graph_edges_to_group(struct graph *g, size_t from,
                                const char *group_id)
{
	for (size_t j = 0; j < g->root->n_apps; j++)
		if (in_group(g->root->apps[j]->id, group_id) &&
		    graph_edge(g, from, j) != 0)
			return -1;
	return 0;
}

static void graph_free(struct graph *g)
{
	if (g->nodes == NULL)
		return;
	for (size_t i = 0; i < g->root->n_apps; i++)
		free(g->nodes[i].to);
	free(g->nodes);
	g->nodes = NULL;
}

/* RootGroup.applicationDependencies.  Returns 0 or -1 (out of memory;
 * G is then freed). */
static int graph_build(struct graph *g, const struct deploy_root *root)
{
	g->root = root;
	g->nodes = calloc(root->n_apps ? root->n_apps : 1, sizeof(*g->nodes));
	if (g->nodes == NULL)
		return -1;

	/* app -> app, app -> every app of a group; unknown ids name
	 * nothing and add nothing. */
	for (size_t i = 0; i < root->n_apps; i++) {
		const struct app *a = root->apps[i];

		for (size_t d = 0; d < a->n_dependencies; d++) {
			const char *dep = a->dependencies[d];
			ssize_t j = root_find(root, dep);
			int rc = j >= 0 ? graph_edge(g, i, (size_t)j)
			                : graph_edges_to_group(g, i, dep);

			if (rc != 0)
				goto fail_free_graph;
		}
	}
	/* group -> group: every app below the group to every app below
	 * the group it depends on.  An app id as a group dependency has
	 * nothing below it, as in Marathon where it names no group. */
	for (size_t k = 0; k < root->n_groups; k++) {
		const struct deploy_group *grp = &root->groups[k];

		for (size_t d = 0; d < grp->n_dependencies; d++)
			for (size_t i = 0; i < root->n_apps; i++)
				if (in_group(root->apps[i]->id, grp->id) &&
				    graph_edges_to_group(
				            g, i, grp->dependencies[d]) != 0)
					goto fail_free_graph;
	}
	return 0;

fail_free_graph:
	graph_free(g);
	return -1;
}

/* Longest chain from I in vertices (Marathon's longestPathFromVertex);
 * 0 on a cycle. */
static size_t graph_depth(struct graph *g, size_t i)
{
	struct node *n = &g->nodes[i];
	size_t best = 0;

	if (n->mark == 2)
		return n->depth;
	if (n->mark == 1)
		return 0;
	n->mark = 1;
	for (size_t e = 0; e < n->n_to; e++) {
		size_t d = graph_depth(g, n->to[e]);

		if (d == 0)
			return 0; /* left marked: the cycle stays a cycle */
		if (d > best)
			best = d;
	}
	n->mark = 2;
	n->depth = best + 1;
	return n->depth;
}

/* Fill every node's depth.  Returns 0, DEPLOY_PLAN_CYCLE or
 * DEPLOY_PLAN_NOMEM; on success G is built and the caller frees it. */
static int graph_layers(struct graph *g, const struct deploy_root *root)
{
	if (graph_build(g, root) != 0)
		return DEPLOY_PLAN_NOMEM;
	for (size_t i = 0; i < root->n_apps; i++) {
		if (graph_depth(g, i) == 0) {
			graph_free(g);
			return DEPLOY_PLAN_CYCLE;
		}
	}
	return 0;
}

int deploy_root_check_cycles(const struct deploy_root *root)
{
	struct graph g;
	int rc = graph_layers(&g, root);

	if (rc == 0)
		graph_free(&g);
	return rc;
}

/* ---- plans ----------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An app and where it sits in its root, to visit apps in id order. */
struct ref {
	const struct app *app;
	size_t idx;
};

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct ref *)a)->app->id,
	              ((const struct ref *)b)->app->id);
}

/* ROOT's apps sorted by id: malloc'ed, NULL when out of memory. */
static struct ref *sorted_refs(const struct deploy_root *root)
{
	struct ref *refs = malloc((root->n_apps ? root->n_apps : 1) *
	                          sizeof(*refs));

	if (refs == NULL)
		return NULL;
	for (size_t i = 0; i < root->n_apps; i++) {
		refs[i].app = root->apps[i];
		refs[i].idx = i;
	}
	qsort(refs, root->n_apps, sizeof(*refs), cmp_ref);
	return refs;
}

/* The index in its root of the app ID, by binary search over REFS (N,
 * from sorted_refs()): -1 when absent.  Roots of 1,000 apps are compared
 * on every change, so no linear lookups. */
static ssize_t refs_find(const struct ref *refs, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(refs[mid].app->id, id);

		if (c == 0)
			return (ssize_t)refs[mid].idx;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void action_clear(struct deploy_action *a)
{
	free(a->app_id);
	for (size_t i = 0; i < a->n_kill; i++)
		free(a->kill[i]);
	free(a->kill);
}

void deploy_plan_free(struct deploy_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t s = 0; s < plan->n_steps; s++) {
		for (size_t i = 0; i < plan->steps[s].n_actions; i++)
			action_clear(&plan->steps[s].actions[i]);
		free(plan->steps[s].actions);
	}
	free(plan->steps);
	for (size_t i = 0; i < plan->n_affected_apps; i++)
		free(plan->affected_apps[i]);
	free(plan->affected_apps);
	free(plan->id);
	free(plan->version);
	free(plan->original_version);
	free(plan->target_version);
	free(plan);
}

/* strdup that keeps NULL. */
static int dup_opt(const char *s, char **out_r)
{
	*out_r = NULL;
	if (s == NULL)
		return 0;
	*out_r = strdup(s);
	return *out_r == NULL ? -1 : 0;
}

/* A new, empty plan with its ids copied; NULL when out of memory. */
static struct deploy_plan *plan_new(const char *id, const char *version,
                                    const char *original_version,
                                    const char *target_version)
{
	struct deploy_plan *plan = calloc(1, sizeof(*plan));

	if (plan == NULL)
		return NULL;
	if (dup_opt(id, &plan->id) != 0 ||
	    dup_opt(version, &plan->version) != 0 ||
	    dup_opt(original_version, &plan->original_version) != 0 ||
	    dup_opt(target_version, &plan->target_version) != 0) {
		deploy_plan_free(plan);
		return NULL;
	}
	return plan;
}

/* Append an empty step to PLAN, room for CAP actions.  NULL when out of
 * memory. */
static struct deploy_step *plan_add_step(struct deploy_plan *plan,
                                         size_t cap)
{
	struct deploy_step *steps, *step;

	steps = realloc(plan->steps, (plan->n_steps + 1) * sizeof(*steps));
	if (steps == NULL)
		return NULL;
	plan->steps = steps;
	step = &steps[plan->n_steps];
	step->n_actions = 0;
	step->actions = calloc(cap ? cap : 1, sizeof(*step->actions));
	if (step->actions == NULL)
		return NULL;
	plan->n_steps++;
	return step;
}

/* Drop PLAN's last step when it stayed empty: Marathon filters empty
 * steps out. */
static void plan_trim_step(struct deploy_plan *plan)
{
	struct deploy_step *last = &plan->steps[plan->n_steps - 1];

	if (last->n_actions == 0) {
		free(last->actions);
		plan->n_steps--;
	}
}

/* Fill the next action of STEP (room reserved by plan_add_step). */
static struct deploy_action *step_add(struct deploy_step *step,
                                      enum deploy_action_type type,
                                      const char *app_id,
                                      const struct app *app,
                                      int64_t instances)
{
	struct deploy_action *a = &step->actions[step->n_actions];

	memset(a, 0, sizeof(*a));
	if ((a->app_id = strdup(app_id)) == NULL)
		return NULL;
	a->type = type;
	a->app = app;
	a->instances = instances;
	step->n_actions++;
	return a;
}

static int action_set_kill(struct deploy_action *a, const char *const *ids,
                           size_t n)
{
	if (n == 0)
		return 0;
	if ((a->kill = calloc(n, sizeof(*a->kill))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((a->kill[i] = strdup(ids[i])) == NULL)
			return -1; /* the ones copied are freed with the plan */
		a->n_kill++;
	}
	return 0;
}

/* The sorted, unique ids of every action: Marathon's affectedRunSpecIds. */
static int plan_fill_affected(struct deploy_plan *plan)
{
	size_t total = 0, n = 0;
	char **ids;

	for (size_t s = 0; s < plan->n_steps; s++)
		total += plan->steps[s].n_actions;
	if ((ids = calloc(total ? total : 1, sizeof(*ids))) == NULL)
		return -1;
	for (size_t s = 0; s < plan->n_steps; s++)
		for (size_t i = 0; i < plan->steps[s].n_actions; i++)
			ids[n++] = plan->steps[s].actions[i].app_id;
	qsort(ids, n, sizeof(*ids), cmp_str);

	plan->affected_apps = ids;
	plan->n_affected_apps = 0;
	/* Borrowed pointers are replaced by copies in place; the unique
	 * prefix only ever reads ids at or after the write position. */
	for (size_t i = 0; i < n; i++) {
		const char *id = ids[i];

		if (plan->n_affected_apps > 0 &&
		    strcmp(ids[plan->n_affected_apps - 1], id) == 0)
			continue;
		if ((ids[plan->n_affected_apps] = strdup(id)) == NULL)
			return -1;
		plan->n_affected_apps++;
	}
	return 0;
}

static bool in_list(const char *const *ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

static const struct deploy_kill *find_kill(const struct deploy_plan_input *in,
                                           const char *id)
{
	for (size_t i = 0; i < in->n_kills; i++)
		if (strcmp(in->kills[i].app_id, id) == 0)
			return &in->kills[i];
	return NULL;
}

/* What step 3 does with target app T (original O, NULL when new). */
enum change { CH_NONE, CH_SCALE, CH_RESTART };

static enum change classify(const struct deploy_plan_input *in,
                            const struct app *o, const struct app *t)
{
	enum model_app_change cmp;
	bool restart;

	if (o == NULL)
		return CH_SCALE;
	/* The same definition (an app the change leaves alone): nothing to
	 * compare. */
	if (o == t && !in_list(in->restart_ids, in->n_restart_ids, t->id))
		return CH_NONE;
	cmp = model_app_compare(o, t);
	restart = in_list(in->restart_ids, in->n_restart_ids, t->id) ||
	          (o->version != NULL && t->version != NULL &&
	           strcmp(o->version, t->version) != 0);
	if (cmp == MODEL_APP_SAME && !restart)
		return CH_NONE;
	if (cmp == MODEL_APP_SCALE || t->instances == 0)
		return CH_SCALE;
	return CH_RESTART;
}

int deploy_plan_build(const struct deploy_plan_input *in,
                      struct deploy_plan **plan_r)
{
	const struct deploy_root *orig = in->original, *tgt = in->target;
	struct deploy_plan *plan;
	struct deploy_step *step;
	struct graph g;
	struct ref *orefs = NULL, *trefs = NULL;
	ssize_t *o_of_t = NULL; /* target index -> original index or -1 */
	enum change *change = NULL;
	size_t max_depth = 0;
	int rc;

	if ((rc = graph_layers(&g, tgt)) != 0)
		return rc;
	rc = DEPLOY_PLAN_NOMEM;
	plan = plan_new(in->id, in->version, in->original_version,
	                in->target_version);
	if (plan == NULL)
		goto out_free_graph;
	orefs = sorted_refs(orig);
	trefs = sorted_refs(tgt);
	o_of_t = calloc(tgt->n_apps ? tgt->n_apps : 1, sizeof(*o_of_t));
	change = calloc(tgt->n_apps ? tgt->n_apps : 1, sizeof(*change));
	if (orefs == NULL || trefs == NULL || o_of_t == NULL || change == NULL)
		goto fail_free_plan;

	/* 1. Stop every removed app, all at once. */
	if ((step = plan_add_step(plan, orig->n_apps)) == NULL)
		goto fail_free_plan;
	for (size_t i = 0; i < orig->n_apps; i++) {
		const struct app *o = orefs[i].app;

		if (refs_find(trefs, tgt->n_apps, o->id) < 0 &&
		    step_add(step, DEPLOY_ACTION_STOP, o->id, o, 0) == NULL)
			goto fail_free_plan;
	}
	plan_trim_step(plan);

	/* 2. Start every new app with 0 instances; step 3 scales it. */
	if ((step = plan_add_step(plan, tgt->n_apps)) == NULL)
		goto fail_free_plan;
	for (size_t i = 0; i < tgt->n_apps; i++) {
		const struct app *t = trefs[i].app;
		ssize_t o = refs_find(orefs, orig->n_apps, t->id);

		o_of_t[trefs[i].idx] = o;
		if (o < 0 &&
		    step_add(step, DEPLOY_ACTION_START, t->id, t, 0) == NULL)
			goto fail_free_plan;
	}
	plan_trim_step(plan);

	/* 3. New and changed apps, layered by their longest dependency
	 * chain. */
	for (size_t i = 0; i < tgt->n_apps; i++) {
		const struct app *o = o_of_t[i] < 0 ? NULL
		                                    : orig->apps[o_of_t[i]];

		change[i] = classify(in, o, tgt->apps[i]);
		if (change[i] != CH_NONE && g.nodes[i].depth > max_depth)
			max_depth = g.nodes[i].depth;
	}
	for (size_t depth = 1; depth <= max_depth; depth++) {
		if ((step = plan_add_step(plan, tgt->n_apps)) == NULL)
			goto fail_free_plan;
		for (size_t i = 0; i < tgt->n_apps; i++) {
			size_t k = trefs[i].idx;
			const struct app *t = trefs[i].app;
			const struct deploy_kill *kill;
			enum deploy_action_type type;
			struct deploy_action *a;

			if (change[k] == CH_NONE || g.nodes[k].depth != depth)
				continue;
			type = change[k] == CH_SCALE ? DEPLOY_ACTION_SCALE
			                             : DEPLOY_ACTION_RESTART;
			a = step_add(step, type, t->id, t, t->instances);
			if (a == NULL)
				goto fail_free_plan;
			/* Sentenced instances only matter when an existing
			 * app shrinks. */
			kill = find_kill(in, t->id);
			if (a->type == DEPLOY_ACTION_SCALE && o_of_t[k] >= 0 &&
			    kill != NULL &&
			    action_set_kill(a, kill->instance_ids,
			                    kill->n_instance_ids) != 0)
				goto fail_free_plan;
		}
		plan_trim_step(plan);
	}

	if (plan_fill_affected(plan) != 0)
		goto fail_free_plan;
	*plan_r = plan;
	rc = 0;
	goto out_free_scratch;

fail_free_plan:
	deploy_plan_free(plan);
out_free_scratch:
	free(orefs);
	free(trefs);
	free(o_of_t);
	free(change);
out_free_graph:
	graph_free(&g);
	return rc;
}

bool deploy_plan_affects(const struct deploy_plan *plan, const char *app_id)
{
	return bsearch(&app_id, plan->affected_apps, plan->n_affected_apps,
	               sizeof(*plan->affected_apps), cmp_str) != NULL;
}

bool deploy_plan_conflicts(const struct deploy_plan *a,
                           const struct deploy_plan *b)
{
	for (size_t i = 0; i < a->n_affected_apps; i++)
		if (deploy_plan_affects(b, a->affected_apps[i]))
			return true;
	return false;
}

/* ---- JSON ------------------------------------------------------------ */

/* Add VAL (a new reference, may be NULL from a failed constructor) to
 * OBJ under KEY; VAL is released on failure. */
static int put(struct json_object *obj, const char *key,
               struct json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int push(struct json_object *arr, struct json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static struct json_object *string_array(char *const *ids, size_t n)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (push(arr, json_object_new_string(ids[i])) != 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* {"action":...,"app":...}, plus what STORE asks for. */
static struct json_object *action_json(const struct deploy_action *a,
                                       bool store)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (put(obj, "action", json_object_new_string(action_name[a->type])) ||
	    put(obj, "app", json_object_new_string(a->app_id)))
		goto fail_put_obj;
	if (store) {
		if (put(obj, "instances", json_object_new_int64(a->instances)))
			goto fail_put_obj;
		if (a->n_kill > 0 &&
		    put(obj, "kill", string_array(a->kill, a->n_kill)))
			goto fail_put_obj;
	}
	return obj;

fail_put_obj:
	json_object_put(obj);
	return NULL;
}

static struct json_object *steps_json(const struct deploy_plan *plan,
                                      bool store)
{
	struct json_object *steps = json_object_new_array();

	if (steps == NULL)
		return NULL;
	for (size_t s = 0; s < plan->n_steps; s++) {
		struct json_object *step = json_object_new_object();
		struct json_object *actions;

		if (push(steps, step) != 0)
			goto fail_put_steps;
		actions = json_object_new_array();
		if (put(step, "actions", actions) != 0)
			goto fail_put_steps;
		for (size_t i = 0; i < plan->steps[s].n_actions; i++)
			if (push(actions,
			         action_json(&plan->steps[s].actions[i],
			                     store)) != 0)
				goto fail_put_steps;
	}
	return steps;

fail_put_steps:
	json_object_put(steps);
	return NULL;
}

struct json_object *deploy_plan_steps_to_json(const struct deploy_plan *plan)
{
	return steps_json(plan, false);
}

/* currentActions: the current step's actions with their readiness. */
static struct json_object *current_json(const struct deploy_plan *plan,
                                        const struct deploy_progress *p)
{
	struct json_object *arr = json_object_new_array();
	const struct deploy_step *step;

	if (arr == NULL || p == NULL || p->current_step == 0 ||
	    p->current_step > plan->n_steps)
		return arr;
	step = &plan->steps[p->current_step - 1];
	for (size_t i = 0; i < step->n_actions; i++) {
		const struct deploy_action *a = &step->actions[i];
		struct json_object *obj = action_json(a, false);
		struct json_object *rr = NULL;

		if (push(arr, obj) != 0)
			goto fail_put_arr;
		if (p->readiness != NULL &&
		    json_object_object_get_ex(p->readiness, a->app_id, &rr))
			rr = json_object_get(rr);
		else
			rr = json_object_new_array();
		if (put(obj, "readinessCheckResults", rr) != 0)
			goto fail_put_arr;
	}
	return arr;

fail_put_arr:
	json_object_put(arr);
	return NULL;
}

struct json_object *deploy_plan_to_json(const struct deploy_plan *plan,
                                        const struct deploy_progress *progress)
{
	struct json_object *obj = json_object_new_object();
	size_t current = progress != NULL ? progress->current_step : 0;

	if (obj == NULL)
		return NULL;
	if (put(obj, "id", json_object_new_string(plan->id)) ||
	    put(obj, "version", json_object_new_string(plan->version)) ||
	    put(obj, "affectedApps",
	        string_array(plan->affected_apps, plan->n_affected_apps)) ||
	    put(obj, "affectedPods", json_object_new_array()) ||
	    put(obj, "steps", steps_json(plan, false)) ||
	    put(obj, "currentActions", current_json(plan, progress)) ||
	    put(obj, "currentStep", json_object_new_int64((int64_t)current)) ||
	    put(obj, "totalSteps",
	        json_object_new_int64((int64_t)plan->n_steps))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

struct json_object *
deploy_plan_conflict_body(const struct deploy_plan *plan,
                          const struct deploy_plan *const *running,
                          size_t n_running, bool *nomem_r)
{
	struct json_object *body = NULL, *list = NULL;
	bool any = false;

	if (nomem_r != NULL)
		*nomem_r = false;
	for (size_t i = 0; i < n_running && !any; i++)
		any = deploy_plan_conflicts(plan, running[i]);
	if (!any)
		return NULL;

	if ((body = json_object_new_object()) == NULL)
		goto fail_nomem;
	if (put(body, "message",
	        json_object_new_string(DEPLOY_PLAN_MSG_LOCKED)) != 0)
		goto fail_put_body;
	list = json_object_new_array();
	if (put(body, "deployments", list) != 0)
		goto fail_put_body;
	for (size_t i = 0; i < n_running; i++) {
		struct json_object *d;

		if (!deploy_plan_conflicts(plan, running[i]))
			continue;
		d = json_object_new_object();
		if (push(list, d) != 0 ||
		    put(d, "id", json_object_new_string(running[i]->id)) != 0)
			goto fail_put_body;
	}
	return body;

fail_put_body:
	json_object_put(body);
fail_nomem:
	if (nomem_r != NULL)
		*nomem_r = true;
	return NULL;
}

struct json_object *deploy_plan_store_json(const struct deploy_plan *plan)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (put(obj, "id", json_object_new_string(plan->id)) ||
	    put(obj, "version", json_object_new_string(plan->version)) ||
	    (plan->original_version != NULL &&
	     put(obj, "originalVersion",
	         json_object_new_string(plan->original_version))) ||
	    (plan->target_version != NULL &&
	     put(obj, "targetVersion",
	         json_object_new_string(plan->target_version))) ||
	    put(obj, "steps", steps_json(plan, true))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* KEY of OBJ when it has TYPE, else NULL. */
static struct json_object *get_typed(struct json_object *obj,
                                     const char *key, enum json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static const char *get_string(struct json_object *obj, const char *key)
{
	struct json_object *v = get_typed(obj, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

/* One stored action into STEP.  Returns 0, DEPLOY_PLAN_INVALID or
 * DEPLOY_PLAN_NOMEM. */
static int read_action(struct json_object *in, struct deploy_step *step,
                       const struct deploy_root *original,
                       const struct deploy_root *target)
{
	const char *name = get_string(in, "action");
	const char *app_id = get_string(in, "app");
	struct json_object *instances = get_typed(in, "instances",
	                                          json_type_int);
	struct json_object *kill = NULL;
	const struct deploy_root *root;
	struct deploy_action *a;
	enum deploy_action_type type;
	size_t t;
	ssize_t idx;

	if (name == NULL || app_id == NULL || instances == NULL)
		return DEPLOY_PLAN_INVALID;
	for (t = 0; t < sizeof(action_name) / sizeof(*action_name); t++)
		if (strcmp(name, action_name[t]) == 0)
			break;
	if (t == sizeof(action_name) / sizeof(*action_name))
		return DEPLOY_PLAN_INVALID;
	type = (enum deploy_action_type)t;
	root = type == DEPLOY_ACTION_STOP ? original : target;
	/* A stopped app is gone from every root a restarted stadiond still
	 * has; stopping needs its id only. */
	if ((idx = root_find(root, app_id)) < 0 && type != DEPLOY_ACTION_STOP)
		return DEPLOY_PLAN_INVALID;
	if (json_object_object_get_ex(in, "kill", &kill) &&
	    !json_object_is_type(kill, json_type_array))
		return DEPLOY_PLAN_INVALID;

	a = step_add(step, type, app_id, idx >= 0 ? root->apps[idx] : NULL,
	             json_object_get_int64(instances));
	if (a == NULL)
		return DEPLOY_PLAN_NOMEM;
	if (kill == NULL)
		return 0;
	if ((a->kill = calloc(json_object_array_length(kill) + 1,
	                      sizeof(*a->kill))) == NULL)
		return DEPLOY_PLAN_NOMEM;
	for (size_t i = 0; i < json_object_array_length(kill); i++) {
		struct json_object *k = json_object_array_get_idx(kill, i);

		if (!json_object_is_type(k, json_type_string))
			return DEPLOY_PLAN_INVALID;
		if ((a->kill[i] = strdup(json_object_get_string(k))) == NULL)
			return DEPLOY_PLAN_NOMEM;
		a->n_kill++;
	}
	return 0;
}

int deploy_plan_from_json(struct json_object *in,
                          const struct deploy_root *original,
                          const struct deploy_root *target,
                          struct deploy_plan **plan_r)
{
	const char *id = get_string(in, "id");
	const char *version = get_string(in, "version");
	struct json_object *steps = get_typed(in, "steps", json_type_array);
	struct deploy_plan *plan;
	int rc = DEPLOY_PLAN_INVALID;

	if (id == NULL || version == NULL || steps == NULL)
		return DEPLOY_PLAN_INVALID;
	plan = plan_new(id, version, get_string(in, "originalVersion"),
	                get_string(in, "targetVersion"));
	if (plan == NULL)
		return DEPLOY_PLAN_NOMEM;
	for (size_t s = 0; s < json_object_array_length(steps); s++) {
		struct json_object *actions = get_typed(
		        json_object_array_get_idx(steps, s), "actions",
		        json_type_array);
		size_t n = actions ? json_object_array_length(actions) : 0;
		struct deploy_step *step;

		/* The plan never stores an empty step. */
		if (n == 0) {
			rc = DEPLOY_PLAN_INVALID;
			goto fail_free_plan;
		}
		if ((step = plan_add_step(plan, n)) == NULL) {
			rc = DEPLOY_PLAN_NOMEM;
			goto fail_free_plan;
		}
		for (size_t i = 0; i < n; i++) {
			rc = read_action(json_object_array_get_idx(actions, i),
			                 step, original, target);
			if (rc != 0)
				goto fail_free_plan;
		}
	}
	if (plan_fill_affected(plan) != 0) {
		rc = DEPLOY_PLAN_NOMEM;
		goto fail_free_plan;
	}
	*plan_r = plan;
	return 0;

fail_free_plan:
	deploy_plan_free(plan);
	return rc;
}

/* ---- revert ---------------------------------------------------------- */

int deploy_plan_revert_apps(const struct deploy_plan *plan,
                            const struct deploy_root *original,
                            const struct deploy_root *current,
                            const struct app ***apps_r, size_t *n_r)
{
	const struct app **apps;
	size_t n = 0;

	apps = calloc(current->n_apps + original->n_apps + 1, sizeof(*apps));
	if (apps == NULL)
		return DEPLOY_PLAN_NOMEM;
	/* Apps are locked while the plan runs, so an affected app of
	 * CURRENT is still the plan's own doing: undo it.  The rest are
	 * later changes and survive. */
	for (size_t i = 0; i < current->n_apps; i++) {
		const struct app *c = current->apps[i];
		ssize_t o;

		if (!deploy_plan_affects(plan, c->id))
			apps[n++] = c;
		else if ((o = root_find(original, c->id)) >= 0)
			apps[n++] = original->apps[o];
	}
	/* Affected apps CURRENT lost (the plan removed them): back. */
	for (size_t i = 0; i < original->n_apps; i++) {
		const struct app *o = original->apps[i];

		if (deploy_plan_affects(plan, o->id) &&
		    root_find(current, o->id) < 0)
			apps[n++] = o;
	}
	*apps_r = apps;
	*n_r = n;
	return 0;
}
