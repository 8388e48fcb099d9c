#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <stadion/probe.h>

#include "health/health.h"
#include "jsonutil.h"
#include "log.h"
#include "model/model_app.h"
#include "plugin/plugin_io.h"
#include "sched/sched_match.h"
#include "sched/sched_task.h"

/* How often the loop's pulse is taken: the resolution of stall
 * detection, and when pending replacements are looked at. */
#define BEAT_MS 100
/* Marathon starts checks min(interval, 5 s) after the task runs. */
#define FIRST_CHECK_MAX_MS 5000
/* Lateness is reported over the most recent checks, so that a burst at
 * start-up does not hide how checks run now. */
#define LATE_RECENT 8192

struct health_task;

/* One check of one task. */
struct check_state {
	struct health_task *task;
	struct health_check hc;
	const struct plugin *probe;   /* NULL: no probe runs the protocol */
	struct event *timer;
	int64_t due_mono;             /* when the next check is due */
	int64_t grid_mono;            /* the schedule after the first check:
	                               * grid_mono + k * interval */
	bool on_grid;                 /* the first check is behind */
	int64_t started_mono;         /* of the check under way */
	bool in_flight;
	bool has_result;              /* counted at least once */
	bool warned;                  /* about a check that cannot start */
	uint32_t consecutive;         /* consecutiveFailures */
	int64_t first_success, last_success, last_failure; /* wall ms, 0 */
	char cause[160];              /* lastFailureCause */
};

/* A task's readiness check (reference 4.2): HTTP(S) GET every interval
 * until the status is one of the ready ones, then never again. */
struct readiness_state {
	char *path;                   /* owned */
	bool tls;
	int64_t port;                 /* host port of portName, -1: none */
	uint32_t interval_ms, timeout_ms;
	int64_t codes[16];            /* httpStatusCodesForReady */
	size_t n_codes;
	struct event *timer;
	struct stadion_http_call *call; /* under way, NULL otherwise */
	bool ready;
};

/* The checks of one running task; owned by struct health, reachable from
 * the instance (inst->health) while the task runs. */
struct health_task {
	struct health *h;
	struct tracker_instance *inst; /* NULL once gone */
	int64_t running_since_ms;     /* wall: the grace period's start */
	size_t n_in_flight;           /* checks whose done is still due */
	bool failing;                 /* counted in h->n_failing */
	bool doomed;                  /* killed, or its replacement runs */
	bool spared;                  /* a kill the breaker held back, said */
	bool counted;                 /* in h->n_checked */
	size_t n_wanted;              /* healthChecks in the definition */
	struct readiness_state *rd;   /* NULL without a readiness check */
	size_t n;
	struct check_state checks[];
};

/* An unhealthy instance waiting for its replacement. */
struct replacement {
	char *instance_id;            /* owned: the unhealthy instance */
	char *app_id;                 /* owned */
	uint32_t healthy_before;      /* healthy instances of the app then */
	int64_t deadline_mono;        /* decommissioned then at the latest */
	struct replacement *next;
};

