#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "jsonutil.h"
#include "log.h"
#include "sched/sched_ids.h"
#include "sched/sched_match.h"
#include "sched/sched_task.h"
#include "sched/sched_tracker.h"
#include "strmap.h"

struct tracker {
	struct tracker_config cfg;
	struct strmap *apps;       /* app id -> tracker_app */
	struct strmap *instances;  /* instance id -> tracker_instance */
	struct strmap *tasks;      /* task id -> tracker_instance (has_task) */
	struct tracker_app **app_list; /* for listings, in creation order */
	size_t n_apps, cap_apps;
	struct sched_queue *queue;
	struct sched_backoff *backoff;
	/* Deferred work, so that no caller sees its own change re-enter:
	 * the launch round, the listener calls and the batched writes. */
	struct event *round_ev;
	struct event *delay_ev;    /* wakes the round when a delay ends */
	struct tracker_instance **dirty; /* to store, each once */
	size_t n_dirty, cap_dirty;
	char **notify;             /* app ids for the listener, each once */
	size_t n_notify, cap_notify;
	/* The same ids, to find one in O(1): a take-over notifies an app
	 * per adopted instance (10,000 times with 1,000 apps). */
	struct strmap *notified;
	uint64_t generation;
	/* Instance writes up to this one are stored (state_last_write): an
	 * instance launches only once its Scheduled record, which names
	 * its task, is stored, so that the next leader can always tell a
	 * task it finds from a stranger. */
	uint64_t stored_upto;
	uint64_t trimmed_at;       /* the generation of the last malloc_trim */
	struct event *trim_ev;
	/* Recovery: versions being read back, adopted tasks still to
	 * report, and who waits for it. */
	struct recover_def **rdefs;
	size_t n_rdefs, cap_rdefs, rdefs_pending;
	bool recovering;
	size_t n_adopting;
	tracker_recovered_fn *recovered;
	void *recovered_arg;
	/* The health module (core/health). */
	const struct tracker_health_hooks *health;
	void *health_arg;
};

static void recover_defs_clear(struct tracker *t);
static void arm_delay(struct tracker *t, int64_t wait_ms);

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void timestamp(int64_t ms, char buf[MODEL_TIMESTAMP_LEN])
{
	model_timestamp_format(ms, buf);
}

/* Arrays that grow by doubling; 0 or -1. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((p = realloc(*arr, c * size)) == NULL)
		return -1;
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- deferred work ---------------------------------------------------- */

static void kick(struct tracker *t)
{
	static const struct timeval now = {0, 0};

	t->generation++;
	/* A zero timer, not event_active(): the driver's reports and the
	 * rounds would otherwise activate each other within one pass of the
	 * loop, and it would not poll its sockets (answer the API) until a
	 * thousand launches are done.  Timers run after the poll. */
	if (!evtimer_pending(t->round_ev, NULL))
		evtimer_add(t->round_ev, &now);
}

void tracker_poke(struct tracker *t)
{
	kick(t);
}

static void mark_dirty(struct tracker *t, struct tracker_instance *inst)
{
	if (inst->dirty)
		goto out_kick;
	if (grow((void **)&t->dirty, &t->cap_dirty, t->n_dirty + 1,
	         sizeof(*t->dirty)) != 0) {
		log_error("out of memory: instance %s not stored",
		          inst->instance_id);
		goto out_kick;
	}
	inst->dirty = true;
	t->dirty[t->n_dirty++] = inst;
out_kick:
	kick(t);
}

/* Forget INST in the write batch (it is being expunged). */
static void undirty(struct tracker *t, struct tracker_instance *inst)
{
	if (!inst->dirty)
		return;
	for (size_t i = 0; i < t->n_dirty; i++)
		if (t->dirty[i] == inst)
			t->dirty[i] = t->dirty[--t->n_dirty];
	inst->dirty = false;
}

static void notify(struct tracker *t, const char *app_id)
{
	char *copy;

	if (strmap_get(t->notified, app_id) != NULL)
		goto out_kick;
	if (grow((void **)&t->notify, &t->cap_notify, t->n_notify + 1,
	         sizeof(*t->notify)) != 0 ||
	    (copy = strdup(app_id)) == NULL) {
		log_error("out of memory: a change of %s goes unnoticed",
		          app_id);
		goto out_kick;
	}
	if (strmap_put(t->notified, copy, copy) != 0) {
		log_error("out of memory: a change of %s goes unnoticed",
		          app_id);
		free(copy);
		goto out_kick;
	}
	t->notify[t->n_notify++] = copy;
out_kick:
	kick(t);
}

/* Bursts of launches and reports (a scale to 100,000 instances) leave
 * hundreds of MB of freed reports, JSON and keys in malloc's arenas; after
 * this many instance changes the tracker hands the free pages back, so
 * that RSS follows what is live. */
#define TRIM_CHANGES 20000

static void store_done(void *arg, int rc, const char *errmsg)
{
	(void)arg;
	if (rc != 0)
		log_error("cannot store instances: %s; they are written again "
		          "with the next batch",
		          errmsg);
}

/* Stored, with its current task id: it may launch. */
static bool stored(const struct tracker *t,
                   const struct tracker_instance *inst)
{
	return !inst->dirty && inst->write_seq <= t->stored_upto;
}

/* The state's news of an instance write (state_set_write_listener).
 * Writes complete in order, so a stored one stores all before it that
 * did not fail; a failed one's instances go into the next batch. */
static void on_write(void *arg, uint64_t seq, int rc)
{
	struct tracker *t = arg;

	if (rc == 0) {
		t->stored_upto = seq;
		if (sched_queue_size(t->queue) > 0)
			kick(t);
		return;
	}
	for (size_t a = 0; a < t->n_apps; a++) {
		struct tracker_app *ta = t->app_list[a];

		for (size_t i = 0; i < ta->n_instances; i++)
			if (ta->instances[i]->write_seq == seq)
				mark_dirty(t, ta->instances[i]);
	}
}

static struct state_instance *to_state(const struct tracker_instance *inst)
{
	struct state_instance *s = calloc(1, sizeof(*s));
	char ts[MODEL_TIMESTAMP_LEN];

	if (s == NULL)
		return NULL;
	s->instance_id = strdup(inst->instance_id);
	s->app_id = strdup(inst->app->id);
	s->app_version = strdup(inst->version);
	s->task_id = strdup(inst->task_id);
	s->incarnation = inst->incarnation;
	s->state = strdup(inst->condition);
	s->goal = inst->goal;
	if (inst->agent != NULL) {
		s->agent_id = strdup(inst->agent->id);
		s->hostname = strdup(inst->agent->hostname);
	}
	if (inst->n_host_ports > 0) {
		s->host_ports = malloc(inst->n_host_ports *
		                       sizeof(*s->host_ports));
		if (s->host_ports != NULL) {
			memcpy(s->host_ports, inst->host_ports,
			       inst->n_host_ports * sizeof(*s->host_ports));
			s->n_host_ports = inst->n_host_ports;
		}
	}
	if (inst->staged_at_ms > 0) {
		timestamp(inst->staged_at_ms, ts);
		s->staged_at = strdup(ts);
	}
	s->pid = inst->pid;
	s->start_ticks = inst->start_ticks;
	if (inst->sandbox != NULL)
		s->sandbox = strdup(inst->sandbox);
	if (s->instance_id == NULL || s->app_id == NULL ||
	    s->app_version == NULL || s->task_id == NULL || s->state == NULL) {
		state_instance_free(s);
		return NULL;
	}
	return s;
}

