/*
 * sched_tracker: the instance tracker and launcher.  It knows every
 * instance of every app (Marathon 1.10's InstanceTracker), launches the
 * scheduled ones on the driver's offers (the launch queue, its backoff and
 * the matcher), kills those it is told to, turns the driver's status
 * reports into instance conditions and stores each change through the
 * state repository.
 *
 * An instance has a goal (state_goal):
 *   Running         keep a task running: when its task ends the instance
 *                   becomes Scheduled again and is relaunched as the next
 *                   incarnation, after the app's backoff delay when the task
 *                   failed (reference 3.6);
 *   Decommissioned  kill its task; once the task is terminal the instance is
 *                   expunged (removed from memory and storage).
 * Conditions are Marathon's: Scheduled (waiting for an offer, no task),
 * Staging, Starting, Running, Killing, and the terminal ones a status report
 * names (Finished, Failed, Killed, Error, Gone) which last until the instance
 * is rescheduled or expunged.
 *
 * Durability: an instance is stored when it is created (Scheduled), when
 * its task is launched (with the process's launch record), when it is
 * relaunched or its goal changes, and deleted when it is expunged; writes
 * of one loop iteration go out as one batch.  Conditions that the driver
 * reports again on reconciliation (Running) are not stored.  At start-up
 * instances with a launch record are adopted; a Scheduled one is moved to
 * its next incarnation, so that a task a killed stadiond spawned but never
 * recorded has an id nobody knows and the local driver's sweep
 * (driver_local_sweep) kills it: no orphan, no double.
 *
 * Launching is batched: changes mark the tracker dirty, and one launch
 * round per loop iteration takes one offer snapshot and matches every app
 * with scheduled instances that is not delayed, in queue order.
 *
 * Every change of an app's instances is reported to the listener (the
 * deployment runner) after it is applied, so that it can tick the actions
 * of that app.
 *
 * Not thread-safe: the loop thread owns everything.
 */
#ifndef STADION_SCHED_TRACKER_H
#define STADION_SCHED_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "driver/driver.h"
#include "model/model_app.h"
#include "sched/sched_backoff.h"
#include "sched/sched_place.h"
#include "sched/sched_queue.h"
#include "state/state.h"

/* One instance.  Owned by the tracker; valid until it is expunged (after a
 * listener call that reports it gone) or the tracker is freed. */
struct tracker_instance {
	char *instance_id;
	char *task_id;             /* the current or next incarnation's */
	uint32_t incarnation;
	struct app *app;           /* the definition it runs (or will run):
	                            * a reference (model_app_ref); after a
	                            * restart of stadiond the app's current
	                            * one, as older ones are not in memory */
	char *version;             /* owned: the version of the definition
	                            * it was launched with */
	enum state_goal goal;
	const char *condition;     /* static: "Scheduled", "Running", ... */
	enum driver_task_state task_state; /* valid when has_task */
	bool has_task;             /* a task was launched and is not gone */
	const struct driver_agent *agent; /* NULL while Scheduled */
	uint32_t *host_ports;      /* owned, n_host_ports */
	size_t n_host_ports;
	int64_t staged_at_ms, started_at_ms; /* 0 when not (yet) */
	int64_t condition_since_ms;
	/* Health (core/health): with health checks, healthy when every
	 * check has a result and is alive (and, with a readiness check, once
	 * it was ready), unhealthy when one is not alive; without either,
	 * healthy while RUNNING.  Set through tracker_set_health. */
	bool healthy;
	bool unhealthy;
	struct json_object *health_results; /* owned: healthCheckResults,
	                                     * NULL when none yet */
	struct health_task *health;  /* the health module's, NULL when the
	                              * task is not checked */
	bool adopting;             /* adopted, its first report is due */
	/* The local driver's launch record. */
	int64_t pid;
	uint64_t start_ticks;
	char *sandbox;             /* owned, may be NULL */
	/* The deployment runner's: the restart step that last counted this
	 * instance as newly ready (stadion_upgrade_view.new_ready). */
	uint64_t ready_epoch;
	/* Tracker bookkeeping. */
	bool dirty;                /* in the next write batch */
	uint64_t write_seq;        /* the instance write (state_last_write)
	                            * that carries its latest change; 0:
	                            * as recovered */
	struct tracker_app *tapp;
	size_t index;              /* in tapp->instances */
};