struct health {
	struct health_config cfg;
	struct plugin_services io;    /* readiness checks' HTTP client */
	struct tracker_health_hooks hooks;
	struct event *beat;
	int64_t beat_mono;            /* the last pulse */
	int64_t stall_mark_mono;      /* checks started before are void */
	int64_t stall_until_mono;     /* kills pause until then */
	int64_t max_interval_ms;      /* of all checks seen */
	size_t n_checked, n_failing;  /* tasks with checks, failing ones */
	bool paused;                  /* kills paused (the breaker is open) */
	char pause_reason[160];
	int64_t paused_since_ms;      /* wall */
	struct replacement *replacements;
	uint64_t checks_started;
	uint32_t late[LATE_RECENT];   /* ms late against the schedule, a
	                               * ring of the latest checks */
	uint64_t n_late;              /* ever recorded */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static struct timeval ms_tv(int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

/* ---- definitions -------------------------------------------------------- */

static int want_uint(struct json_object *hc, const char *key, uint32_t def,
                     uint32_t *value_r, char *err, size_t err_len)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(hc, key, &v) || v == NULL) {
		*value_r = def;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < 0 || n > UINT32_MAX) {
		snprintf(err, err_len,
		         "%s must be a whole number of 0 or more", key);
		return -1;
	}
	*value_r = (uint32_t)n;
	return 0;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int health_check_parse(struct json_object *hc, size_t n_ports,
                       struct health_check *check_r, char *err,
                       size_t err_len)
{
	struct health_check c = {.port_index = -1, .port = -1};
	struct json_object *v;
	const char *proto = str_of(hc, "protocol");
	const char *path = str_of(hc, "path");
	bool needs_port;

	if (!json_object_is_type(hc, json_type_object)) {
		snprintf(err, err_len, "a health check must be an object");
		return -1;
	}
	if (want_uint(hc, "gracePeriodSeconds", 300, &c.grace_period_s, err,
	              err_len) != 0 ||
	    want_uint(hc, "intervalSeconds", 60, &c.interval_s, err,
	              err_len) != 0 ||
	    want_uint(hc, "timeoutSeconds", 20, &c.timeout_s, err, err_len) !=
	            0 ||
	    want_uint(hc, "maxConsecutiveFailures", 3, &c.max_failures, err,
	              err_len) != 0)
		return -1;
	if (c.interval_s == 0) {
		snprintf(err, err_len, "intervalSeconds must be 1 or more");
		return -1;
	}
	if (json_object_object_get_ex(hc, "ignoreHttp1xx", &v) && v != NULL)
		c.ignore_http1xx = json_object_get_boolean(v);
	if (json_object_object_get_ex(hc, "port", &v) && v != NULL)
		c.port = json_object_get_int64(v);
	if (json_object_object_get_ex(hc, "portIndex", &v) && v != NULL)
		c.port_index = json_object_get_int64(v);
	if (json_object_object_get_ex(hc, "command", &v) && v != NULL) {
		const char *value = str_of(v, "value");

		if (value != NULL && (c.command = strdup(value)) == NULL)
			goto out_oom;
	}
	if ((c.protocol = strdup(proto != NULL ? proto : "HTTP")) == NULL ||
	    (c.path = strdup(path != NULL ? path : "/")) == NULL)
		goto out_oom;
	needs_port = strcmp(c.protocol, "COMMAND") != 0;
	if (needs_port && c.port < 0 && c.port_index < 0 && n_ports > 0)
		c.port_index = 0;
	if (needs_port && c.port < 0 &&
	    (c.port_index < 0 || (size_t)c.port_index >= n_ports)) {
		snprintf(err, err_len,
		         "Health check port indices must address an element "
		         "of the ports array or container port mappings.");
		health_check_clear(&c);
		return -1;
	}
	if (!needs_port && c.command == NULL) {
		snprintf(err, err_len,
		         "a COMMAND health check needs command.value");
		health_check_clear(&c);
		return -1;
	}
	*check_r = c;
	return 0;
out_oom:
	health_check_clear(&c);
	snprintf(err, err_len, "out of memory");
	return -1;
}

void health_check_clear(struct health_check *check)
{
	if (check == NULL)
		return;
	free(check->protocol);
	free(check->path);
	free(check->command);
	memset(check, 0, sizeof(*check));
}

/* The loaded probe that lists PROTOCOL, or NULL. */
static const struct plugin *probe_for(const struct health *h,
                                      const char *protocol)
{
	for (const struct plugin *p = h->cfg.plugins->loaded; p != NULL;
	     p = p->next) {
		const struct stadion_probe_ops *ops = p->ops;

		if (p->kind != STADION_PLUGIN_KIND_PROBE)
			continue;
		for (const char *const *pr = ops->protocols; *pr != NULL; pr++)
			if (strcmp(*pr, protocol) == 0)
				return p;
	}
	return NULL;
}

/* ---- the kill circuit breaker ------------------------------------------ */

static void breaker_update(struct health *h, int64_t now)
{
	char why[sizeof(h->pause_reason)] = "";

	if (now < h->stall_until_mono)
		snprintf(why, sizeof(why),
		         "stadiond's event loop stalled; kills resume once "
		         "checks have run again");
	else if (h->n_checked >= (size_t)h->cfg.breaker_min &&
	         h->n_failing * 100 >=
	                 h->n_checked * (size_t)h->cfg.breaker_percent)
		snprintf(why, sizeof(why),
		         "%zu of %zu checked tasks are failing at once",
		         h->n_failing, h->n_checked);
	if (why[0] != '\0' && !h->paused) {
		h->paused = true;
		h->paused_since_ms = wall_ms();
		log_warn("health: kills paused: %s (--health_stall_ms, "
		         "--health_breaker_percent); check stadiond's load "
		         "and the network to the tasks",
		         why);
	} else if (why[0] == '\0' && h->paused) {
		h->paused = false;
		log_info("health: kills resumed: checks have recovered");
	}
	snprintf(h->pause_reason, sizeof(h->pause_reason), "%s", why);
}

/* The loop did not run for GAP ms: checks under way are void, kills
 * pause for an interval. */
static void stall_seen(struct health *h, int64_t now, int64_t gap)
{
	int64_t hold = h->max_interval_ms > h->cfg.stall_ms
	                       ? h->max_interval_ms
	                       : h->cfg.stall_ms;

	h->stall_mark_mono = now;
	h->stall_until_mono = now + hold;
	log_warn("health: stadiond's event loop stalled for %lld ms; results "
	         "of checks under way are discarded",
	         (long long)gap);
	breaker_update(h, now);
}

static void stall_check(struct health *h, int64_t now)
{
	int64_t gap = now - h->beat_mono;

	h->beat_mono = now;
	if (gap > h->cfg.stall_ms)
		stall_seen(h, now, gap);
}

/* ---- replacement before kill ------------------------------------------- */

static bool app_has_room(struct health *h, const struct app *app)
{
	struct driver_offer *offers = NULL;
	struct sched_match_pool *pool;
	struct sched_match_demand demand = {0};
	struct sched_match_request req;
	size_t idx = 0, n = 0;
	uint32_t placed = 0;
	bool room = false;

	if (driver_offers(h->cfg.driver, &offers, &n) != 0)
		return false;
	if ((pool = sched_match_pool_new(offers, n)) == NULL)
		goto out_free_offers;
	if (sched_match_demand_from_app(app, &demand) != 0)
		goto out_free_pool;
	req = (struct sched_match_request){
		.demand = &demand,
		.count = 1,
		.now_ms = wall_ms(),
	};
	room = sched_match_run(pool, &req, &idx, NULL, &placed) == 0 &&
	       placed == 1;
	sched_match_demand_release(&demand);
out_free_pool:
	sched_match_pool_free(pool);
out_free_offers:
	driver_offers_free(offers, n);
	return room;
}

static uint32_t app_healthy(const struct tracker_app *ta)
{
	uint32_t n = 0;

	for (size_t i = 0; i < ta->n_instances; i++)
		n += ta->instances[i]->goal == STATE_GOAL_RUNNING &&
		     ta->instances[i]->healthy;
	return n;
}

/* Launch a replacement for HT's instance first; false when that is not
 * possible (no room, a restart under way, the app over its count). */
static bool replace_first(struct health *h, struct health_task *ht,
                          const struct check_state *cs)
{
	struct tracker_instance *inst = ht->inst;
	struct tracker_app *ta = inst->tapp;
	const struct app *app = ta->current;
	struct replacement *r;
	uint32_t running = 0;

	if (app == NULL || tracker_instance_is_old(inst, app))
		return false;
	for (size_t i = 0; i < ta->n_instances; i++)
		running += ta->instances[i]->goal == STATE_GOAL_RUNNING;
	if (running > (uint32_t)app->instances || !app_has_room(h, app))
		return false;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->instance_id = strdup(inst->instance_id)) == NULL ||
	    (r->app_id = strdup(ta->app_id)) == NULL) {
		if (r != NULL)
			free(r->instance_id);
		free(r);
		return false;
	}
	r->healthy_before = app_healthy(ta);
	r->deadline_mono = mono_ms() +
	                   ((int64_t)cs->hc.grace_period_s +
	                    ((int64_t)cs->hc.max_failures + 1) *
	                            cs->hc.interval_s +
	                    cs->hc.timeout_s) *
	                           1000;
	if (tracker_schedule(h->cfg.tracker, app, 1) != 0) {
		free(r->instance_id);
		free(r->app_id);
		free(r);
		return false;
	}
	r->next = h->replacements;
	h->replacements = r;
	log_info("health: instance %s of %s is replaced before it is killed: "
	         "a replacement is launched and it is decommissioned once "
	         "that is healthy",
	         inst->instance_id, ta->app_id);
	return true;
}

