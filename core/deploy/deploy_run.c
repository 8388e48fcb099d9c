#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <stadion/upgrade.h>

#include "deploy/deploy_run.h"
#include "log.h"
#include "plugin/plugin_loader.h"
#include "sched/sched_ids.h"
#include "sched/sched_ports.h"

/* One action of the current step. */
struct run_action {
	const struct deploy_action *a;
	bool begun, done;
	void *ustep;             /* the upgrade plugin's step state */
	bool ustep_live;         /* begin() succeeded: end() is due */
	uint64_t epoch;          /* restart: marks instances counted ready */
	uint32_t decommissioned; /* restart: old instances it killed */
};

/* A running deployment. */
struct run_dep {
	struct deploy_plan *plan;
	struct app **refs;       /* what the plan's actions point to */
	size_t n_refs;
	/* The affected apps as they were before (rollback); NULL entries
	 * are apps that did not exist.  Not known for a deployment resumed
	 * after a restart (has_orig false). */
	struct app **orig;
	size_t n_orig;
	bool has_orig;
	uint32_t orig_reads;     /* reads of them still under way */
	bool orig_failed;
	size_t step;             /* 0-based */
	struct run_action *acts;
	size_t n_acts;
	struct run_dep *next;
};

/* A submission waiting for the one before it. */
struct pending {
	struct app **put_apps;
	size_t n_put_apps;
	char **del_apps, **restart_ids;
	size_t n_del_apps, n_restart_ids;
	struct deploy_kill *kills;
	size_t n_kills;
	bool force, create_only;
	deploy_done_fn *done;
	void *arg;
	struct pending *next;
};

/* The submission being committed. */
struct inflight {
	struct deploy_run *r;
	struct run_dep *dep;     /* NULL when the plan has no steps */
	char **cancel;           /* ids of deployments a force replaces */
	size_t n_cancel;
	struct app **set_apps;   /* refs: definitions for the tracker */
	size_t n_set_apps;
	char *plan_id, *version;
	bool created;            /* 201 rather than 200 */
	deploy_done_fn *done;
	void *arg;
};

/* A read of an original definition for a resumed deployment. */
struct orig_read {
	struct deploy_run *r;    /* NULL once the runner is gone */
	char *dep_id;
	size_t index;            /* into the deployment's orig */
	struct orig_read *next;
};