/* The last task failure of an app (AppInfo's lastTaskFailure). */
struct tracker_failure {
	char *app_id, *host, *message, *state, *task_id, *timestamp, *version;
	char *agent_id;
};

/* An app's instances. */
struct tracker_app {
	char *app_id;
	struct app *current;               /* the latest definition, a
	                                    * reference; NULL when none */
	struct tracker_instance **instances; /* in creation order */
	size_t n_instances, cap_instances;
	uint32_t n_scheduled;              /* instances waiting for a launch */
	struct tracker_failure *last_failure; /* owned, NULL when none */
};

/* Counts of an app's instances, as AppInfo shows them. */
struct tracker_counts {
	uint32_t staged, running, healthy, unhealthy;
};

/* The health module's hooks: RUNNING(ARG, inst) when an instance's task
 * turns TASK_RUNNING, GONE(ARG, inst) before its task (or the instance) is
 * gone.  Called from inside tracker calls; they must not re-enter the
 * tracker except through tracker_set_health. */
struct tracker_health_hooks {
	void (*running)(void *arg, struct tracker_instance *inst);
	void (*gone)(void *arg, struct tracker_instance *inst);
};

/* What changed for the listener. */
typedef void tracker_listen_fn(void *arg, const char *app_id);

struct tracker;

struct tracker_config {
	struct event_base *base;   /* borrowed */
	struct state *state;       /* borrowed */
	struct driver *driver;     /* borrowed; the tracker sets its status
	                            * callback */
	const char *env_prefix;    /* --env_vars_prefix, NULL for none */
	tracker_listen_fn *listen; /* may be NULL */
	void *listen_arg;
	struct sched_place *place; /* borrowed: the apps' constraints; NULL
	                            * places without them */
	/* Fault injection for tests (STADIOND_TEST_LOSE_LAUNCH_WRITES): a
	 * launch is never stored, as when the leader dies right after it. */
	bool lose_launch_writes;
};

/* A tracker; NULL when out of memory.  It adopts nothing yet: call
 * tracker_recover() once the state is loaded. */
struct tracker *tracker_new(const struct tracker_config *cfg);
/* Makes T inert: it hears no more from the driver or the state, and its
 * timers are gone, so that the driver and the store can go before its
 * memory does (a leader stepping down frees 10,000 instances after the
 * next node is elected, not before).  NULL-safe; tracker_free() does it
 * too. */
void tracker_detach(struct tracker *t);
/* Frees everything; tasks are left running (the driver's rule).
 * NULL-safe. */
void tracker_free(struct tracker *t);

/* Call FN(ARG, app id) after every change of an app's instances, from
 * the loop, never from inside a tracker call (FN may call the tracker).
 * Replaces the one of the config; NULL stops the calls. */
void tracker_set_listener(struct tracker *t, tracker_listen_fn *fn,
                          void *arg);

/* Install HOOKS (borrowed, may be NULL) with ARG. */
void tracker_set_health_hooks(struct tracker *t,
                              const struct tracker_health_hooks *hooks,
                              void *arg);
/* The health module's verdict on INST; RESULTS (the healthCheckResults
 * array, a reference that is taken over, may be NULL) replaces the old one.
 * The listener hears of changes of HEALTHY or UNHEALTHY. */
void tracker_set_health(struct tracker *t, struct tracker_instance *inst,
                        bool healthy, bool unhealthy,
                        struct json_object *results);
/* Whether APP has health checks (its healthChecks array is not empty), or
 * readiness checks: then its instances are healthy only when the health
 * module says so. */