/* Decommission the instances whose replacement is healthy, or whose wait
 * is over. */
static void replacements_tick(struct health *h, int64_t now)
{
	struct replacement **pp = &h->replacements, *r;

	while ((r = *pp) != NULL) {
		struct tracker_instance *inst =
			tracker_instance(h->cfg.tracker, r->instance_id);
		struct tracker_app *ta =
			tracker_app(h->cfg.tracker, r->app_id);
		bool go = inst == NULL || ta == NULL ||
		          inst->goal != STATE_GOAL_RUNNING;

		if (!go && (app_healthy(ta) > r->healthy_before ||
		            now >= r->deadline_mono)) {
			log_info("health: instance %s of %s decommissioned: %s",
			         r->instance_id, r->app_id,
			         now >= r->deadline_mono
			                 ? "its replacement did not turn "
			                   "healthy in time"
			                 : "its replacement is healthy");
			tracker_decommission(h->cfg.tracker, inst);
			go = true;
		}
		if (!go) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		free(r->instance_id);
		free(r->app_id);
		free(r);
	}
}

/* ---- results ------------------------------------------------------------ */

static bool check_alive(const struct check_state *cs)
{
	return cs->last_success > 0 && cs->last_success >= cs->last_failure;
}

static struct json_object *ts_or_null(int64_t ms)
{
	char ts[MODEL_TIMESTAMP_LEN];