/* All dirty instances as one write, or none: what is not written stays
 * dirty and goes with a later batch (in a second, when the store refused
 * the write outright). */
static void flush_writes(struct tracker *t)
{
	struct state_instance **batch;
	struct stadion_err err = {0};
	size_t n = 0;
	uint64_t seq;

	if (t->n_dirty == 0)
		return;
	if ((batch = calloc(t->n_dirty, sizeof(*batch))) == NULL)
		goto fail;
	for (size_t i = 0; i < t->n_dirty; i++)
		if ((batch[n] = to_state(t->dirty[i])) != NULL)
			n++;
	if (n < t->n_dirty) {
		snprintf(err.msg, sizeof(err.msg), "out of memory");
		goto fail_free_batch;
	}
	if (state_put_instances(t->cfg.state, batch, n, store_done, NULL,
	                        &err) != 0)
		goto fail_free_batch;
	free(batch);
	seq = state_last_write(t->cfg.state);
	for (size_t i = 0; i < t->n_dirty; i++) {
		t->dirty[i]->dirty = false;
		t->dirty[i]->write_seq = seq;
	}
	t->n_dirty = 0;
	return;
fail_free_batch:
	for (size_t i = 0; i < n; i++)
		state_instance_free(batch[i]);
	free(batch);
fail:
	log_error("cannot store %zu instances: %s; retrying in a second",
	          t->n_dirty, err.msg[0] != '\0' ? err.msg : "out of memory");
	arm_delay(t, 1000);
}

/* ---- apps and instances ----------------------------------------------- */

static struct tracker_app *app_get(struct tracker *t, const char *app_id,
                                   bool create)
{
	struct tracker_app *ta = strmap_get(t->apps, app_id);

	if (ta != NULL || !create)
		return ta;
	if ((ta = calloc(1, sizeof(*ta))) == NULL)
		return NULL;
	if ((ta->app_id = strdup(app_id)) == NULL ||
	    grow((void **)&t->app_list, &t->cap_apps, t->n_apps + 1,
	         sizeof(*t->app_list)) != 0 ||
	    strmap_put(t->apps, ta->app_id, ta) != 0) {
		free(ta->app_id);
		free(ta);
		return NULL;
	}
	t->app_list[t->n_apps++] = ta;
	return ta;
}

static void failure_free(struct tracker_failure *f)
{
	if (f == NULL)
		return;
	free(f->app_id);
	free(f->host);
	free(f->message);
	free(f->state);
	free(f->task_id);
	free(f->timestamp);
	free(f->version);
	free(f->agent_id);
	free(f);
}

static void app_free(struct tracker_app *ta)
{
	free(ta->app_id);
	model_app_free(ta->current);
	free(ta->instances);
	failure_free(ta->last_failure);
	free(ta);
}

/* Drop TA when it has neither a definition nor instances. */
static void app_maybe_forget(struct tracker *t, struct tracker_app *ta)
{
	if (ta->current != NULL || ta->n_instances > 0)
		return;
	strmap_del(t->apps, ta->app_id);
	for (size_t i = 0; i < t->n_apps; i++)
		if (t->app_list[i] == ta) {
			memmove(&t->app_list[i], &t->app_list[i + 1],
			        (t->n_apps - i - 1) * sizeof(*t->app_list));
			t->n_apps--;
			break;
		}
	app_free(ta);
}

static void instance_free(struct tracker_instance *inst)
{
	if (inst == NULL)
		return;
	if (inst->health_results != NULL)
		json_object_put(inst->health_results);
	free(inst->instance_id);
	free(inst->task_id);
	free(inst->version);
	model_app_free(inst->app);
	free(inst->host_ports);
	free(inst->sandbox);
	free(inst);
}

static int instance_attach(struct tracker *t, struct tracker_app *ta,
                           struct tracker_instance *inst)
{
	if (grow((void **)&ta->instances, &ta->cap_instances,
	         ta->n_instances + 1, sizeof(*ta->instances)) != 0 ||
	    strmap_put(t->instances, inst->instance_id, inst) != 0)
		return -1;
	inst->tapp = ta;
	inst->index = ta->n_instances;
	ta->instances[ta->n_instances++] = inst;
	return 0;
}

/* INST's task is gone (or INST itself): its checks end, its verdict too. */
static void health_gone(struct tracker *t, struct tracker_instance *inst)
{
	if (t->health != NULL && t->health->gone != NULL)
		t->health->gone(t->health_arg, inst);
	inst->healthy = inst->unhealthy = false;
	if (inst->health_results != NULL)
		json_object_put(inst->health_results);
	inst->health_results = NULL;
}

static void instance_expunge(struct tracker *t, struct tracker_instance *inst)
{
	struct tracker_app *ta = inst->tapp;
	struct stadion_err err = {0};

	health_gone(t, inst);
	if (inst->has_task)
		strmap_del(t->tasks, inst->task_id);
	strmap_del(t->instances, inst->instance_id);
	ta->instances[inst->index] = ta->instances[--ta->n_instances];
	ta->instances[inst->index]->index = inst->index;
	undirty(t, inst);
	if (state_del_instance(t->cfg.state, inst->instance_id, store_done, NULL,
	                       &err) != 0)
		log_error("cannot delete instance %s: %s", inst->instance_id,
		          err.msg);
	notify(t, ta->app_id);
	instance_free(inst);
	app_maybe_forget(t, ta);
}

static const char *config_version(const struct app *app)
{
	return app->last_config_change_at != NULL ? app->last_config_change_at
	                                          : app->version;
}

static int queue_push(struct tracker *t, const struct app *app, uint32_t n)
{
	return sched_queue_push(t->queue, app->id, config_version(app), n,
	                        now_ms());
}

/* INST waits for a launch as its next incarnation. */
static int instance_reschedule(struct tracker *t,
                               struct tracker_instance *inst)
{
	char *task_id = sched_task_id_format(inst->instance_id,
	                                     (int64_t)inst->incarnation + 1);

	if (task_id == NULL)
		return -ENOMEM;
	if (inst->tapp->current != NULL && inst->app != inst->tapp->current) {
		/* Relaunches take the app's latest definition when its
		 * config is the same (a scale changed only the version). */
		const struct app *cur = inst->tapp->current;

		if (strcmp(config_version(cur), config_version(inst->app)) ==
		    0) {
			char *v = strdup(cur->version);

			if (v != NULL) {
				model_app_free(inst->app);
				inst->app = model_app_ref(cur);
				free(inst->version);
				inst->version = v;
			}
		}
	}
	free(inst->task_id);
	inst->task_id = task_id;
	inst->incarnation++;
	inst->condition = "Scheduled";
	inst->condition_since_ms = now_ms();
	inst->agent = NULL;
	free(inst->host_ports);
	inst->host_ports = NULL;
	inst->n_host_ports = 0;
	inst->staged_at_ms = inst->started_at_ms = 0;
	inst->pid = 0;
	inst->start_ticks = 0;
	free(inst->sandbox);
	inst->sandbox = NULL;
	inst->healthy = false;
	inst->tapp->n_scheduled++;
	mark_dirty(t, inst);
	return queue_push(t, inst->app, 1);
}