struct deploy_run {
	struct deploy_run_config cfg;
	struct orig_read *reads; /* under way */
	const struct stadion_upgrade_ops *upgrade;
	void *upgrade_state;
	struct run_dep *deps;    /* in start order */
	struct pending *pending, **pending_tail;
	struct inflight *inflight; /* the submission being committed */
	int64_t last_version_ms;
	uint64_t epoch;
};

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void refs_free(struct app **apps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		model_app_free(apps[i]);
	free(apps);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- running deployments ---------------------------------------------- */

static void actions_end(struct deploy_run *r, struct run_dep *dep)
{
	/* Without R (stadiond stops) there are no actions: a deployment
	 * gets them when it starts. */
	for (size_t i = 0; i < dep->n_acts; i++)
		if (dep->acts[i].ustep_live && r->upgrade->end != NULL)
			r->upgrade->end(r->upgrade_state, dep->acts[i].ustep);
	free(dep->acts);
	dep->acts = NULL;
	dep->n_acts = 0;
}

static void dep_free(struct deploy_run *r, struct run_dep *dep)
{
	if (dep == NULL)
		return;
	actions_end(r, dep);
	deploy_plan_free(dep->plan);
	refs_free(dep->refs, dep->n_refs);
	refs_free(dep->orig, dep->n_orig);
	free(dep);
}

static void dep_unlink(struct deploy_run *r, struct run_dep *dep)
{
	for (struct run_dep **p = &r->deps; *p != NULL; p = &(*p)->next)
		if (*p == dep) {
			*p = dep->next;
			break;
		}
	dep->next = NULL;
}

static struct run_dep *dep_find(const struct deploy_run *r, const char *id)
{
	for (struct run_dep *d = r->deps; d != NULL; d = d->next)
		if (strcmp(d->plan->id, id) == 0)
			return d;
	return NULL;
}

/* The stored form of DEP at its current step; NULL when out of memory. */
static struct state_deployment *dep_state(const struct run_dep *dep)
{
	const struct deploy_plan *p = dep->plan;
	struct state_deployment *s = calloc(1, sizeof(*s));
	struct json_object *stored = deploy_plan_store_json(p), *steps = NULL;

	if (s == NULL || stored == NULL ||
	    !json_object_object_get_ex(stored, "steps", &steps))
		goto fail;
	s->steps = json_object_get(steps);
	s->id = strdup(p->id);
	s->version = strdup(p->version);
	s->from_root = p->original_version ? strdup(p->original_version) : NULL;
	s->to_root = p->target_version ? strdup(p->target_version) : NULL;
	s->current_step = (int32_t)dep->step;
	s->affected_apps = calloc(p->n_affected_apps + 1,
	                          sizeof(*s->affected_apps));
	if (s->id == NULL || s->version == NULL || s->affected_apps == NULL)
		goto fail;
	for (size_t i = 0; i < p->n_affected_apps; i++) {
		if ((s->affected_apps[i] = strdup(p->affected_apps[i])) == NULL)
			goto fail;
		s->n_affected_apps++;
	}
	json_object_put(stored);
	return s;
fail:
	json_object_put(stored);
	state_deployment_free(s);
	return NULL;
}

static void progress_done(void *arg, int rc, const char *errmsg)
{
	(void)arg;
	if (rc != 0)
		log_error("cannot store deployment progress: %s; a restart "
		          "resumes from the last stored step",
		          errmsg);
}

/* Store deployment ID's progress S (taken), or its end when S is NULL. */
static void dep_store_state(struct deploy_run *r, const char *id,
                            struct state_deployment *s)
{
	struct state_change ch = {0};
	struct stadion_err err = {0};

	if (s != NULL) {
		ch.put_deployments = &s;
		ch.n_put_deployments = 1;
	} else {
		ch.del_deployments = &id;
		ch.n_del_deployments = 1;
	}
	if (state_commit(r->cfg.state, &ch, progress_done, r, &err) != 0) {
		log_error("cannot store deployment %s: %s", id, err.msg);
		state_deployment_free(s);
	}
}

/* Store DEP's progress (PUT) or its end (delete). */
static void dep_store(struct deploy_run *r, struct run_dep *dep, bool put)
{
	struct state_deployment *s = NULL;

	if (put && (s = dep_state(dep)) == NULL) {
		log_error("out of memory: progress of deployment %s not "
		          "stored",
		          dep->plan->id);
		return;
	}
	dep_store_state(r, dep->plan->id, s);
}

/* Instances of TA with goal Running, in victim order for a scale-down:
 * Marathon's ScalingProposition sorts by condition (Unreachable, Staging,
 * Starting, Running, other) and then by killSelection.  Scheduled ones
 * have nothing running and go first. */
static int cond_rank(const struct tracker_instance *i)
{
	if (!i->has_task)
		return 0;
	switch (i->task_state) {
	case DRIVER_TASK_STAGING: return 1;
	case DRIVER_TASK_STARTING: return 2;
	case DRIVER_TASK_RUNNING: return 3;
	default: return 4;
	}
}

static enum app_kill_selection sort_selection;

static int victim_cmp(const void *pa, const void *pb)
{
	const struct tracker_instance *a = *(const struct tracker_instance *const *)pa;
	const struct tracker_instance *b = *(const struct tracker_instance *const *)pb;
	int64_t ta = a->staged_at_ms, tb = b->staged_at_ms;

	if (cond_rank(a) != cond_rank(b))
		return cond_rank(a) - cond_rank(b);
	if (ta == tb)
		return 0;
	/* YOUNGEST_FIRST: the most recently started goes first. */
	if (sort_selection == APP_KILL_YOUNGEST_FIRST)
		return ta > tb ? -1 : 1;
	return ta < tb ? -1 : 1;
}

static bool in_list(const char *id, char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* Reorder LIVE (in victim order) so that its first N_KILL keep APP's
 * constraints satisfied, GROUP_BY groups even (sched_place_victims); on
 * failure LIVE stays as it is, Marathon's order without the constraints. */
static void pick_victims(struct deploy_run *r, const struct app *app,
                         struct tracker_instance **live, size_t n_live,
                         size_t n_kill)
{
	const struct driver_agent **agents;
	struct tracker_instance **copy;
	size_t *order;

	if (r->cfg.place == NULL || app->n_constraints == 0)
		return;
	agents = calloc(n_live, sizeof(*agents));
	copy = calloc(n_live, sizeof(*copy));
	order = calloc(n_live, sizeof(*order));
	if (agents == NULL || copy == NULL || order == NULL)
		goto out_free;
	for (size_t i = 0; i < n_live; i++) {
		agents[i] = live[i]->has_task ? live[i]->agent : NULL;
		copy[i] = live[i];
	}
	if (sched_place_victims(r->cfg.place, app, agents, n_live, n_kill,
	                        order) == 0)
		for (size_t i = 0; i < n_live; i++)
			live[i] = copy[order[i]];
out_free:
	free(order);
	free(copy);
	free(agents);
}

/* Scale TA to N instances of APP.  The sentenced instances (a task kill
 * with scale=true) go first. */
static void scale_to(struct deploy_run *r, const struct app *app,
                     uint32_t n, char *const *sentenced, size_t n_sentenced)
{
	struct tracker_app *ta = tracker_app(r->cfg.tracker, app->id);
	struct tracker_instance **live = NULL;
	size_t n_live = 0;

	if (ta != NULL && ta->n_instances > 0) {
		if ((live = calloc(ta->n_instances, sizeof(*live))) == NULL)
			return;
		for (size_t i = 0; i < ta->n_instances; i++)
			if (ta->instances[i]->goal == STATE_GOAL_RUNNING)
				live[n_live++] = ta->instances[i];
	}
	for (size_t i = 0; i < n_live;) {
		if (in_list(live[i]->instance_id, sentenced, n_sentenced)) {
			tracker_decommission(r->cfg.tracker, live[i]);
			live[i] = live[--n_live];
		} else {
			i++;
		}
	}
	if (n_live > n) {
		sort_selection = app->kill_selection;
		qsort(live, n_live, sizeof(*live), victim_cmp);
		pick_victims(r, app, live, n_live, n_live - n);
		for (size_t i = 0; i < n_live - n; i++)
			tracker_decommission(r->cfg.tracker, live[i]);
	} else if (n_live < n &&
	           tracker_schedule(r->cfg.tracker, app, n - (uint32_t)n_live) !=
	                   0) {
		log_error("out of memory: cannot scale %s", app->id);
	}
	free(live);
}

/* Scale: done when exactly N instances are meant to run, all of them
 * running (and healthy), and no decommissioned one is left. */
static bool tick_scale(struct deploy_run *r, struct run_action *act)
{
	const struct deploy_action *a = act->a;
	const struct app *app = a->app;
	uint32_t n = (uint32_t)a->instances, wanted = 0, healthy = 0, going = 0;
	struct tracker_app *ta;

	if (!act->begun) {
		act->begun = true;
		scale_to(r, app, n, a->kill, a->n_kill);
	}
	if ((ta = tracker_app(r->cfg.tracker, app->id)) == NULL)
		return n == 0;
	for (size_t i = 0; i < ta->n_instances; i++) {
		const struct tracker_instance *inst = ta->instances[i];

		if (inst->goal != STATE_GOAL_RUNNING) {
			going++;
			continue;
		}
		wanted++;
		if (inst->has_task && inst->task_state == DRIVER_TASK_RUNNING &&
		    inst->healthy)
			healthy++;
	}
	if (wanted != n)
		scale_to(r, app, n, NULL, 0);
	return wanted == n && healthy == n && going == 0;
}

static bool tick_stop(struct deploy_run *r, struct run_action *act)
{
	struct tracker_app *ta;

	if (!act->begun) {
		act->begun = true;
		tracker_stop_app(r->cfg.tracker, act->a->app_id);
	}
	ta = tracker_app(r->cfg.tracker, act->a->app_id);
	return ta == NULL || ta->n_instances == 0;
}

/* Old instances to decommission, unhealthy first, then oldest first. */
static int old_cmp(const void *pa, const void *pb)
{
	const struct tracker_instance *a = *(const struct tracker_instance *const *)pa;
	const struct tracker_instance *b = *(const struct tracker_instance *const *)pb;
	bool ha = a->has_task && a->task_state == DRIVER_TASK_RUNNING &&
	          a->healthy;
	bool hb = b->has_task && b->task_state == DRIVER_TASK_RUNNING &&
	          b->healthy;

	if (ha != hb)
		return ha ? 1 : -1;
	if (a->staged_at_ms != b->staged_at_ms)
		return a->staged_at_ms < b->staged_at_ms ? -1 : 1;
	return 0;
}

static bool tick_restart(struct deploy_run *r, struct run_dep *dep,
                         struct run_action *act)
{
	const struct app *app = act->a->app;
	struct tracker_app *ta = tracker_app(r->cfg.tracker, app->id);
	struct stadion_upgrade_view view = {
		.size = sizeof(view),
		.target = (uint32_t)act->a->instances,
		.minimum_health_capacity = app->upgrade_min_health,
		.maximum_over_capacity = app->upgrade_max_over,
	};
	struct stadion_upgrade_decision dec = {.size = sizeof(dec)};
	struct stadion_err err = {0};
	struct tracker_instance **old = NULL, **drop = NULL;
	size_t n_old = 0, n_drop = 0;
	bool first = !act->begun;

	if (first) {
		struct sched_backoff_key key = {app->id,
		                                app->last_config_change_at};

		act->begun = true;
		act->epoch = ++r->epoch;
		view.flags |= STADION_UPGRADE_F_FIRST;
		sched_backoff_reset(tracker_backoff(r->cfg.tracker), &key);
	}
	if (ta != NULL && ta->n_instances > 0 &&
	    ((old = calloc(ta->n_instances, sizeof(*old))) == NULL ||
	     (drop = calloc(ta->n_instances, sizeof(*drop))) == NULL)) {
		free(old);
		return false;
	}
	for (size_t i = 0; ta != NULL && i < ta->n_instances; i++) {
		struct tracker_instance *inst = ta->instances[i];
		bool healthy = inst->has_task &&
		               inst->task_state == DRIVER_TASK_RUNNING &&
		               inst->healthy;

		if (tracker_instance_is_old(inst, app)) {
			view.old_active++;
			if (inst->goal == STATE_GOAL_RUNNING) {
				view.old_running++;
				view.old_healthy += healthy;
				old[n_old++] = inst;
			}
			continue;
		}
		if (inst->goal != STATE_GOAL_RUNNING)
			continue;
		/* New instances still waiting for an offer when the step
		 * (re)starts, after a restart of stadiond or a cancelled
		 * deployment, are dropped: counted as current (C), they would
		 * make the strategy kill as many running old ones for
		 * instances that may never start.  It queues its own. */
		if (first && !inst->has_task) {
			drop[n_drop++] = inst;
			continue;
		}
		view.new_started++;
		if (!healthy)
			continue;
		view.new_healthy++;
		if (inst->ready_epoch != act->epoch) {
			inst->ready_epoch = act->epoch;
			if (!first)
				view.new_ready++;
		}
	}
	/* Expunging reorders TA's instances: only after the walk. */
	for (size_t i = 0; i < n_drop; i++)
		tracker_decommission(r->cfg.tracker, drop[i]);
	free(drop);
	view.old_decommissioned = act->decommissioned;
	if (first && r->upgrade->begin != NULL) {
		if (r->upgrade->begin(r->upgrade_state, &view, &act->ustep,
		                      &err) != 0) {
			log_error("deployment %s: the upgrade strategy refused "
			          "to restart %s: %s",
			          dep->plan->id, app->id, err.msg);
			free(old);
			return false;
		}
		act->ustep_live = true;
	}
	if (view.new_healthy >= view.target && view.old_active == 0) {
		free(old);
		return true;
	}
	if (r->upgrade->step(r->upgrade_state, act->ustep, &view, &dec,
	                     &err) != 0) {
		log_error("deployment %s: the upgrade strategy failed on %s: "
		          "%s",
		          dep->plan->id, app->id, err.msg);
		free(old);
		return false;
	}
	if (dec.kill_old > n_old)
		dec.kill_old = (uint32_t)n_old;
	if (dec.kill_old > 0) {
		qsort(old, n_old, sizeof(*old), old_cmp);
		for (uint32_t i = 0; i < dec.kill_old; i++)
			tracker_decommission(r->cfg.tracker, old[i]);
		act->decommissioned += dec.kill_old;
	}
	if (dec.start_new > 0 &&
	    tracker_schedule(r->cfg.tracker, app, dec.start_new) != 0)
		log_error("out of memory: cannot start %s", app->id);
	free(old);
	return false;
}

static bool tick(struct deploy_run *r, struct run_dep *dep,
                 struct run_action *act)
{
	if (act->done)
		return true;
	switch (act->a->type) {
	case DEPLOY_ACTION_START:
		act->done = true;
		break;
	case DEPLOY_ACTION_STOP:
		act->done = tick_stop(r, act);
		break;
	case DEPLOY_ACTION_SCALE:
		act->done = tick_scale(r, act);
		break;
	case DEPLOY_ACTION_RESTART:
		act->done = tick_restart(r, dep, act);
		break;
	}
	return act->done;
}

static int step_begin(struct deploy_run *r, struct run_dep *dep)
{
	const struct deploy_step *s = &dep->plan->steps[dep->step];

	(void)r;
	if ((dep->acts = calloc(s->n_actions, sizeof(*dep->acts))) == NULL)
		return -ENOMEM;
	dep->n_acts = s->n_actions;
	for (size_t i = 0; i < s->n_actions; i++)
		dep->acts[i].a = &s->actions[i];
	return 0;
}

/* Tick DEP's actions (those of APP_ID, or all when NULL) and move on
 * through every step that is complete.  Returns false when DEP finished
 * and was freed. */
static bool dep_advance(struct deploy_run *r, struct run_dep *dep,
                        const char *app_id)
{
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < dep->n_acts; i++) {
			struct run_action *act = &dep->acts[i];

			if (app_id == NULL || strcmp(act->a->app_id, app_id) == 0)
				tick(r, dep, act);
			all &= act->done;
		}
		if (!all)
			return true;
		actions_end(r, dep);
		log_info("deployment %s: step %zu of %zu done", dep->plan->id,
		         dep->step + 1, dep->plan->n_steps);
		tracker_touch(r->cfg.tracker);
		if (++dep->step >= dep->plan->n_steps) {
			log_info("deployment %s finished", dep->plan->id);
			dep_store(r, dep, false);
			dep_unlink(r, dep);
			dep_free(r, dep);
			return false;
		}
		dep_store(r, dep, true);
		if (step_begin(r, dep) != 0) {
			log_error("out of memory: deployment %s stalls",
			          dep->plan->id);
			return true;
		}
		app_id = NULL; /* a new step: tick all of it */
	}
}