	if (ms <= 0)
		return NULL;
	model_timestamp_format(ms, ts);
	return json_object_new_string(ts);
}

/* healthCheckResults of HT (reference 4.1). */
static struct json_object *results_json(const struct health_task *ht)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < ht->n; i++) {
		const struct check_state *cs = &ht->checks[i];
		struct json_object *o;

		if (!cs->has_result || (o = json_object_new_object()) == NULL)
			continue;
		jsonutil_add(o, "alive",
		             json_object_new_boolean(check_alive(cs)));
		jsonutil_add(o, "consecutiveFailures",
		             json_object_new_int64(cs->consecutive));
		json_object_object_add(o, "firstSuccess",
		                       ts_or_null(cs->first_success));
		json_object_object_add(o, "lastSuccess",
		                       ts_or_null(cs->last_success));
		json_object_object_add(o, "lastFailure",
		                       ts_or_null(cs->last_failure));
		json_object_object_add(o, "lastFailureCause",
		                       cs->cause[0] != '\0'
		                               ? json_object_new_string(cs->cause)
		                               : NULL);
		jsonutil_add(o, "instanceId",
		             json_object_new_string(ht->inst->instance_id));
		jsonutil_append(a, o);
	}
	return a;
}

/* Hand HT's verdict to the tracker, and keep the failing count. */
static void task_publish(struct health *h, struct health_task *ht)
{
	bool healthy = ht->n == ht->n_wanted, unhealthy = false;
	bool failing = false;

	if (ht->rd != NULL)
		healthy &= ht->rd->ready;
	for (size_t i = 0; i < ht->n; i++) {
		const struct check_state *cs = &ht->checks[i];

		healthy &= cs->has_result && check_alive(cs);
		unhealthy |= cs->has_result && !check_alive(cs);
		failing |= cs->consecutive > 0;
	}
	if (failing != ht->failing) {
		ht->failing = failing;
		if (failing)
			h->n_failing++;
		else
			h->n_failing--;
	}
	tracker_set_health(h->cfg.tracker, ht->inst, healthy, unhealthy,
	                   results_json(ht));
}

/* Kill HT's task after a failure beyond maxConsecutiveFailures: the
 * instance is relaunched (Marathon), or replaced first when there is room.
 * HT may be freed on return. */
static void task_kill(struct health *h, struct health_task *ht,
                      const struct check_state *cs)
{
	struct tracker_instance *inst = ht->inst;

	if (ht->doomed)
		return;
	breaker_update(h, mono_ms());
	if (h->paused) {
		if (!ht->spared)
			log_warn("health: task %s of %s failed %u consecutive "
			         "%s checks (%s) but is left running: kills "
			         "are paused (%s)",
			         inst->task_id, inst->tapp->app_id,
			         cs->consecutive, cs->hc.protocol, cs->cause,
			         h->pause_reason);
		ht->spared = true;
		return;
	}
	ht->doomed = true;
	log_warn("health: unhealthy_instance_kill: task %s of %s failed %u "
	         "consecutive %s checks (last: %s)",
	         inst->task_id, inst->tapp->app_id, cs->consecutive,
	         cs->hc.protocol, cs->cause);
	if (replace_first(h, ht, cs))
		return;
	tracker_kill_task(h->cfg.tracker, inst);
}

static void readiness_free(struct readiness_state *rd)
{
	if (rd == NULL)
		return;
	if (rd->timer != NULL)
		event_free(rd->timer);
	free(rd->path);
	free(rd);
}