static struct tracker_instance *instance_new(const struct app *app)
{
	struct tracker_instance *inst = calloc(1, sizeof(*inst));

	if (inst == NULL)
		return NULL;
	inst->instance_id = sched_instance_id_new(app->id);
	inst->version = strdup(app->version != NULL ? app->version : "");
	if (inst->instance_id == NULL || inst->version == NULL) {
		instance_free(inst);
		return NULL;
	}
	inst->app = model_app_ref(app);
	inst->goal = STATE_GOAL_RUNNING;
	return inst;
}

int tracker_schedule(struct tracker *t, const struct app *app, uint32_t n)
{
	struct tracker_app *ta = app_get(t, app->id, true);

	if (ta == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct tracker_instance *inst = instance_new(app);

		if (inst == NULL || instance_attach(t, ta, inst) != 0) {
			instance_free(inst);
			return -ENOMEM;
		}
		/* incarnation 0 -> the first task is incarnation 1 */
		if (instance_reschedule(t, inst) != 0)
			return -ENOMEM;
	}
	notify(t, app->id);
	return 0;
}

int tracker_set_app(struct tracker *t, const struct app *app)
{
	struct tracker_app *ta = app_get(t, app->id, true);

	if (ta == NULL)
		return -ENOMEM;
	model_app_free(ta->current);
	ta->current = model_app_ref(app);
	for (size_t i = 0; i < ta->n_instances; i++) {
		struct tracker_instance *inst = ta->instances[i];
		char *v;

		if (inst->has_task || inst->goal != STATE_GOAL_RUNNING ||
		    inst->app == app ||
		    strcmp(config_version(app), config_version(inst->app)) != 0 ||
		    (v = strdup(app->version)) == NULL)
			continue;
		model_app_free(inst->app);
		inst->app = model_app_ref(app);
		free(inst->version);
		inst->version = v;
	}
	notify(t, app->id);
	return 0;
}

static void unschedule(struct tracker *t, struct tracker_instance *inst)
{
	if (inst->has_task || strcmp(inst->condition, "Scheduled") != 0)
		return;
	inst->tapp->n_scheduled--;
	sched_queue_launched(t->queue, inst->tapp->app_id, 1);
	inst->condition = "Killed";
}

void tracker_decommission(struct tracker *t, struct tracker_instance *inst)
{
	if (inst->goal == STATE_GOAL_DECOMMISSIONED)
		return;
	inst->goal = STATE_GOAL_DECOMMISSIONED;
	if (!inst->has_task) {
		unschedule(t, inst);
		instance_expunge(t, inst);
		return;
	}
	if (driver_kill(t->cfg.driver, inst->task_id, -1) != 0)
		log_warn("cannot kill task %s: %s", inst->task_id,
		         strerror(errno));
	mark_dirty(t, inst);
	notify(t, inst->tapp->app_id);
}

void tracker_kill_task(struct tracker *t, struct tracker_instance *inst)
{
	if (!inst->has_task)
		return;
	if (driver_kill(t->cfg.driver, inst->task_id, -1) != 0)
		log_warn("cannot kill task %s: %s", inst->task_id,
		         strerror(errno));
}

void tracker_stop_app(struct tracker *t, const char *app_id)
{
	struct tracker_app *ta = app_get(t, app_id, false);

	if (ta == NULL)
		return;
	sched_queue_remove(t->queue, app_id);
	sched_backoff_reset_app(t->backoff, app_id);
	model_app_free(ta->current);
	ta->current = NULL;
	/* Expunging may free TA with its last instance: walk backwards over
	 * a count taken now and re-read the app each time. */
	for (size_t i = ta->n_instances; i-- > 0;) {
		ta = app_get(t, app_id, false);
		if (ta == NULL || i >= ta->n_instances)
			continue;
		tracker_decommission(t, ta->instances[i]);
	}
	if ((ta = app_get(t, app_id, false)) != NULL)
		app_maybe_forget(t, ta);
	notify(t, app_id);
}

/* ---- launching -------------------------------------------------------- */

/* Waits for a launch, and may have it now. */
static bool launchable(const struct tracker *t,
                       const struct tracker_instance *inst)
{
	return !inst->has_task && inst->goal == STATE_GOAL_RUNNING &&
	       strcmp(inst->condition, "Scheduled") == 0 && stored(t, inst);
}

static struct tracker_instance *next_scheduled(const struct tracker *t,
                                               struct tracker_app *ta,
                                               const struct app *app,
                                               size_t *from)
{
	for (; *from < ta->n_instances; (*from)++) {
		struct tracker_instance *inst = ta->instances[*from];

		if (inst->app == app && launchable(t, inst))
			return inst;
	}
	return NULL;
}

static void launch_failed(struct tracker *t, struct tracker_instance *inst,
                          const char *why)
{
	struct sched_backoff_strategy st = {
		.backoff_seconds = inst->app->backoff_seconds,
		.factor = inst->app->backoff_factor,
		.max_launch_delay_seconds = inst->app->max_launch_delay_seconds,
	};
	struct sched_backoff_key key = {inst->app->id,
	                                config_version(inst->app)};

	log_warn("cannot launch task %s: %s", inst->task_id, why);
	sched_backoff_raise(t->backoff, &key, &st, now_ms(), NULL);
}