static void on_instances(void *arg, const char *app_id)
{
	struct deploy_run *r = arg;

	for (struct run_dep *d = r->deps, *next; d != NULL; d = next) {
		next = d->next;
		if (deploy_plan_affects(d->plan, app_id))
			dep_advance(r, d, app_id);
	}
}

/* Take references to every app the plan's actions point to. */
static int dep_take_refs(struct run_dep *dep)
{
	size_t n = 0;

	for (size_t s = 0; s < dep->plan->n_steps; s++)
		n += dep->plan->steps[s].n_actions;
	if ((dep->refs = calloc(n + 1, sizeof(*dep->refs))) == NULL)
		return -ENOMEM;
	for (size_t s = 0; s < dep->plan->n_steps; s++)
		for (size_t i = 0; i < dep->plan->steps[s].n_actions; i++) {
			const struct app *a = dep->plan->steps[s].actions[i].app;

			if (a != NULL)
				dep->refs[dep->n_refs++] = model_app_ref(a);
		}
	return 0;
}

static void dep_start(struct deploy_run *r, struct run_dep *dep)
{
	struct run_dep **p = &r->deps;

	while (*p != NULL)
		p = &(*p)->next;
	*p = dep;
	log_info("deployment %s started: %zu steps", dep->plan->id,
	         dep->plan->n_steps);
	if (step_begin(r, dep) != 0) {
		log_error("out of memory: deployment %s stalls", dep->plan->id);
		return;
	}
	dep_advance(r, dep, NULL);
	tracker_touch(r->cfg.tracker);
}