static void task_free(struct health_task *ht)
{
	readiness_free(ht->rd);
	for (size_t i = 0; i < ht->n; i++) {
		if (ht->checks[i].timer != NULL)
			event_free(ht->checks[i].timer);
		health_check_clear(&ht->checks[i].hc);
	}
	free(ht);
}

static void probe_done(void *done_arg, enum stadion_probe_result result,
                       const char *cause)
{
	struct check_state *cs = done_arg;
	struct health_task *ht = cs->task;
	struct health *h = ht->h;
	int64_t now = mono_ms(), wall = wall_ms();
	bool kill = false;

	cs->in_flight = false;
	ht->n_in_flight--;
	if (ht->inst == NULL) {
		/* Its task went while a cancel-less probe worked. */
		if (ht->n_in_flight == 0)
			task_free(ht);
		return;
	}
	/* The pulse may not have run yet after a stall: look now. */
	if (now - h->beat_mono > h->cfg.stall_ms)
		stall_check(h, now);
	if (cs->started_mono < h->stall_mark_mono ||
	    result == STADION_PROBE_IGNORED)
		return;
	if (result == STADION_PROBE_HEALTHY) {
		if (cs->first_success == 0)
			cs->first_success = wall;
		cs->last_success = wall;
		cs->consecutive = 0;
	} else {
		if (cs->first_success == 0 &&
		    wall < ht->running_since_ms +
		                   (int64_t)cs->hc.grace_period_s * 1000) {
			log_debug("health: task %s failed a %s check within "
			          "its grace period: ignored (%s)",
			          ht->inst->task_id, cs->hc.protocol,
			          cause != NULL ? cause : "");
			return;
		}
		kill = cs->hc.max_failures > 0 &&
		       cs->consecutive >= cs->hc.max_failures;
		cs->consecutive++;
		cs->last_failure = wall;
		snprintf(cs->cause, sizeof(cs->cause), "%s",
		         cause != NULL ? cause : "unhealthy");
	}
	cs->has_result = true;
	task_publish(h, ht);
	breaker_update(h, now);
	if (kill)
		task_kill(h, ht, cs);
}

/* The address of INST's agent: the local driver's agents are this host, so
 * an agent named by a host name is reached on the loopback (the loop must
 * not wait for a name lookup). */
static const char *agent_address(const struct tracker_instance *inst)
{
	const char *name = inst->agent != NULL ? inst->agent->hostname : NULL;
	unsigned char buf[sizeof(struct in6_addr)];

	if (name != NULL && (inet_pton(AF_INET, name, buf) == 1 ||
	                     inet_pton(AF_INET6, name, buf) == 1))
		return name;
	return "127.0.0.1";
}

static void check_start(struct health *h, struct check_state *cs)
{
	struct health_task *ht = cs->task;
	struct tracker_instance *inst = ht->inst;
	const struct stadion_probe_ops *ops;
	struct sched_task *task = NULL;
	struct stadion_err err = {0};
	struct stadion_probe_target tg = {
		.size = sizeof(tg),
		.protocol = cs->hc.protocol,
		.host = agent_address(inst),
		.path = cs->hc.path,
		.ignore_http1xx = cs->hc.ignore_http1xx,
		.timeout_ms = cs->hc.timeout_s * 1000,
		.command = cs->hc.command,
		.sandbox = inst->sandbox,
		.task_id = inst->task_id,
	};

	if (cs->probe == NULL)
		return;
	ops = cs->probe->ops;
	if (cs->hc.port >= 0)
		tg.port = (uint16_t)cs->hc.port;
	else if (cs->hc.port_index >= 0 &&
	         (size_t)cs->hc.port_index < inst->n_host_ports)
		tg.port = (uint16_t)inst->host_ports[cs->hc.port_index];
	if (strcmp(cs->hc.protocol, "COMMAND") == 0) {
		struct sched_task_params p = {
			.task_id = inst->task_id,
			.agent_id = inst->agent != NULL ? inst->agent->id : "",
			.hostname = inst->agent != NULL ? inst->agent->hostname
			                                : "",
			.host_ports = inst->host_ports,
			.n_host_ports = inst->n_host_ports,
			.env_prefix = h->cfg.env_prefix,
		};

		/* The task's own environment, as the driver gave it. */
		if (sched_task_build(inst->app, &p, &task) != 0)
			return;
		tg.env = (const char *const *)task->env;
	}
	cs->started_mono = mono_ms();
	if (ops->check(cs->probe->state, &tg, probe_done, cs, &err) == 0) {
		cs->in_flight = true;
		ht->n_in_flight++;
		h->checks_started++;
	} else if (!cs->warned) {
		cs->warned = true;
		log_warn("health: cannot run the %s check of task %s: %s",
		         cs->hc.protocol, inst->task_id, err.msg);
	}
	sched_task_free(task);
}