/* Launch the placements of one definition APP of TA. */
static void launch_placed(struct tracker *t, struct tracker_app *ta,
                          const struct app *app,
                          const struct driver_offer *offers,
                          const size_t *offer_idx, const uint32_t *ports,
                          size_t n_ports, uint32_t placed)
{
	size_t from = 0;
	uint32_t launched = 0;

	for (uint32_t j = 0; j < placed; j++) {
		struct tracker_instance *inst = next_scheduled(t, ta, app, &from);
		const struct driver_offer *o = &offers[offer_idx[j]];
		struct sched_task_params p = {
			.task_id = NULL,
			.agent_id = o->agent->id,
			.hostname = o->agent->hostname,
			.host_ports = ports + (size_t)j * n_ports,
			.n_host_ports = n_ports,
			.env_prefix = t->cfg.env_prefix,
		};
		struct sched_task *task = NULL;
		struct driver_launch_record rec = {0};
		char err[256];

		if (inst == NULL)
			break;
		from++;
		p.task_id = inst->task_id;
		if (sched_task_build(app, &p, &task) != 0) {
			launch_failed(t, inst, "out of memory");
			continue;
		}
		if (driver_launch(t->cfg.driver, &task->spec, err,
		                  sizeof(err)) != 0) {
			launch_failed(t, inst, err);
			sched_task_free(task);
			continue;
		}
		inst->has_task = true;
		inst->task_state = DRIVER_TASK_STAGING;
		inst->condition = "Staging";
		inst->agent = o->agent;
		inst->staged_at_ms = inst->condition_since_ms = now_ms();
		if (n_ports > 0 &&
		    (inst->host_ports = malloc(n_ports * sizeof(uint32_t))) !=
		            NULL) {
			memcpy(inst->host_ports, p.host_ports,
			       n_ports * sizeof(uint32_t));
			inst->n_host_ports = n_ports;
		}
		if (driver_launch_record(t->cfg.driver, inst->task_id, &rec) ==
		    0) {
			inst->pid = rec.pid;
			inst->start_ticks = rec.start_ticks;
			if (rec.sandbox != NULL)
				inst->sandbox = strdup(rec.sandbox);
		}
		if (strmap_put(t->tasks, inst->task_id, inst) != 0)
			log_error("out of memory: task %s untracked",
			          inst->task_id);
		ta->n_scheduled--;
		launched++;
		if (!t->cfg.lose_launch_writes)
			mark_dirty(t, inst);
		sched_task_free(task);
	}
	if (launched > 0) {
		sched_queue_launched(t->queue, ta->app_id, launched);
		notify(t, ta->app_id);
	}
}

/* One launch round: the offers, the matcher's pool over them, and how
 * long the round may keep the loop. */
struct round {
	struct driver_offer *offers;
	size_t n_offers;
	struct sched_match_pool *pool;
	const struct driver_agent *agents; /* the driver's array */
	size_t n_agents;
	size_t *offer_of_agent;            /* agent index -> offer index */
	int64_t deadline_ms;
	bool more;                         /* stopped at the deadline */
};

/* A round launches for at most this long, then lets the loop serve the
 * API (the answer to the POST that started 1,000 launches among it) and
 * goes on in the next iteration. */
#define ROUND_BUDGET_MS 50
/* The first chunk of placements of an app in a round; later chunks are
 * sized to the rest of the budget at the pace measured, so simulated
 * launches go in big chunks and real ones (a posix_spawn each) in small
 * ones. */
#define ROUND_FIRST_CHUNK 4

static int round_open(struct tracker *t, struct round *r)
{
	if (driver_offers(t->cfg.driver, &r->offers, &r->n_offers) != 0 ||
	    driver_agents(t->cfg.driver, &r->agents, &r->n_agents) != 0)
		return -1;
	if ((r->pool = sched_match_pool_new(r->offers, r->n_offers)) == NULL ||
	    (r->offer_of_agent = calloc(r->n_agents + 1,
	                                sizeof(*r->offer_of_agent))) == NULL)
		return -1;
	for (size_t a = 0; a < r->n_agents; a++)
		r->offer_of_agent[a] = r->n_offers;
	for (size_t i = 0; i < r->n_offers; i++) {
		size_t a = (size_t)(r->offers[i].agent - r->agents);

		if (a < r->n_agents)
			r->offer_of_agent[a] = i;
	}
	return 0;
}

static void round_close(struct round *r)
{
	sched_match_pool_free(r->pool);
	if (r->offers != NULL)
		driver_offers_free(r->offers, r->n_offers);
	free(r->offer_of_agent);
}

/* Match and launch up to COUNT scheduled instances of definition APP of
 * TA, in chunks, until they are placed, nothing more fits or the round's
 * time is up. */
static void launch_app(struct tracker *t, struct tracker_app *ta,
                       const struct app *app, uint32_t count,
                       struct round *r, struct sched_queue_entry *entry)
{
	struct sched_match_demand demand = {0};
	uint32_t *existing = calloc(r->n_offers + 1, sizeof(*existing));
	uint32_t chunk = ROUND_FIRST_CHUNK;
	size_t *idx = NULL;
	uint32_t *ports = NULL;
	struct sched_match_hook hook;
	struct sched_place_run *prun;

	if (existing == NULL || sched_match_demand_from_app(app, &demand) != 0)
		goto out_free;
	if ((idx = calloc(count, sizeof(*idx))) == NULL ||
	    (demand.n_host_ports > 0 &&
	     (ports = calloc((size_t)count * demand.n_host_ports,
	                     sizeof(*ports))) == NULL))
		goto out_release;
	while (count > 0) {
		uint32_t n = count < chunk ? count : chunk, placed = 0;
		struct sched_match_request req = {
			.demand = &demand,
			.count = n,
			.existing = existing,
			.stats = entry != NULL ? &entry->stats : NULL,
			.now_ms = now_ms(),
		};

		memset(existing, 0, (r->n_offers + 1) * sizeof(*existing));
		for (size_t i = 0; i < ta->n_instances; i++) {
			const struct tracker_instance *inst = ta->instances[i];
			size_t a;

			if (!inst->has_task || inst->agent == NULL)
				continue;
			a = (size_t)(inst->agent - r->agents);
			existing[a < r->n_agents ? r->offer_of_agent[a]
			                         : r->n_offers]++;
		}
		int64_t started = now_ms(), took, left;

		/* Placement constraints (sched_place): the operators'
		 * hook, over the counts of this chunk. */
		if (sched_place_run_new(t->cfg.place, app, r->offers,
		                        r->n_offers, existing, n, &prun,
		                        &hook) != 0)
			break;
		req.hook = prun != NULL ? &hook : NULL;
		if (sched_match_run(r->pool, &req, idx, ports, &placed) != 0 ||
		    placed == 0) {
			sched_place_run_free(prun);
			break;
		}
		sched_place_run_free(prun);
		launch_placed(t, ta, app, r->offers, idx, ports,
		              demand.n_host_ports, placed);
		if (placed < n)
			break; /* the offers are used up */
		count -= placed;
		took = now_ms() - started;
		if ((left = r->deadline_ms - now_ms()) <= 0) {
			r->more = count > 0;
			break;
		}
		/* The next chunk fits in what is left of the budget at this
		 * chunk's pace. */
		if (took > 0)
			chunk = (uint32_t)((int64_t)placed * left / took) + 1;
		else if (chunk < (1u << 20))
			chunk *= 2;
	}
out_release:
	sched_match_demand_release(&demand);
out_free:
	free(ports);
	free(idx);
	free(existing);
}

static void arm_delay(struct tracker *t, int64_t wait_ms)
{
	struct timeval tv = {.tv_sec = wait_ms / 1000,
	                     .tv_usec = (wait_ms % 1000) * 1000};

	if (wait_ms < 0)
		return;
	if (evtimer_pending(t->delay_ev, NULL)) {
		struct timeval at, now;

		evtimer_pending(t->delay_ev, &at);
		event_base_gettimeofday_cached(t->cfg.base, &now);
		if ((at.tv_sec - now.tv_sec) * 1000 +
		            (at.tv_usec - now.tv_usec) / 1000 <=
		    wait_ms)
			return;
	}
	evtimer_add(t->delay_ev, &tv);
}