/* ---- submissions ------------------------------------------------------ */

static void reply(deploy_done_fn *done, void *arg, int status,
                  const char *id, const char *version,
                  struct json_object *body, const char *message)
{
	struct deploy_result res = {
		.status = status,
		.deployment_id = id,
		.version = version,
		.body = body,
		.message = message,
	};

	done(arg, &res);
}

static void pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	refs_free(p->put_apps, p->n_put_apps);
	strv_free(p->del_apps, p->n_del_apps);
	strv_free(p->restart_ids, p->n_restart_ids);
	for (size_t i = 0; i < p->n_kills; i++) {
		free((char *)p->kills[i].app_id);
		for (size_t k = 0; k < p->kills[i].n_instance_ids; k++)
			free((char *)p->kills[i].instance_ids[k]);
		free((char **)p->kills[i].instance_ids);
	}
	free(p->kills);
	free(p);
}

static char **strv_copy(const char *const *v, size_t n)
{
	char **c = calloc(n + 1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((c[i] = strdup(v[i])) == NULL) {
			strv_free(c, i);
			return NULL;
		}
	return c;
}

/* A copy of CH that outlives the call; it takes over CH's apps. */
static struct pending *pending_new(const struct deploy_change *ch)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		goto fail;
	if ((p->put_apps = calloc(ch->n_put_apps + 1, sizeof(*p->put_apps))) ==
	    NULL)
		goto fail;
	for (size_t i = 0; i < ch->n_put_apps; i++)
		p->put_apps[p->n_put_apps++] = ch->put_apps[i];
	if ((p->del_apps = strv_copy(ch->del_apps, ch->n_del_apps)) == NULL)
		goto fail_free;
	p->n_del_apps = ch->n_del_apps;
	if ((p->restart_ids = strv_copy(ch->restart_ids, ch->n_restart_ids)) ==
	    NULL)
		goto fail_free;
	p->n_restart_ids = ch->n_restart_ids;
	if ((p->kills = calloc(ch->n_kills + 1, sizeof(*p->kills))) == NULL)
		goto fail_free;
	for (size_t i = 0; i < ch->n_kills; i++) {
		struct deploy_kill *k = &p->kills[p->n_kills++];

		k->app_id = strdup(ch->kills[i].app_id);
		k->instance_ids = (const char *const *)strv_copy(
			ch->kills[i].instance_ids, ch->kills[i].n_instance_ids);
		if (k->app_id == NULL || k->instance_ids == NULL)
			goto fail_free;
		k->n_instance_ids = ch->kills[i].n_instance_ids;
	}
	p->force = ch->force;
	p->create_only = ch->create_only;
	return p;

fail_free:
	pending_free(p);
	return NULL;
fail:
	for (size_t i = 0; i < ch->n_put_apps; i++)
		model_app_free(ch->put_apps[i]);
	free(p);
	return NULL;
}

static void process_next(struct deploy_run *r);

static void inflight_free(struct inflight *f)
{
	strv_free(f->cancel, f->n_cancel);
	refs_free(f->set_apps, f->n_set_apps);
	free(f->plan_id);
	free(f->version);
	free(f);
}