static void check_timer(evutil_socket_t fd, short what, void *arg)
{
	struct check_state *cs = arg;
	struct health *h = cs->task->h;
	int64_t now = mono_ms(), late = now - cs->due_mono;
	int64_t interval = (int64_t)cs->hc.interval_s * 1000;
	struct timeval tv;

	(void)fd;
	(void)what;
	h->late[h->n_late++ % LATE_RECENT] =
		(uint32_t)(late < 0 ? 0 : late > UINT32_MAX ? UINT32_MAX : late);
	/* On the grid, skipping what a stall made us miss. */
	if (!cs->on_grid) {
		cs->on_grid = true;
		cs->due_mono = cs->grid_mono;
	}
	do
		cs->due_mono += interval;
	while (cs->due_mono <= now);
	tv = ms_tv(cs->due_mono - now);
	evtimer_add(cs->timer, &tv);
	/* A check slower than its interval is not piled up. */
	if (!cs->in_flight)
		check_start(h, cs);
}

/* ---- readiness --------------------------------------------------------- */

static void readiness_done(void *arg, int status, const char *error)
{
	struct health_task *ht = arg;
	struct readiness_state *rd = ht->rd;

	rd->call = NULL;
	for (size_t i = 0; i < rd->n_codes && !rd->ready; i++)
		rd->ready = status == rd->codes[i];
	if (!rd->ready) {
		log_debug("health: task %s is not ready yet: %s%d",
		          ht->inst->task_id, error != NULL ? error : "HTTP ",
		          error != NULL ? 0 : status);
		return;
	}
	evtimer_del(rd->timer);
	task_publish(ht->h, ht);
}

static void readiness_timer(evutil_socket_t fd, short what, void *arg)
{
	struct health_task *ht = arg;
	struct readiness_state *rd = ht->rd;
	struct stadion_http_get req = {
		.size = sizeof(req),
		.tls = rd->tls,
		.address = agent_address(ht->inst),
		.port = (uint16_t)rd->port,
		.path = rd->path,
		.timeout_ms = rd->timeout_ms,
	};
	struct timeval tv = ms_tv(rd->interval_ms);

	(void)fd;
	(void)what;
	evtimer_add(rd->timer, &tv);
	if (rd->call == NULL && rd->port > 0)
		rd->call = plugin_io_http_get(&ht->h->io, &req, readiness_done,
		                              ht);
}

/* The readiness check of INST's definition, or NULL (none, or out of
 * memory: then INST is ready at once, rather than blocking a deployment
 * on a check that never runs). */
static struct readiness_state *readiness_new(struct health *h,
                                             struct health_task *ht)
{
	struct tracker_instance *inst = ht->inst;
	struct json_object *rcs = NULL, *rc, *v;
	const struct app *app = inst->app;
	const struct app_port *ports = app->n_port_definitions > 0
	                                       ? app->port_definitions
	                                       : app->port_mappings;
	size_t n_ports = app->n_port_definitions > 0 ? app->n_port_definitions
	                                            : app->n_port_mappings;
	struct readiness_state *rd;
	const char *name, *path, *proto;