/* Launch what TA has scheduled, one match per definition (scheduled
 * instances usually share one; after a restart some may still run an
 * older one). */
static void launch_app_all(struct tracker *t, struct tracker_app *ta,
                           struct round *r)
{
	const struct app *done[8];
	size_t n_done = 0;

	for (size_t i = 0; i < ta->n_instances && ta->n_scheduled > 0 &&
	                   n_done < sizeof(done) / sizeof(*done) && !r->more;
	     i++) {
		struct tracker_instance *inst = ta->instances[i];
		const struct app *app = inst->app;
		uint32_t count = 0;
		bool seen = false;

		if (!launchable(t, inst))
			continue;
		for (size_t k = 0; k < n_done; k++)
			seen |= done[k] == app;
		if (seen)
			continue;
		done[n_done++] = app;
		for (size_t k = i; k < ta->n_instances; k++) {
			const struct tracker_instance *o = ta->instances[k];

			if (o->app == app && launchable(t, o))
				count++;
		}
		launch_app(t, ta, app, count, r,
		           sched_queue_find(t->queue, ta->app_id));
	}
}

/* Returns whether it stopped at its deadline with launches left. */
static bool launch_round(struct tracker *t)
{
	struct round r = {.deadline_ms = now_ms() + ROUND_BUDGET_MS};
	size_t n_ids = sched_queue_size(t->queue);
	int64_t now = now_ms(), wait = -1;
	bool opened = false;
	char **ids;

	if (n_ids == 0)
		return false;
	/* Launches drop entries from the queue: walk a copy of its ids. */
	if ((ids = calloc(n_ids, sizeof(*ids))) == NULL)
		return false;
	for (size_t q = 0; q < n_ids; q++)
		ids[q] = strdup(sched_queue_at(t->queue, q)->app_id);
	for (size_t q = 0; q < n_ids && !r.more; q++) {
		struct sched_queue_entry *e;
		struct tracker_app *ta;
		struct sched_backoff_key key;
		int64_t left;

		if (ids[q] == NULL ||
		    (e = sched_queue_find(t->queue, ids[q])) == NULL)
			continue;
		if ((ta = app_get(t, ids[q], false)) == NULL ||
		    ta->n_scheduled == 0) {
			sched_queue_remove(t->queue, ids[q]);
			continue;
		}
		key = sched_queue_entry_key(e);
		if ((left = sched_backoff_time_left_ms(t->backoff, &key, now)) >
		    0) {
			if (wait < 0 || left < wait)
				wait = left;
			continue;
		}
		if (!opened) {
			opened = true;
			if (round_open(t, &r) != 0) {
				log_error("cannot get offers: %s",
				          strerror(errno));
				break;
			}
		}
		launch_app_all(t, ta, &r);
	}
	arm_delay(t, wait);
	round_close(&r);
	for (size_t q = 0; q < n_ids; q++)
		free(ids[q]);
	free(ids);
	return r.more;
}

/* One callback runs all deferred work: listener calls first (they may
 * schedule and kill), then launches, then the writes of all of it. */
static void round_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker *t = arg;

	(void)fd;
	(void)what;
	for (int pass = 0; pass < 4 && t->n_notify > 0; pass++) {
		char **ids = t->notify;
		size_t n = t->n_notify;

		t->notify = NULL;
		t->n_notify = t->cap_notify = 0;
		for (size_t i = 0; i < n; i++)
			strmap_del(t->notified, ids[i]);
		for (size_t i = 0; i < n; i++) {
			if (t->cfg.listen != NULL)
				t->cfg.listen(t->cfg.listen_arg, ids[i]);
			free(ids[i]);
		}
		free(ids);
	}
	if (t->recovered != NULL && !t->recovering && t->n_adopting == 0) {
		tracker_recovered_fn *fn = t->recovered;

		t->recovered = NULL;
		fn(t->recovered_arg);
	}
	if (launch_round(t))
		kick(t); /* the rest, after the loop has served the API */
	flush_writes(t);
	if (t->generation - t->trimmed_at >= TRIM_CHANGES) {
		t->trimmed_at = t->generation;
		malloc_trim(0);
	}
	/* And once more when a burst is over. */
	if (t->generation != t->trimmed_at &&
	    !evtimer_pending(t->trim_ev, NULL)) {
		struct timeval one_s = {1, 0};

		evtimer_add(t->trim_ev, &one_s);
	}
}

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker *t = arg;

	(void)fd;
	(void)what;
	if (t->generation - t->trimmed_at >= TRIM_CHANGES / 100) {
		t->trimmed_at = t->generation;
		malloc_trim(0);
	}
}

static void delay_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kick(arg);
}

/* ---- status reports --------------------------------------------------- */

