/*
 * deploy_run: the deployment runner.  Every change of the root group the
 * API asks for comes here as a target (the apps to put and to delete, the
 * restarts and sentenced instances): the runner stamps versions, assigns
 * service ports, builds the plan (deploy_plan), refuses it with 409 when
 * it conflicts with a running deployment unless forced (which cancels
 * those), commits the new root and the deployment in one state commit,
 * and only then answers and starts the plan.
 *
 * A running deployment executes its steps one after the other; the
 * actions of a step run side by side, each a small state machine ticked
 * by the tracker's listener whenever its app's instances change:
 *   Start    nothing to do: done at once;
 *   Scale    schedule or decommission instances (victims by
 *            killSelection, those a kill with scale=true sentenced first)
 *            until exactly N run;
 *   Restart  the upgrade strategy plugin ("rolling") says how many old
 *            instances to decommission and new ones to start at each tick;
 *   Stop     decommission everything; done when no instance is left.
 * Progress (the current step) is committed after every step; the
 * deployment is deleted from the state when its last step is done.
 *
 * Mutations are serialized: one submission is planned and committed at a
 * time, so each plans against the outcome of the previous one (Marathon's
 * deployment manager does the same).
 *
 * Not thread-safe: the loop thread owns everything.
 */
#ifndef STADION_DEPLOY_RUN_H
#define STADION_DEPLOY_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "deploy/deploy_plan.h"
#include "model/model_app.h"
#include "model/model_errors.h"
#include "sched/sched_place.h"
#include "sched/sched_tracker.h"
#include "state/state.h"

struct plugin_set;
struct deploy_run;

struct deploy_run_config {
	struct state *state;        /* borrowed */
	struct tracker *tracker;    /* borrowed */
	struct plugin_set *plugins; /* borrowed: the upgrade plugins */
	uint32_t port_min, port_max; /* --local_port_min/max */
	struct sched_place *place;  /* borrowed: validates constraints and
	                             * picks scale-down victims; NULL for
	                             * neither */
};

/* NULL when out of memory. */
struct deploy_run *deploy_run_new(const struct deploy_run_config *cfg);
/* Ends every step (the upgrade plugin's end()) and frees.  NULL-safe. */
void deploy_run_free(struct deploy_run *r);

/* Resume the deployments the loaded state holds.  Call after
 * tracker_recover(). */
int deploy_run_resume(struct deploy_run *r);

/* A change of the root group.  Everything is borrowed for the call. */
struct deploy_change {
	/* New or changed definitions (from model_app_parse/merge, version
	 * not stamped yet): the runner takes them over on every outcome. */
	struct app **put_apps;
	size_t n_put_apps;
	const char *const *del_apps;   /* ids to remove */
	size_t n_del_apps;
	const char *const *restart_ids; /* POST .../restart */
	size_t n_restart_ids;
	const struct deploy_kill *kills; /* tasks killed with scale=true */
	size_t n_kills;
	bool force;
	/* POST /v2/apps: refuse with 409 when an app of put_apps exists by
	 * the time the change is planned (two POSTs of one id in a row). */
	bool create_only;
};

/* The outcome, handed to the completion; borrowed for the call.  STATUS:
 *   200/201   done: DEPLOYMENT_ID and VERSION are set (DEPLOYMENT_ID is
 *             NULL when the change needed no deployment);
 *   409       BODY is the locked body (deploy_plan_conflict_body), or
 *             MESSAGE says the app exists (create_only);
 *   422       BODY is the validation body (cycles, ports, constraints);
 *   500/503   MESSAGE says why (storage failure, ...). */
struct deploy_result {
	int status;
	const char *deployment_id;
	const char *version;
	struct json_object *body;   /* borrowed; NULL unless 409/422 */
	const char *message;
};

typedef void deploy_done_fn(void *arg, const struct deploy_result *res);

/* Submit CHANGE; DONE is called exactly once, possibly before this returns
 * for an immediate refusal, at the latest from deploy_run_free() (503). */
void deploy_run_submit(struct deploy_run *r, const struct deploy_change *change,
                       deploy_done_fn *done, void *arg);

/* Cancel deployment ID: with ROLLBACK (DELETE without force) a revert
 * deployment is submitted, forced over it, and DONE gets its outcome;
 * without, the deployment is simply dropped (its instances stay as they
 * are) and DONE gets 202 with no id.  404 when no such deployment runs. */
void deploy_run_cancel(struct deploy_run *r, const char *id, bool rollback,
                       deploy_done_fn *done, void *arg);

/* GET /v2/deployments: the array.  A new reference. */
struct json_object *deploy_run_list_json(const struct deploy_run *r);
/* The running deployments affecting APP_ID, as AppInfo's "deployments"
 * ([{"id": ...}]).  A new reference. */
struct json_object *deploy_run_app_deployments(const struct deploy_run *r,
                                               const char *app_id);
bool deploy_run_app_deploying(const struct deploy_run *r, const char *app_id);

#endif /* STADION_DEPLOY_RUN_H */