	if (!json_object_object_get_ex(app->json, "readinessChecks", &rcs) ||
	    json_object_array_length(rcs) == 0 ||
	    (rd = calloc(1, sizeof(*rd))) == NULL)
		return NULL;
	rc = json_object_array_get_idx(rcs, 0);
	path = str_of(rc, "path");
	proto = str_of(rc, "protocol");
	name = str_of(rc, "portName");
	rd->tls = proto != NULL && strcmp(proto, "HTTPS") == 0;
	rd->interval_ms = 30000;
	rd->timeout_ms = 10000;
	if (json_object_object_get_ex(rc, "intervalSeconds", &v) &&
	    json_object_get_int64(v) > 0)
		rd->interval_ms = (uint32_t)json_object_get_int64(v) * 1000;
	if (json_object_object_get_ex(rc, "timeoutSeconds", &v) &&
	    json_object_get_int64(v) > 0)
		rd->timeout_ms = (uint32_t)json_object_get_int64(v) * 1000;
	if (json_object_object_get_ex(rc, "httpStatusCodesForReady", &v) &&
	    json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v) &&
		                   rd->n_codes < 16;
		     i++)
			rd->codes[rd->n_codes++] = json_object_get_int64(
				json_object_array_get_idx(v, i));
	if (rd->n_codes == 0)
		rd->codes[rd->n_codes++] = 200;
	rd->port = -1;
	for (size_t i = 0; i < n_ports && i < inst->n_host_ports; i++)
		if (ports[i].name != NULL && name != NULL &&
		    strcmp(ports[i].name, name) == 0)
			rd->port = inst->host_ports[i];
	if (rd->port < 0)
		log_error("health: the readiness check of %s names port %s, "
		          "which task %s does not have: it never turns ready; "
		          "fix portName",
		          app->id, name != NULL ? name : "(none)",
		          inst->task_id);
	if ((rd->path = strdup(path != NULL ? path : "/")) == NULL ||
	    (rd->timer = evtimer_new(h->cfg.base, readiness_timer, ht)) ==
	            NULL) {
		readiness_free(rd);
		return NULL;
	}
	return rd;
}

/* ---- the tracker's hooks ------------------------------------------------ */

static void on_running(void *arg, struct tracker_instance *inst)
{
	struct health *h = arg;
	struct json_object *hcs = inst->app->health_checks;
	size_t n = hcs != NULL ? json_object_array_length(hcs) : 0;
	size_t n_ports = inst->app->n_port_definitions > 0
	                         ? inst->app->n_port_definitions
	                         : inst->app->n_port_mappings;
	struct health_task *ht;
	int64_t now = mono_ms();

	if (inst->health != NULL)
		return;
	if ((ht = calloc(1, sizeof(*ht) + n * sizeof(ht->checks[0]))) ==
	    NULL) {
		log_error("out of memory: task %s is not health-checked",
		          inst->task_id);
		return;
	}
	ht->h = h;
	ht->inst = inst;
	ht->running_since_ms = inst->started_at_ms > 0 ? inst->started_at_ms
	                                                : wall_ms();
	for (size_t i = 0; i < n; i++) {
		struct check_state *cs = &ht->checks[ht->n];
		char err[256];
		int64_t interval, first;
		struct timeval tv;

		if (health_check_parse(json_object_array_get_idx(hcs, i),
		                       n_ports, &cs->hc, err,
		                       sizeof(err)) != 0) {
			log_warn("health: check %zu of %s is skipped: %s", i,
			         inst->app->id, err);
			continue;
		}
		cs->task = ht;
		if ((cs->probe = probe_for(h, cs->hc.protocol)) == NULL)
			log_error("health: no probe plugin runs %s checks; "
			          "task %s of %s never turns healthy: install "
			          "the bundled probes or one that lists %s",
			          cs->hc.protocol, inst->task_id, inst->app->id,
			          cs->hc.protocol);
		interval = (int64_t)cs->hc.interval_s * 1000;
		if (interval > h->max_interval_ms)
			h->max_interval_ms = interval;
		first = interval < FIRST_CHECK_MAX_MS ? interval
		                                      : FIRST_CHECK_MAX_MS;
		first = random() % (first + 1);
		cs->due_mono = now + first;
		/* After the first check, a random phase spreads the tasks
		 * that started together over the whole interval. */
		cs->grid_mono = now + random() % interval;
		tv = ms_tv(first);
		if ((cs->timer = evtimer_new(h->cfg.base, check_timer, cs)) ==
		            NULL ||
		    evtimer_add(cs->timer, &tv) != 0) {
			log_error("out of memory: a check of task %s is not "
			          "run",
			          inst->task_id);
			health_check_clear(&cs->hc);
			if (cs->timer != NULL)
				event_free(cs->timer);
			cs->timer = NULL;
			continue;
		}
		ht->n++;
	}
	ht->n_wanted = n;
	ht->counted = n > 0;
	inst->health = ht;
	h->n_checked += ht->counted;
	if ((ht->rd = readiness_new(h, ht)) != NULL) {
		struct timeval now_tv = ms_tv(0);

		evtimer_add(ht->rd->timer, &now_tv);
	}
	if (n == 0)
		task_publish(h, ht);
}