static const char *condition_of(enum driver_task_state s)
{
	switch (s) {
	case DRIVER_TASK_STAGING: return "Staging";
	case DRIVER_TASK_STARTING: return "Starting";
	case DRIVER_TASK_RUNNING: return "Running";
	case DRIVER_TASK_KILLING: return "Killing";
	case DRIVER_TASK_FINISHED: return "Finished";
	case DRIVER_TASK_FAILED: return "Failed";
	case DRIVER_TASK_KILLED: return "Killed";
	case DRIVER_TASK_LOST: return "Gone";
	case DRIVER_TASK_ERROR: return "Error";
	}
	return "Unknown";
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void record_failure(struct tracker_instance *inst,
                           const struct driver_status *st)
{
	struct tracker_failure *f = calloc(1, sizeof(*f));
	char ts[MODEL_TIMESTAMP_LEN];

	if (f == NULL)
		return;
	model_timestamp_format((int64_t)(st->timestamp * 1000), ts);
	f->app_id = strdup(inst->app->id);
	f->host = dup_or_null(inst->agent != NULL ? inst->agent->hostname
	                                          : NULL);
	f->message = strdup(st->message != NULL ? st->message : "");
	f->state = strdup(driver_task_state_name(st->state));
	f->task_id = strdup(st->task_id);
	f->timestamp = strdup(ts);
	f->version = strdup(inst->version);
	f->agent_id = dup_or_null(st->agent_id);
	failure_free(inst->tapp->last_failure);
	inst->tapp->last_failure = f;
}

static void on_status(const struct driver_status *st, void *arg)
{
	struct tracker *t = arg;
	struct tracker_instance *inst = strmap_get(t->tasks, st->task_id);
	const char *cond = condition_of(st->state);
	bool changed;

	if (inst == NULL) {
		/* A task nobody wants (its instance was expunged while the
		 * report was on its way, or a stranger): make sure it dies. */
		if (!driver_task_state_terminal(st->state))
			driver_kill(t->cfg.driver, st->task_id, 0);
		return;
	}
	if (inst->adopting) {
		inst->adopting = false;
		t->n_adopting--;
		kick(t);
	}
	changed = strcmp(cond, inst->condition) != 0;
	inst->task_state = st->state;
	inst->condition = cond;
	if (changed) {
		struct sched_backoff_strategy bs = {
			.backoff_seconds = inst->app->backoff_seconds,
			.factor = inst->app->backoff_factor,
			.max_launch_delay_seconds =
				inst->app->max_launch_delay_seconds,
		};
		struct sched_backoff_key key = {inst->app->id,
		                                config_version(inst->app)};

		inst->condition_since_ms = now_ms();
		if (inst->goal == STATE_GOAL_RUNNING)
			sched_backoff_notify(t->backoff, &key, &bs, cond,
			                     now_ms());
	}
	if (st->state == DRIVER_TASK_RUNNING) {
		if (inst->started_at_ms == 0)
			inst->started_at_ms = now_ms();
		if (!tracker_app_has_health_checks(inst->app) &&
		    !tracker_app_has_readiness_checks(inst->app))
			inst->healthy = true;
		else if (changed && t->health != NULL &&
		         t->health->running != NULL)
			t->health->running(t->health_arg, inst);
	}
	if (!driver_task_state_terminal(st->state)) {
		if (changed)
			notify(t, inst->tapp->app_id);
		return;
	}
	if (st->state == DRIVER_TASK_FAILED || st->state == DRIVER_TASK_ERROR ||
	    st->state == DRIVER_TASK_LOST)
		record_failure(inst, st);
	health_gone(t, inst);
	strmap_del(t->tasks, inst->task_id);
	inst->has_task = false;
	if (inst->goal != STATE_GOAL_RUNNING) {
		instance_expunge(t, inst);
		return;
	}
	if (instance_reschedule(t, inst) != 0)
		log_error("out of memory: instance %s not relaunched",
		          inst->instance_id);
	notify(t, inst->tapp->app_id);
}

/* ---- life cycle ------------------------------------------------------- */

struct tracker *tracker_new(const struct tracker_config *cfg)
{
	struct tracker *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cfg = *cfg;
	t->apps = strmap_new();
	t->instances = strmap_new();
	t->tasks = strmap_new();
	t->notified = strmap_new();
	t->queue = sched_queue_new();
	t->backoff = sched_backoff_new();
	t->round_ev = evtimer_new(cfg->base, round_cb, t);
	t->delay_ev = evtimer_new(cfg->base, delay_cb, t);
	t->trim_ev = evtimer_new(cfg->base, trim_cb, t);
	if (t->apps == NULL || t->instances == NULL || t->tasks == NULL ||
	    t->notified == NULL || t->queue == NULL || t->backoff == NULL || t->round_ev == NULL ||
	    t->delay_ev == NULL || t->trim_ev == NULL) {
		tracker_free(t);
		return NULL;
	}
	driver_set_status_cb(cfg->driver, on_status, t);
	state_set_write_listener(cfg->state, on_write, t);
	return t;
}

void tracker_detach(struct tracker *t)
{
	if (t == NULL)
		return;
	if (t->cfg.driver != NULL)
		driver_set_status_cb(t->cfg.driver, NULL, NULL);
	if (t->cfg.state != NULL)
		state_set_write_listener(t->cfg.state, NULL, NULL);
	t->cfg.driver = NULL;
	t->cfg.state = NULL;
	if (t->round_ev != NULL)
		event_free(t->round_ev);
	if (t->delay_ev != NULL)
		event_free(t->delay_ev);
	if (t->trim_ev != NULL)
		event_free(t->trim_ev);
	t->round_ev = t->delay_ev = t->trim_ev = NULL;
}

void tracker_free(struct tracker *t)
{
	if (t == NULL)
		return;
	tracker_detach(t);
	for (size_t i = 0; i < t->n_apps; i++) {
		struct tracker_app *ta = t->app_list[i];

		for (size_t k = 0; k < ta->n_instances; k++)
			instance_free(ta->instances[k]);
		app_free(ta);
	}
	free(t->app_list);
	recover_defs_clear(t);
	for (size_t i = 0; i < t->n_notify; i++)
		free(t->notify[i]);
	free(t->notify);
	free(t->dirty);
	strmap_free(t->apps);
	strmap_free(t->instances);
	strmap_free(t->tasks);
	strmap_free(t->notified);
	sched_queue_free(t->queue);
	sched_backoff_free(t->backoff);
	free(t);
}

static const struct driver_agent *find_agent(struct tracker *t,
                                             const char *agent_id)
{
	const struct driver_agent *agents;
	size_t n;

	if (agent_id == NULL ||
	    driver_agents(t->cfg.driver, &agents, &n) != 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(agents[i].id, agent_id) == 0)
			return &agents[i];
	return NULL;
}

/* Re-attach SI's task; false when there is none to adopt. */
static bool adopt(struct tracker *t, struct tracker_instance *inst,
                  const struct state_instance *si)
{
	const struct driver_agent *agent = find_agent(t, si->agent_id);
	struct driver_task_spec spec = {
		.task_id = si->task_id,
		.agent_id = si->agent_id,
		.cpus = inst->app->cpus,
		.mem = inst->app->mem,
		.disk = inst->app->disk,
		.ports = si->host_ports,
		.n_ports = si->n_host_ports,
		.kill_grace_ms = inst->app->task_kill_grace_period_seconds > 0
		                         ? inst->app->task_kill_grace_period_seconds *
		                                   1000
		                         : -1,
	};
	struct driver_launch_record rec = {.pid = (pid_t)si->pid,
	                                   .start_ticks = si->start_ticks};
	char err[256];

	if (agent == NULL || (si->pid == 0 && !agent->simulated) ||
	    strcmp(si->state, "Scheduled") == 0)
		return false;
	if (driver_adopt(t->cfg.driver, &spec, &rec, err, sizeof(err)) != 0) {
		log_warn("cannot adopt task %s: %s", si->task_id, err);
		return false;
	}
	inst->has_task = true;
	inst->task_state = DRIVER_TASK_STAGING;
	inst->condition = "Staging";
	inst->agent = agent;
	inst->pid = si->pid;
	inst->start_ticks = si->start_ticks;
	if (si->n_host_ports > 0 &&
	    (inst->host_ports = malloc(si->n_host_ports * sizeof(uint32_t))) !=
	            NULL) {
		memcpy(inst->host_ports, si->host_ports,
		       si->n_host_ports * sizeof(uint32_t));
		inst->n_host_ports = si->n_host_ports;
	}
	inst->sandbox = dup_or_null(si->sandbox);
	inst->staged_at_ms = now_ms();
	return strmap_put(t->tasks, inst->task_id, inst) == 0;
}

/* Stored as Scheduled, yet it may have been started after that was
 * stored and before its launch was (a leader killed in between): what
 * the launch left on the host says, and the task is adopted rather than
 * killed as a stranger and started again. */
static bool adopt_launched(struct tracker *t, struct tracker_instance *inst,
                           const struct state_instance *si)
{
	struct driver_found_launch f;
	struct driver_launch_record rec;
	struct state_instance view;

	if (strcmp(si->state, "Scheduled") != 0 ||
	    driver_find_launch(t->cfg.driver, si->task_id, &f) != 0)
		return false;
	view = *si;
	view.state = (char *)"Staging";
	view.agent_id = f.agent_id;
	view.pid = f.pid;
	view.start_ticks = f.start_ticks;
	view.host_ports = f.ports;
	view.n_host_ports = f.n_ports;
	view.sandbox = NULL;
	log_info("task %s was started but its launch was not stored; "
	         "adopting it",
	         si->task_id);
	if (!adopt(t, inst, &view))
		return false;
	if (driver_launch_record(t->cfg.driver, si->task_id, &rec) == 0)
		inst->sandbox = dup_or_null(rec.sandbox);
	/* The launch, stored at last. */
	mark_dirty(t, inst);
	return true;
}

/* An app version that recovering instances ran, read back from the
 * state (the snapshot holds the current definitions only). */
struct recover_def {
	struct tracker *t;     /* NULL once the tracker is gone */
	char *app_id, *version;
	struct app *app;       /* NULL until read, or when it cannot be */
	bool pending;
};

static void recover_def_free(struct recover_def *d)
{
	free(d->app_id);
	free(d->version);
	model_app_free(d->app);
	free(d);
}

static void recover_defs_clear(struct tracker *t)
{
	for (size_t i = 0; i < t->n_rdefs; i++) {
		if (t->rdefs[i]->pending)
			t->rdefs[i]->t = NULL; /* it frees itself */
		else
			recover_def_free(t->rdefs[i]);
	}
	free(t->rdefs);
	t->rdefs = NULL;
	t->n_rdefs = 0;
}

/* The definition SI ran: the version it was launched with when it could
 * be read back, else the app's current one. */
static const struct app *recover_def_of(const struct tracker *t,
                                        const struct state_instance *si,
                                        const struct app *current)
{
	for (size_t i = 0; i < t->n_rdefs; i++) {
		const struct recover_def *d = t->rdefs[i];

		if (d->app != NULL && strcmp(d->app_id, si->app_id) == 0 &&
		    strcmp(d->version, si->app_version) == 0)
			return d->app;
	}
	return current;
}

/* Phase 2 of tracker_recover: the instances, with their definitions. */
static int recover_instances(struct tracker *t)
{
	const struct state_snapshot *snap = state_snapshot(t->cfg.state);

	for (size_t i = 0; i < snap->n_instances; i++) {
		const struct state_instance *si = snap->instances[i];
		const struct app *app = state_app(t->cfg.state, si->app_id);
		struct tracker_instance *inst;
		struct tracker_app *ta;

		if (app == NULL) {
			/* Its app is gone: nothing may keep running. */
			log_warn("instance %s belongs to no app; its task is "
			         "killed",
			         si->instance_id);
			if (si->task_id != NULL)
				driver_kill(t->cfg.driver, si->task_id, 0);
			state_del_instance(t->cfg.state, si->instance_id,
			                   store_done, NULL, NULL);
			continue;
		}
		if ((inst = calloc(1, sizeof(*inst))) == NULL ||
		    (inst->instance_id = strdup(si->instance_id)) == NULL ||
		    (inst->task_id = strdup(si->task_id)) == NULL ||
		    (inst->version = strdup(si->app_version)) == NULL ||
		    (ta = app_get(t, app->id, true)) == NULL) {
			instance_free(inst);
			return -ENOMEM;
		}
		/* Its own definition: the resources the driver accounts for
		 * an adopted task are those it was started with. */
		inst->app = model_app_ref(recover_def_of(t, si, app));
		inst->incarnation = si->incarnation;
		inst->goal = si->goal;
		inst->condition = "Scheduled";
		if (instance_attach(t, ta, inst) != 0) {
			instance_free(inst);
			return -ENOMEM;
		}
		if (adopt(t, inst, si) || adopt_launched(t, inst, si)) {
			inst->adopting = true;
			t->n_adopting++;
			if (inst->goal != STATE_GOAL_RUNNING)
				driver_kill(t->cfg.driver, inst->task_id, -1);
			continue;
		}
		if (inst->goal != STATE_GOAL_RUNNING)
			instance_expunge(t, inst);
		else if (instance_reschedule(t, inst) != 0)
			return -ENOMEM;
	}
	recover_defs_clear(t);
	t->recovering = false;
	kick(t);
	return 0;
}

static void recover_def_read(void *arg, int rc, struct app *app,
                             const char *errmsg)
{
	struct recover_def *d = arg;
	struct tracker *t = d->t;

	d->pending = false;
	if (t == NULL) {
		model_app_free(app);
		recover_def_free(d);
		return;
	}
	if (rc != 0)
		log_warn("cannot read version %s of %s (%s): its instances "
		         "are accounted with the current definition",
		         d->version, d->app_id, errmsg);
	d->app = app;
	if (--t->rdefs_pending == 0 && recover_instances(t) != 0)
		log_error("out of memory while recovering instances; restart "
		          "stadiond");
}

int tracker_recover(struct tracker *t, tracker_recovered_fn *done, void *arg)
{
	const struct state_snapshot *snap = state_snapshot(t->cfg.state);

	t->recovered = done;
	t->recovered_arg = arg;
	t->recovering = true;
	for (size_t i = 0; i < snap->n_apps; i++)
		if (tracker_set_app(t, snap->apps[i]) != 0)
			return -ENOMEM;
	/* Phase 1: read the older versions instances still run. */
	for (size_t i = 0; i < snap->n_instances; i++) {
		const struct state_instance *si = snap->instances[i];
		const struct app *app = state_app(t->cfg.state, si->app_id);
		struct stadion_err err = {0};
		struct recover_def *d;
		bool have = false;

		if (app == NULL || app->version == NULL ||
		    strcmp(app->version, si->app_version) == 0)
			continue;
		for (size_t k = 0; k < t->n_rdefs && !have; k++)
			have = strcmp(t->rdefs[k]->app_id, si->app_id) == 0 &&
			       strcmp(t->rdefs[k]->version, si->app_version) ==
			               0;
		if (have)
			continue;
		if (grow((void **)&t->rdefs, &t->cap_rdefs, t->n_rdefs + 1,
		         sizeof(*t->rdefs)) != 0 ||
		    (d = calloc(1, sizeof(*d))) == NULL)
			return -ENOMEM;
		d->t = t;
		d->app_id = strdup(si->app_id);
		d->version = strdup(si->app_version);
		t->rdefs[t->n_rdefs++] = d;
		if (d->app_id == NULL || d->version == NULL)
			return -ENOMEM;
		if (state_read_app(t->cfg.state, d->app_id, d->version,
		                   recover_def_read, d, &err) != 0) {
			log_warn("cannot read version %s of %s (%s)",
			         d->version, d->app_id, err.msg);
			continue;
		}
		d->pending = true;
		t->rdefs_pending++;
	}
	return t->rdefs_pending == 0 ? recover_instances(t) : 0;
}

/* ---- queries ---------------------------------------------------------- */

void tracker_set_listener(struct tracker *t, tracker_listen_fn *fn,
                          void *arg)
{
	t->cfg.listen = fn;
	t->cfg.listen_arg = arg;
}

struct tracker_app *tracker_app(const struct tracker *t, const char *app_id)
{
	return strmap_get(t->apps, app_id);
}

void tracker_apps(const struct tracker *t, struct tracker_app ***apps_r,
                  size_t *n_r)
{
	*apps_r = t->app_list;
	*n_r = t->n_apps;
}

struct tracker_instance *tracker_instance(const struct tracker *t,
                                          const char *instance_id)
{
	return strmap_get(t->instances, instance_id);
}

struct tracker_instance *tracker_instance_by_task(const struct tracker *t,
                                                  const char *task_id)
{
	struct tracker_instance *inst = strmap_get(t->tasks, task_id);
	struct sched_task_ref ref;

	if (inst != NULL)
		return inst;
	/* A Scheduled instance has no task in the table; its next task id
	 * still names it. */
	if (sched_task_ref_parse(task_id, &ref) != 0)
		return NULL;
	inst = strmap_get(t->instances, ref.instance_id);
	sched_task_ref_clear(&ref);
	return inst != NULL && strcmp(inst->task_id, task_id) == 0 ? inst
	                                                           : NULL;
}

bool tracker_instance_is_old(const struct tracker_instance *inst,
                             const struct app *app)
{
	return strcmp(inst->version, config_version(app)) < 0;
}

void tracker_counts(const struct tracker_app *ta, struct tracker_counts *c_r)
{
	*c_r = (struct tracker_counts){0};
	if (ta == NULL)
		return;
	for (size_t i = 0; i < ta->n_instances; i++) {
		const struct tracker_instance *inst = ta->instances[i];

		if (!inst->has_task)
			continue;
		switch (inst->task_state) {
		case DRIVER_TASK_STAGING:
		case DRIVER_TASK_STARTING:
			c_r->staged++;
			break;
		case DRIVER_TASK_RUNNING:
			c_r->running++;
			break;
		default:
			break;
		}
		/* Marathon counts health only for apps with health
		 * checks. */
		if (tracker_app_has_health_checks(inst->app)) {
			c_r->healthy += inst->healthy;
			c_r->unhealthy += inst->unhealthy;
		}
	}
}

bool tracker_app_has_health_checks(const struct app *app)
{
	return app->health_checks != NULL &&
	       json_object_is_type(app->health_checks, json_type_array) &&
	       json_object_array_length(app->health_checks) > 0;
}

bool tracker_app_has_readiness_checks(const struct app *app)
{
	struct json_object *rcs = NULL;

	return json_object_object_get_ex(app->json, "readinessChecks", &rcs) &&
	       json_object_is_type(rcs, json_type_array) &&
	       json_object_array_length(rcs) > 0;
}

void tracker_set_health_hooks(struct tracker *t,
                              const struct tracker_health_hooks *hooks,
                              void *arg)
{
	t->health = hooks;
	t->health_arg = arg;
}

void tracker_set_health(struct tracker *t, struct tracker_instance *inst,
                        bool healthy, bool unhealthy,
                        struct json_object *results)
{
	bool changed = inst->healthy != healthy || inst->unhealthy != unhealthy;

	if (inst->health_results != NULL)
		json_object_put(inst->health_results);
	inst->health_results = results;
	inst->healthy = healthy;
	inst->unhealthy = unhealthy;
	/* Timestamps moved: listings must not be served from the cache. */
	t->generation++;
	if (changed)
		notify(t, inst->tapp->app_id);
}

struct sched_queue *tracker_queue(const struct tracker *t)
{
	return t->queue;
}

struct sched_backoff *tracker_backoff(const struct tracker *t)
{
	return t->backoff;
}

uint64_t tracker_generation(const struct tracker *t)
{
	return t->generation;
}

void tracker_touch(struct tracker *t)
{
	t->generation++;
}

/* ---- JSON ------------------------------------------------------------- */

struct json_object *tracker_task_json(const struct tracker_instance *inst)
{
	struct json_object *o, *ports, *sports, *ips;
	char ts[MODEL_TIMESTAMP_LEN];
	const struct app *app = inst->app;
	const char *host;

	if (!inst->has_task)
		return NULL;
	host = inst->agent != NULL ? inst->agent->hostname : "";
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	ports = json_object_new_array();
	sports = json_object_new_array();
	ips = json_object_new_array();
	for (size_t i = 0; i < inst->n_host_ports; i++)
		jsonutil_append(ports, json_object_new_int64(inst->host_ports[i]));
	for (size_t i = 0; i < app->n_port_definitions; i++)
		jsonutil_append(sports, json_object_new_int64(
		                                app->port_definitions[i].service_port));
	if (app->n_port_definitions == 0)
		for (size_t i = 0; i < app->n_port_mappings; i++)
			jsonutil_append(sports,
			                json_object_new_int64(
			                        app->port_mappings[i].service_port));
	jsonutil_add(o, "appId", json_object_new_string(app->id));
	jsonutil_add(o, "healthCheckResults",
	             inst->health_results != NULL
	                     ? json_object_get(inst->health_results)
	                     : json_object_new_array());
	jsonutil_add(o, "host", json_object_new_string(host));
	jsonutil_add(o, "id", json_object_new_string(inst->task_id));
	jsonutil_add(o, "ipAddresses", ips);
	jsonutil_add(o, "ports", ports);
	jsonutil_add(o, "servicePorts", sports);
	jsonutil_add(o, "slaveId", json_object_new_string(
	                                   inst->agent != NULL ? inst->agent->id
	                                                       : ""));
	jsonutil_add(o, "state", json_object_new_string(
	                                 driver_task_state_name(inst->task_state)));
	if (inst->staged_at_ms > 0) {
		timestamp(inst->staged_at_ms, ts);
		jsonutil_add(o, "stagedAt", json_object_new_string(ts));
	}
	if (inst->started_at_ms > 0) {
		timestamp(inst->started_at_ms, ts);
		jsonutil_add(o, "startedAt", json_object_new_string(ts));
	}
	jsonutil_add(o, "version", json_object_new_string(inst->version));
	jsonutil_add(o, "localVolumes", json_object_new_array());
	return o;
}

struct json_object *tracker_failure_json(const struct tracker_app *ta)
{
	const struct tracker_failure *f = ta != NULL ? ta->last_failure : NULL;
	struct json_object *o;

	if (f == NULL || (o = json_object_new_object()) == NULL)
		return NULL;
	jsonutil_add(o, "appId", json_object_new_string(f->app_id));
	json_object_object_add(o, "host", f->host != NULL
	                                          ? json_object_new_string(f->host)
	                                          : NULL);
	jsonutil_add(o, "message", json_object_new_string(f->message));
	jsonutil_add(o, "state", json_object_new_string(f->state));
	jsonutil_add(o, "taskId", json_object_new_string(f->task_id));
	jsonutil_add(o, "timestamp", json_object_new_string(f->timestamp));
	jsonutil_add(o, "version", json_object_new_string(f->version));
	json_object_object_add(o, "slaveId",
	                       f->agent_id != NULL
	                               ? json_object_new_string(f->agent_id)
	                               : NULL);
	return o;
}