bool tracker_app_has_health_checks(const struct app *app);
bool tracker_app_has_readiness_checks(const struct app *app);

/* Rebuild the instances from the loaded state's snapshot, re-attach their
 * tasks through driver_adopt() (the outcome arrives as status reports) and
 * schedule those that have none.  Apps are the snapshot's current ones.
 * DONE(ARG) runs from the loop once every adopted task has reported its
 * state: only then do counts of running instances mean anything, so that
 * is when deployments may resume (a restart step that saw the adopted
 * tasks still Staging would count them as newly ready later, and kill
 * old instances for each).  0, or -ENOMEM. */
typedef void tracker_recovered_fn(void *arg);
int tracker_recover(struct tracker *t, tracker_recovered_fn *done,
                    void *arg);

/* The app's definition changed (APP borrowed, a reference is taken): new
 * instances launch with it.  Instances already scheduled of a definition
 * whose config is the same switch to it too.  0 or -ENOMEM. */
int tracker_set_app(struct tracker *t, const struct app *app);
/* APP_ID's entry, NULL when the tracker knows no instance or definition of
 * it. */
struct tracker_app *tracker_app(const struct tracker *t, const char *app_id);
/* All entries, for listings: *APPS_R borrowed until the next change. */
void tracker_apps(const struct tracker *t, struct tracker_app ***apps_r,
                  size_t *n_r);
/* An instance by instance id or by task id (of its current incarnation). */
struct tracker_instance *tracker_instance(const struct tracker *t,
                                          const char *instance_id);
struct tracker_instance *tracker_instance_by_task(const struct tracker *t,
                                                  const char *task_id);

/* Whether INST runs (or will run) a definition whose configuration is
 * older than APP's (versionInfo.lastConfigChangeAt): an "old" instance of
 * a restart. */
bool tracker_instance_is_old(const struct tracker_instance *inst,
                             const struct app *app);

void tracker_counts(const struct tracker_app *ta, struct tracker_counts *c_r);

/* Create N new instances of APP (a reference is taken), Scheduled, and store
 * them.  0 or -ENOMEM. */
int tracker_schedule(struct tracker *t, const struct app *app, uint32_t n);
/* Decommission INST: kill its task (or drop it while Scheduled) and
 * expunge it once the task is gone.  Idempotent. */
void tracker_decommission(struct tracker *t, struct tracker_instance *inst);
/* Kill INST's task but keep the instance: it is relaunched as its next
 * incarnation (DELETE .../tasks/{id} without scale). */
void tracker_kill_task(struct tracker *t, struct tracker_instance *inst);
/* Decommission every instance of APP_ID, forget its delays and its queue
 * entry, and forget the app once its last instance is expunged. */
void tracker_stop_app(struct tracker *t, const char *app_id);

/* The launch queue and the backoff, for GET /v2/queue and DELETE
 * /v2/queue/{id}/delay; borrowed.  After a reset, call tracker_poke(). */
struct sched_queue *tracker_queue(const struct tracker *t);
struct sched_backoff *tracker_backoff(const struct tracker *t);
/* Run a launch round soon (a delay was reset, an app changed). */
void tracker_poke(struct tracker *t);

/* A counter that moves with every change the API shows (instances, app
 * definitions, and deployments through tracker_touch()), so that listings
 * can be cached until it moves. */
uint64_t tracker_generation(const struct tracker *t);
void tracker_touch(struct tracker *t);

/* The task JSON of INST (reference 3.7): {"appId","healthCheckResults",
 * "host","id","ipAddresses","ports","servicePorts","slaveId","state",
 * "stagedAt","startedAt","version","localVolumes"}.  NULL for a Scheduled
 * instance (it has no task to show).  A new reference. */
struct json_object *tracker_task_json(const struct tracker_instance *inst);

/* The lastTaskFailure object of TA, NULL when none.  A new reference. */
struct json_object *tracker_failure_json(const struct tracker_app *ta);

#endif /* STADION_SCHED_TRACKER_H */