static void commit_done(void *arg, int rc, const char *errmsg)
{
	struct inflight *f = arg;
	struct deploy_run *r = f->r;

	/* stadiond stops: the store completes what was under way after the
	 * runner and the HTTP server are gone; deploy_run_free() answered. */
	if (r == NULL) {
		dep_free(NULL, f->dep);
		inflight_free(f);
		return;
	}
	if (rc != 0) {
		/* Too big is the definition's fault, not the store's:
		 * retrying cannot help. */
		const bool too_big = rc == STADION_ETOOBIG;
		char msg[512];

		snprintf(msg, sizeof(msg),
		         "The change was not stored: %s; nothing changed%s",
		         errmsg,
		         too_big ? "" : ", retry when the storage is back");
		log_error("%s", msg);
		dep_free(r, f->dep);
		reply(f->done, f->arg, too_big ? 422 : 503, NULL, NULL, NULL,
		      msg);
		goto out;
	}
	for (size_t i = 0; i < f->n_cancel; i++) {
		struct run_dep *old = dep_find(r, f->cancel[i]);

		if (old != NULL) {
			log_info("deployment %s cancelled by %s", f->cancel[i],
			         f->plan_id);
			dep_unlink(r, old);
			dep_free(r, old);
		}
	}
	for (size_t i = 0; i < f->n_set_apps; i++)
		if (tracker_set_app(r->cfg.tracker, f->set_apps[i]) != 0)
			log_error("out of memory: the tracker missed %s",
			          f->set_apps[i]->id);
	if (f->dep != NULL)
		dep_start(r, f->dep);
	tracker_touch(r->cfg.tracker);
	reply(f->done, f->arg, f->created ? 201 : 200, f->plan_id, f->version,
	      NULL, NULL);
out:
	inflight_free(f);
	r->inflight = NULL;
	process_next(r);
}

static const struct app *find_app(const struct app *const *apps, size_t n,
                                  const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (apps[i] != NULL && strcmp(apps[i]->id, id) == 0)
			return apps[i];
	return NULL;
}

/* A fresh copy of APP, for a restart or a revert to stamp. */
static struct app *app_copy(const struct app *app)
{
	struct model_errors errs;
	struct app *c = NULL;

	model_errors_init(&errs);
	if (model_app_parse(app->json, "/", NULL, &c, &errs) != 0)
		c = NULL;
	model_errors_clear(&errs);
	return c;
}

static struct json_object *invalid_body(const char *msg)
{
	struct model_errors errs;
	struct json_object *body;

	model_errors_init(&errs);
	model_errors_add(&errs, MODEL_ERR_VALID, NULL, "/", "%s", msg);
	body = model_errors_to_json(&errs);
	model_errors_clear(&errs);
	return body;
}