static void on_gone(void *arg, struct tracker_instance *inst)
{
	struct health *h = arg;
	struct health_task *ht = inst->health;

	if (ht == NULL)
		return;
	inst->health = NULL;
	h->n_checked -= ht->counted;
	if (ht->failing)
		h->n_failing--;
	if (ht->rd != NULL) {
		evtimer_del(ht->rd->timer);
		if (ht->rd->call != NULL)
			plugin_io_http_cancel(&h->io, ht->rd->call);
		ht->rd->call = NULL;
	}
	for (size_t i = 0; i < ht->n; i++) {
		struct check_state *cs = &ht->checks[i];
		const struct stadion_probe_ops *ops;

		if (cs->timer != NULL)
			evtimer_del(cs->timer);
		if (!cs->in_flight)
			continue;
		ops = cs->probe->ops;
		if (STADION_HAS_MEMBER(struct stadion_probe_ops,
		                       cs->probe->ops_size, cancel) &&
		    ops->cancel != NULL) {
			ops->cancel(cs->probe->state, cs);
			cs->in_flight = false;
			ht->n_in_flight--;
		}
	}
	ht->inst = NULL;
	/* A probe without cancel still owes done: free then. */
	if (ht->n_in_flight == 0)
		task_free(ht);
}

static void beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;
	int64_t now = mono_ms();

	(void)fd;
	(void)what;
	stall_check(h, now);
	breaker_update(h, now);
	if (h->replacements != NULL)
		replacements_tick(h, now);
}

/* ---- life cycle --------------------------------------------------------- */

struct health *health_new(const struct health_config *cfg)
{
	struct health *h = calloc(1, sizeof(*h));
	struct timeval tv = ms_tv(BEAT_MS);

	if (h == NULL)
		return NULL;
	h->cfg = *cfg;
	plugin_host_bind(cfg->host, &h->io, "health readiness");
	h->hooks = (struct tracker_health_hooks){
		.running = on_running,
		.gone = on_gone,
	};
	h->beat_mono = mono_ms();
	if ((h->beat = event_new(cfg->base, -1, EV_PERSIST, beat_cb, h)) ==
	            NULL ||
	    event_add(h->beat, &tv) != 0) {
		health_free(h);
		return NULL;
	}
	tracker_set_health_hooks(cfg->tracker, &h->hooks, h);
	return h;
}

void health_free(struct health *h)
{
	struct tracker_app **apps;
	size_t n_apps;

	if (h == NULL)
		return;
	tracker_apps(h->cfg.tracker, &apps, &n_apps);
	for (size_t i = 0; i < n_apps; i++)
		for (size_t k = 0; k < apps[i]->n_instances; k++)
			on_gone(h, apps[i]->instances[k]);
	tracker_set_health_hooks(h->cfg.tracker, NULL, NULL);
	while (h->replacements != NULL) {
		struct replacement *r = h->replacements;

		h->replacements = r->next;
		free(r->instance_id);
		free(r->app_id);
		free(r);
	}
	if (h->beat != NULL)
		event_free(h->beat);
	plugin_host_sweep(&h->io);
	free(h);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct json_object *health_info_json(const struct health *h)
{
	struct json_object *o = json_object_new_object();
	size_t n = h->n_late < LATE_RECENT ? (size_t)h->n_late : LATE_RECENT;
	uint32_t *sorted = n > 0 ? malloc(n * sizeof(*sorted)) : NULL;
	int64_t p95 = 0;

	if (o == NULL) {
		free(sorted);
		return NULL;
	}
	if (sorted != NULL) {
		memcpy(sorted, h->late, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
		p95 = sorted[n * 95 / 100];
		free(sorted);
	}
	jsonutil_add(o, "killsPaused", json_object_new_boolean(h->paused));
	json_object_object_add(o, "reason",
	                       h->paused ? json_object_new_string(
	                                           h->pause_reason)
	                                 : NULL);
	json_object_object_add(o, "since", h->paused ? ts_or_null(
	                                                       h->paused_since_ms)
	                                             : NULL);
	jsonutil_add(o, "checkedTasks", json_object_new_int64(
	                                        (int64_t)h->n_checked));
	jsonutil_add(o, "failingTasks", json_object_new_int64(
	                                        (int64_t)h->n_failing));
	jsonutil_add(o, "checksStarted", json_object_new_int64(
	                                         (int64_t)h->checks_started));
	jsonutil_add(o, "lateMsP95", json_object_new_int64(p95));
	return o;
}