/* Plan and commit P.  Replies on refusal, or from commit_done. */
static void process(struct deploy_run *r, struct pending *p)
{
	const struct state_snapshot *snap = state_snapshot(r->cfg.state);
	const struct app **target = NULL;
	struct app **puts = NULL;
	size_t n_target = 0, n_puts = 0;
	struct deploy_root orig_root = {(const struct app *const *)snap->apps,
	                                snap->n_apps, NULL, 0};
	struct deploy_root target_root;
	struct deploy_plan_input in = {0};
	struct deploy_plan *plan = NULL;
	struct inflight *f = NULL;
	const struct deploy_plan **running = NULL;
	size_t n_running = 0;
	struct state_change ch = {0};
	struct state_deployment *sd = NULL;
	struct stadion_err serr = {0};
	char version[MODEL_TIMESTAMP_LEN], id[SCHED_UUID_LEN], err[256];
	const char **del_ids = NULL;
	size_t n_del = 0;
	int64_t ms = now_ms();
	bool created = false;

	/* Versions are storage keys: never two changes in one millisecond. */
	if (ms <= r->last_version_ms)
		ms = r->last_version_ms + 1;
	r->last_version_ms = ms;
	model_timestamp_format(ms, version);

	target = calloc(snap->n_apps + p->n_put_apps + 1, sizeof(*target));
	puts = calloc(p->n_put_apps + p->n_restart_ids + 1, sizeof(*puts));
	del_ids = calloc(p->n_del_apps + 1, sizeof(*del_ids));
	f = calloc(1, sizeof(*f));
	if (target == NULL || puts == NULL || del_ids == NULL || f == NULL)
		goto fail_nomem;

	/* Constraints: what the model cannot check (the operators). */
	if (r->cfg.place != NULL) {
		struct model_errors errs;
		int vrc = 0;

		model_errors_init(&errs);
		for (size_t i = 0; i < p->n_put_apps && vrc != -2; i++) {
			int one = sched_place_validate(r->cfg.place,
			                               p->put_apps[i], NULL,
			                               &errs);

			vrc = one != 0 ? one : vrc;
		}
		if (vrc != 0) {
			struct json_object *body = vrc == -1
			        ? model_errors_to_json(&errs) : NULL;

			model_errors_clear(&errs);
			if (body == NULL)
				goto fail_nomem;
			reply(p->done, p->arg, 422, NULL, NULL, body,
			      "Object is not valid");
			json_object_put(body);
			goto out_free;
		}
		model_errors_clear(&errs);
	}

	/* Stamp the new definitions; an unchanged one is no put. */
	for (size_t i = 0; i < p->n_put_apps; i++) {
		struct app *a = p->put_apps[i];
		const struct app *prev = state_app(r->cfg.state, a->id);

		if (prev != NULL && p->create_only) {
			snprintf(err, sizeof(err),
			         "An app with id [%s] already exists.", a->id);
			reply(p->done, p->arg, 409, NULL, NULL, NULL, err);
			goto out_free;
		}

		created |= prev == NULL;
		if (model_app_stamp(a, prev, version, false) != 0)
			goto fail_nomem;
		if (prev != NULL && model_app_compare(prev, a) == MODEL_APP_SAME)
			continue;
		puts[n_puts++] = model_app_ref(a);
	}
	for (size_t i = 0; i < p->n_restart_ids; i++) {
		const struct app *prev = state_app(r->cfg.state,
		                                   p->restart_ids[i]);
		struct app *c;

		if (prev == NULL || find_app((const struct app *const *)puts,
		                             n_puts, prev->id) != NULL)
			continue;
		if ((c = app_copy(prev)) == NULL ||
		    model_app_stamp(c, prev, version, true) != 0) {
			model_app_free(c);
			goto fail_nomem;
		}
		puts[n_puts++] = c;
	}
	for (size_t i = 0; i < p->n_del_apps; i++)
		if (state_app(r->cfg.state, p->del_apps[i]) != NULL)
			del_ids[n_del++] = p->del_apps[i];
	for (size_t i = 0; i < snap->n_apps; i++) {
		const struct app *a = snap->apps[i];
		bool gone = false;

		for (size_t k = 0; k < n_del; k++)
			gone |= strcmp(del_ids[k], a->id) == 0;
		if (!gone && find_app((const struct app *const *)puts, n_puts,
		                      a->id) == NULL)
			target[n_target++] = a;
	}
	for (size_t i = 0; i < n_puts; i++)
		target[n_target++] = puts[i];

	if (sched_ports_assign((const struct app *const *)snap->apps,
	                       snap->n_apps, puts, n_puts, r->cfg.port_min,
	                       r->cfg.port_max, err, sizeof(err)) != 0) {
		if (errno == ENOMEM)
			goto fail_nomem;
		struct json_object *body = invalid_body(err);

		reply(p->done, p->arg, 422, NULL, NULL, body, err);
		json_object_put(body);
		goto out_free;
	}
	target_root = (struct deploy_root){target, n_target, NULL, 0};
	if (deploy_root_check_cycles(&target_root) == DEPLOY_PLAN_CYCLE) {
		struct json_object *body = invalid_body(DEPLOY_PLAN_MSG_CYCLE);

		reply(p->done, p->arg, 422, NULL, NULL, body,
		      DEPLOY_PLAN_MSG_CYCLE);
		json_object_put(body);
		goto out_free;
	}
	if (sched_uuid_v4(id) != 0)
		goto fail_nomem;
	in = (struct deploy_plan_input){
		.original = &orig_root,
		.target = &target_root,
		.id = id,
		.version = version,
		.original_version = snap->root_version,
		.target_version = version,
		.restart_ids = (const char *const *)p->restart_ids,
		.n_restart_ids = p->n_restart_ids,
		.kills = p->kills,
		.n_kills = p->n_kills,
	};
	if (deploy_plan_build(&in, &plan) != 0)
		goto fail_nomem;

	/* Conflicts: 409, or cancel them when forced. */
	for (struct run_dep *d = r->deps; d != NULL; d = d->next)
		n_running++;
	if ((running = calloc(n_running + 1, sizeof(*running))) == NULL ||
	    (f->cancel = calloc(n_running + 1, sizeof(*f->cancel))) == NULL)
		goto fail_nomem;
	n_running = 0;
	for (struct run_dep *d = r->deps; d != NULL; d = d->next)
		running[n_running++] = d->plan;
	if (!p->force) {
		bool nomem = false;
		struct json_object *body = deploy_plan_conflict_body(
			plan, running, n_running, &nomem);

		if (nomem)
			goto fail_nomem;
		if (body != NULL) {
			reply(p->done, p->arg, 409, NULL, NULL, body,
			      DEPLOY_PLAN_MSG_LOCKED);
			json_object_put(body);
			goto out_free;
		}
	} else {
		for (size_t i = 0; i < n_running; i++)
			if (deploy_plan_conflicts(plan, running[i]) &&
			    (f->cancel[f->n_cancel++] = strdup(running[i]->id)) ==
			            NULL)
				goto fail_nomem;
	}

	f->r = r;
	f->done = p->done;
	f->arg = p->arg;
	f->created = created;
	if ((f->plan_id = strdup(id)) == NULL ||
	    (f->version = strdup(version)) == NULL)
		goto fail_nomem;
	if ((f->set_apps = calloc(n_puts + 1, sizeof(*f->set_apps))) == NULL)
		goto fail_nomem;
	for (size_t i = 0; i < n_puts; i++)
		f->set_apps[f->n_set_apps++] = model_app_ref(puts[i]);
	if (plan->n_steps > 0) {
		struct run_dep *dep = calloc(1, sizeof(*dep));

		if (dep == NULL)
			goto fail_nomem;
		dep->plan = plan;
		plan = NULL;
		f->dep = dep;
		if (dep_take_refs(dep) != 0 ||
		    (dep->orig = calloc(dep->plan->n_affected_apps + 1,
		                        sizeof(*dep->orig))) == NULL)
			goto fail_nomem;
		dep->has_orig = true;
		for (size_t i = 0; i < dep->plan->n_affected_apps; i++) {
			const struct app *o = state_app(
				r->cfg.state, dep->plan->affected_apps[i]);

			dep->orig[dep->n_orig++] = o ? model_app_ref(o) : NULL;
		}
		if ((sd = dep_state(dep)) == NULL)
			goto fail_nomem;
		ch.put_deployments = &sd;
		ch.n_put_deployments = 1;
	}
	if (n_puts > 0 || n_del > 0) {
		ch.root_version = version;
		ch.put_apps = puts;
		ch.n_put_apps = n_puts;
		ch.del_apps = del_ids;
		ch.n_del_apps = n_del;
	}
	ch.del_deployments = (const char *const *)f->cancel;
	ch.n_del_deployments = f->n_cancel;
	if (ch.root_version == NULL && ch.n_put_deployments == 0 &&
	    ch.n_del_deployments == 0) {
		/* Nothing changes: answer as Marathon does, with the id of
		 * a plan that has nothing to do. */
		reply(p->done, p->arg, created ? 201 : 200, id, version, NULL,
		      NULL);
		goto out_free;
	}
	if (state_commit(r->cfg.state, &ch, commit_done, f, &serr) != 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "The change was not stored: %s",
		         serr.msg);
		state_deployment_free(sd);
		reply(p->done, p->arg, 503, NULL, NULL, NULL, msg);
		goto out_free;
	}
	/* The repository owns the put apps and the deployment now. */
	for (size_t i = 0; i < n_puts; i++)
		puts[i] = NULL;
	r->inflight = f;
	f = NULL;
	goto out_free;

fail_nomem:
	reply(p->done, p->arg, 503, NULL, NULL, NULL,
	      "stadiond is out of memory; nothing changed");
out_free:
	if (f != NULL) {
		dep_free(r, f->dep);
		inflight_free(f);
	}
	deploy_plan_free(plan);
	free(running);
	if (puts != NULL)
		refs_free(puts, n_puts);
	free(target);
	free(del_ids);
	pending_free(p);
}

static void process_next(struct deploy_run *r)
{
	while (r->inflight == NULL && r->pending != NULL) {
		struct pending *p = r->pending;

		if ((r->pending = p->next) == NULL)
			r->pending_tail = &r->pending;
		process(r, p);
	}
}

void deploy_run_submit(struct deploy_run *r, const struct deploy_change *change,
                       deploy_done_fn *done, void *arg)
{
	struct pending *p = pending_new(change);

	if (p == NULL) {
		reply(done, arg, 503, NULL, NULL, NULL,
		      "stadiond is out of memory; nothing changed");
		return;
	}
	p->done = done;
	p->arg = arg;
	*r->pending_tail = p;
	r->pending_tail = &p->next;
	process_next(r);
}

/* ---- cancel and rollback ---------------------------------------------- */

void deploy_run_cancel(struct deploy_run *r, const char *id, bool rollback,
                       deploy_done_fn *done, void *arg)
{
	struct run_dep *dep = dep_find(r, id);
	struct deploy_change ch = {.force = true};
	const struct app **reverted = NULL, *const *cur;
	struct deploy_root orig_root, cur_root;
	struct app **puts = NULL;
	const char **dels = NULL;
	size_t n_rev = 0, n_cur;
	char msg[256];

	if (dep == NULL) {
		snprintf(msg, sizeof(msg), "DeploymentPlan %s does not exist",
		         id);
		reply(done, arg, 404, NULL, NULL, NULL, msg);
		return;
	}
	if (!rollback) {
		log_info("deployment %s cancelled (force)", id);
		dep_store(r, dep, false);
		dep_unlink(r, dep);
		dep_free(r, dep);
		tracker_touch(r->cfg.tracker);
		reply(done, arg, 202, NULL, NULL, NULL, NULL);
		return;
	}
	if (!dep->has_orig) {
		snprintf(msg, sizeof(msg),
		         "Deployment %s was resumed after a restart of "
		         "stadiond and the definitions it started from %s; "
		         "cancel it with ?force=true and PUT the versions to "
		         "roll back to",
		         id,
		         dep->orig_reads > 0 ? "are still being read (retry in "
		                               "a moment)"
		                             : "are not stored any more");
		reply(done, arg, 409, NULL, NULL, NULL, msg);
		return;
	}
	cur = (const struct app *const *)state_snapshot(r->cfg.state)->apps;
	n_cur = state_snapshot(r->cfg.state)->n_apps;
	{
		const struct app **o = calloc(dep->n_orig + 1, sizeof(*o));
		size_t n_o = 0;

		if (o == NULL)
			goto fail_nomem;
		for (size_t i = 0; i < dep->n_orig; i++)
			if (dep->orig[i] != NULL)
				o[n_o++] = dep->orig[i];
		orig_root = (struct deploy_root){o, n_o, NULL, 0};
		cur_root = (struct deploy_root){cur, n_cur, NULL, 0};
		if (deploy_plan_revert_apps(dep->plan, &orig_root, &cur_root,
		                            &reverted, &n_rev) != 0) {
			free(o);
			goto fail_nomem;
		}
		free(o);
	}
	puts = calloc(dep->plan->n_affected_apps + 1, sizeof(*puts));
	dels = calloc(dep->plan->n_affected_apps + 1, sizeof(*dels));
	if (puts == NULL || dels == NULL)
		goto fail_nomem;
	for (size_t i = 0; i < dep->plan->n_affected_apps; i++) {
		const char *aid = dep->plan->affected_apps[i];
		const struct app *want = find_app(reverted, n_rev, aid);
		const struct app *now = find_app(cur, n_cur, aid);

		if (want == NULL) {
			if (now != NULL)
				dels[ch.n_del_apps++] = aid;
		} else if (want != now) {
			if ((puts[ch.n_put_apps] = app_copy(want)) == NULL)
				goto fail_nomem;
			ch.n_put_apps++;
		}
	}
	ch.put_apps = puts;
	ch.del_apps = dels;
	free(reverted);
	/* The revert is forced over DEP, which it cancels. */
	deploy_run_submit(r, &ch, done, arg);
	free(puts);
	free(dels);
	return;

fail_nomem:
	for (size_t i = 0; puts != NULL && i < ch.n_put_apps; i++)
		model_app_free(puts[i]);
	free(puts);
	free(dels);
	free(reverted);
	reply(done, arg, 503, NULL, NULL, NULL,
	      "stadiond is out of memory; nothing changed");
}

/* ---- listings --------------------------------------------------------- */

struct json_object *deploy_run_list_json(const struct deploy_run *r)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (const struct run_dep *d = r->deps; d != NULL; d = d->next) {
		struct deploy_progress pr = {.current_step = d->step + 1};
		struct json_object *o = deploy_plan_to_json(d->plan, &pr);

		if (o == NULL || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

struct json_object *deploy_run_app_deployments(const struct deploy_run *r,
                                               const char *app_id)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (const struct run_dep *d = r->deps; d != NULL; d = d->next) {
		struct json_object *o;

		if (!deploy_plan_affects(d->plan, app_id))
			continue;
		if ((o = json_object_new_object()) == NULL ||
		    json_object_object_add(o, "id",
		                           json_object_new_string(d->plan->id)) !=
		            0 ||
		    json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

bool deploy_run_app_deploying(const struct deploy_run *r, const char *app_id)
{
	for (const struct run_dep *d = r->deps; d != NULL; d = d->next)
		if (deploy_plan_affects(d->plan, app_id))
			return true;
	return false;
}

/* ---- life cycle ------------------------------------------------------- */

struct deploy_run *deploy_run_new(const struct deploy_run_config *cfg)
{
	struct deploy_run *r = calloc(1, sizeof(*r));
	const struct plugin *up;

	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	r->pending_tail = &r->pending;
	up = plugin_set_find(cfg->plugins, STADION_PLUGIN_KIND_UPGRADE,
	                     "rolling");
	if (up == NULL) {
		free(r);
		errno = ENOENT;
		return NULL;
	}
	r->upgrade = up->ops;
	r->upgrade_state = up->state;
	tracker_set_listener(cfg->tracker, on_instances, r);
	return r;
}

void deploy_run_free(struct deploy_run *r)
{
	if (r == NULL)
		return;
	tracker_set_listener(r->cfg.tracker, NULL, NULL);
	for (struct orig_read *o = r->reads; o != NULL; o = o->next)
		o->r = NULL;
	if (r->inflight != NULL) {
		r->inflight->r = NULL;
		reply(r->inflight->done, r->inflight->arg, 503, NULL, NULL,
		      NULL, "stadiond is stopping; the change may or may not "
		            "have been stored");
	}
	while (r->deps != NULL) {
		struct run_dep *d = r->deps;

		r->deps = d->next;
		dep_free(r, d);
	}
	while (r->pending != NULL) {
		struct pending *p = r->pending;

		r->pending = p->next;
		reply(p->done, p->arg, 503, NULL, NULL, NULL,
		      "stadiond is stopping; nothing changed");
		pending_free(p);
	}
	free(r);
}

static void orig_read_done(void *arg, int rc, struct app *app,
                           const char *errmsg)
{
	struct orig_read *o = arg;
	struct deploy_run *r = o->r;
	struct run_dep *dep;

	if (r != NULL) {
		for (struct orig_read **p = &r->reads; *p != NULL;
		     p = &(*p)->next)
			if (*p == o) {
				*p = o->next;
				break;
			}
	}
	if (r == NULL || (dep = dep_find(r, o->dep_id)) == NULL) {
		model_app_free(app);
		goto out_free;
	}
	if (rc != 0) {
		log_warn("deployment %s: cannot read the definition it "
		         "started from: %s; it can be cancelled with force but "
		         "not rolled back",
		         o->dep_id, errmsg);
		dep->orig_failed = true;
	} else {
		dep->orig[o->index] = app;
	}
	dep->has_orig = --dep->orig_reads == 0 && !dep->orig_failed;
out_free:
	free(o->dep_id);
	free(o);
}

/* The definitions a resumed deployment started from, for a rollback:
 * each affected app's version in its original root, read back unless it
 * is the current one.  has_orig becomes true once all are there. */
static void resume_originals(struct deploy_run *r, struct run_dep *dep,
                             const char *from_root)
{
	size_t n = dep->plan->n_affected_apps;

	if (from_root == NULL ||
	    (dep->orig = calloc(n + 1, sizeof(*dep->orig))) == NULL)
		return;
	dep->n_orig = n;
	for (size_t i = 0; i < n; i++) {
		const char *id = dep->plan->affected_apps[i], *v;
		const struct app *cur = state_app(r->cfg.state, id);
		struct orig_read *o;
		struct stadion_err err = {0};
		int rc = state_root_app_version(r->cfg.state, from_root, id,
		                                &v);

		if (rc == STADION_ENOENT)
			continue; /* the app is new with this deployment */
		if (rc != 0) {
			dep->orig_failed = true;
			return;
		}
		if (cur != NULL && cur->version != NULL &&
		    strcmp(cur->version, v) == 0) {
			dep->orig[i] = model_app_ref(cur);
			continue;
		}
		if ((o = calloc(1, sizeof(*o))) == NULL ||
		    (o->dep_id = strdup(dep->plan->id)) == NULL) {
			free(o);
			dep->orig_failed = true;
			return;
		}
		o->r = r;
		o->index = i;
		if (state_read_app(r->cfg.state, id, v, orig_read_done, o,
		                   &err) != 0) {
			free(o->dep_id);
			free(o);
			dep->orig_failed = true;
			return;
		}
		o->next = r->reads;
		r->reads = o;
		dep->orig_reads++;
	}
	dep->has_orig = dep->orig_reads == 0;
}

int deploy_run_resume(struct deploy_run *r)
{
	const struct state_snapshot *snap = state_snapshot(r->cfg.state);
	struct deploy_root empty = {NULL, 0, NULL, 0};
	struct deploy_root target = {(const struct app *const *)snap->apps,
	                             snap->n_apps, NULL, 0};

	for (size_t i = 0; i < snap->n_deployments; i++) {
		const struct state_deployment *sd = snap->deployments[i];
		struct json_object *in = json_object_new_object();
		struct run_dep *dep = calloc(1, sizeof(*dep));
		int rc;

		if (in == NULL || dep == NULL) {
			json_object_put(in);
			free(dep);
			return -ENOMEM;
		}
		json_object_object_add(in, "id", json_object_new_string(sd->id));
		json_object_object_add(in, "version",
		                       json_object_new_string(sd->version));
		if (sd->from_root != NULL)
			json_object_object_add(
				in, "originalVersion",
				json_object_new_string(sd->from_root));
		if (sd->to_root != NULL)
			json_object_object_add(in, "targetVersion",
			                       json_object_new_string(sd->to_root));
		json_object_object_add(in, "steps", json_object_get(sd->steps));
		rc = deploy_plan_from_json(in, &empty, &target, &dep->plan);
		json_object_put(in);
		if (rc != 0 || dep_take_refs(dep) != 0) {
			log_error("deployment %s cannot be resumed (its "
			          "stored plan names apps the current root "
			          "lacks); it is dropped",
			          sd->id);
			dep_store_state(r, sd->id, NULL);
			dep_free(r, dep);
			continue;
		}
		dep->step = sd->current_step > 0 ? (size_t)sd->current_step : 0;
		if (dep->step >= dep->plan->n_steps) {
			dep_store(r, dep, false);
			dep_free(r, dep);
			continue;
		}
		log_info("deployment %s resumed at step %zu of %zu", sd->id,
		         dep->step + 1, dep->plan->n_steps);
		resume_originals(r, dep, sd->from_root);
		dep_start(r, dep);
	}
	/* Apps no deployment holds get what they lack (or lose what they
	 * have too many of): instances lost while stadiond was down. */
	for (size_t i = 0; i < snap->n_apps; i++) {
		const struct app *app = snap->apps[i];

		if (!deploy_run_app_deploying(r, app->id))
			scale_to(r, app, (uint32_t)app->instances, NULL, 0);
	}
	return 0;
}
