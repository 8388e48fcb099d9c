/*
 * deploy_plan: the deployment plan Marathon's DeploymentPlan.apply builds
 * to go from an original root to a target root.  A pure module: no I/O,
 * no clock (the caller passes the plan's id, from sched_uuid_v4(), and
 * version so that tests can pin them).
 *
 * Steps, empty ones dropped (reference 3.1):
 *   1. StopApplication for every removed app, in one parallel step;
 *   2. StartApplication (0 instances) for every new app;
 *   3. for new and changed apps, one step per length of the longest
 *      dependency chain in the target root (1 = no dependencies),
 *      ascending: new -> ScaleApplication(instances); only instances
 *      changed, or the target has 0 instances -> ScaleApplication (with
 *      the instances a task kill with scale=true sentenced); any other
 *      change or a restart -> RestartApplication.
 * Marathon keeps the actions of a step in a set; here they are sorted by
 * app id so that the plan (and its JSON) is reproducible.
 *
 * A restart is either asked for explicitly (POST /v2/apps/{id}/restart:
 * restart_ids) or implied when both definitions carry a version and the
 * versions differ while the definitions are otherwise equal: that is
 * Marathon's needsRestart (model_app_stamp keeps the version of an
 * unchanged app, so a new version means somebody asked for one).
 *
 * Dependency edges: app -> the app named by a dependency; app -> every
 * app below a dependency that names a group; every app below a group ->
 * every app below each group in that group's dependencies; ids that name
 * nothing are ignored.  A cycle is refused with DEPLOY_PLAN_MSG_CYCLE.
 *
 * The plan owns copies of every id, so its JSON forms do not need the
 * roots; the app pointers of its actions are borrowed from the roots it
 * was built from (or read back with).
 *
 * JSON with ids contains '/': serialize with JSON_C_TO_STRING_NOSLASHESCAPE
 * as Marathon does not escape it.
 */
#ifndef STADION_DEPLOY_PLAN_H
#define STADION_DEPLOY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "model/model_app.h"

/* RootGroup's validation message for a cyclic dependency graph. */
#define DEPLOY_PLAN_MSG_CYCLE "Dependency graph has cyclic dependencies."
/* The message of a 409 for an app locked by a deployment; the
 * placeholder is literal in Marathon's AppLockedException. */
#define DEPLOY_PLAN_MSG_LOCKED                                              \
	"App is locked by one or more deployments. Override with the "      \
	"option '?force=true'. View details at "                            \
	"'/v2/deployments/<DEPLOYMENT_ID>'."

/* Results of the functions below that can fail. */
#define DEPLOY_PLAN_CYCLE (-1) /* the dependency graph has a cycle */
#define DEPLOY_PLAN_INVALID (-1) /* stored JSON unreadable or inconsistent */
#define DEPLOY_PLAN_NOMEM (-2)

/* A group that declares dependencies.  Groups without dependencies need
 * no entry: a group exists as far as the plan cares when apps live below
 * it.  Everything is borrowed from the caller. */
struct deploy_group {
	const char *id;                 /* absolute, normalized */
	const char *const *dependencies; /* absolute ids */
	size_t n_dependencies;
};

/* A read-only view of a root group: its apps (transitively, each id once)
 * and the groups that declare dependencies.  Borrowed arrays and
 * elements; the view owns nothing.  Pods will join here. */
struct deploy_root {
	const struct app *const *apps;
	size_t n_apps;
	const struct deploy_group *groups; /* NULL when n_groups is 0 */
	size_t n_groups;
};

enum deploy_action_type {
	DEPLOY_ACTION_START,   /* StartApplication (0 instances) */
	DEPLOY_ACTION_STOP,    /* StopApplication */
	DEPLOY_ACTION_SCALE,   /* ScaleApplication */
	DEPLOY_ACTION_RESTART, /* RestartApplication */
};

struct deploy_action {
	enum deploy_action_type type;
	char *app_id;                /* owned */
	/* Borrowed from the roots the plan was built from or read back
	 * with: the original definition for Stop, the target one else.  NULL
	 * for a Stop read back without its app (deploy_plan_from_json). */
	const struct app *app;
	/* Start: 0; Scale: the target's instances; Restart: the target's
	 * instances; Stop: 0. */
	int64_t instances;
	char **kill;                 /* Scale only: owned instance ids */
	size_t n_kill;
};

struct deploy_step {
	struct deploy_action *actions; /* owned array, never empty */
	size_t n_actions;
};

struct deploy_plan {
	char *id;                    /* owned, a UUID */
	char *version;               /* owned, the change's timestamp */
	/* Versions of the roots the plan goes from and to, for the state
	 * layer to find them again on resume; owned, NULL when not given. */
	char *original_version;
	char *target_version;
	struct deploy_step *steps;   /* owned array */
	size_t n_steps;
	char **affected_apps;        /* owned, sorted, each id once */
	size_t n_affected_apps;
};

/* Instances a task kill with scale=true sentenced (ScalingProposition's
 * sentencedToDeath).  Borrowed. */
struct deploy_kill {
	const char *app_id;
	const char *const *instance_ids;
	size_t n_instance_ids;
};

/* What a plan is built from.  Everything borrowed; the roots must outlive
 * the plan if its actions' app pointers are used. */
struct deploy_plan_input {
	const struct deploy_root *original;
	const struct deploy_root *target;
	const char *id;               /* the plan id: sched_uuid_v4() */
	const char *version;          /* the change's timestamp */
	const char *original_version; /* may be NULL */
	const char *target_version;   /* may be NULL */
	const char *const *restart_ids; /* apps to restart; unknown ignored */
	size_t n_restart_ids;
	const struct deploy_kill *kills; /* unknown apps ignored */
	size_t n_kills;
};

/* Build the plan from IN.  Returns 0 and the plan in *plan_r (free it with
 * deploy_plan_free; it may have no steps: nothing to do),
 * DEPLOY_PLAN_CYCLE when the target's dependency graph has a cycle, or
 * DEPLOY_PLAN_NOMEM.  *plan_r is untouched on failure. */
int deploy_plan_build(const struct deploy_plan_input *in,
                      struct deploy_plan **plan_r);

/* NULL-safe. */
void deploy_plan_free(struct deploy_plan *plan);

/* Whether ROOT's dependency graph is free of cycles, for validation.
 * Returns 0 when it is, DEPLOY_PLAN_CYCLE when not (report
 * DEPLOY_PLAN_MSG_CYCLE), DEPLOY_PLAN_NOMEM. */
int deploy_root_check_cycles(const struct deploy_root *root);

/* Whether PLAN affects APP_ID. */
bool deploy_plan_affects(const struct deploy_plan *plan, const char *app_id);

/* Whether two plans share an affected app (Marathon's isAffectedBy): the
 * new one is refused with 409 unless forced, which cancels the other. */
bool deploy_plan_conflicts(const struct deploy_plan *a,
                           const struct deploy_plan *b);

/* The 409 body for PLAN against RUNNING (N_RUNNING plans, borrowed):
 * {"message":DEPLOY_PLAN_MSG_LOCKED,"deployments":[{"id":...}]} listing
 * the running plans PLAN conflicts with, in RUNNING's order.  Returns a
 * new reference, or NULL when there is no conflict or out of memory
 * (*nomem_r tells which; NOMEM_R may be NULL). */
struct json_object *
deploy_plan_conflict_body(const struct deploy_plan *plan,
                          const struct deploy_plan *const *running,
                          size_t n_running, bool *nomem_r);

/* Where the runner is.  CURRENT_STEP is 1-based; 0 (not started) or past
 * the last step give empty currentActions.  READINESS, borrowed, may be
 * NULL: an object mapping app ids to their readinessCheckResults arrays;
 * absent apps get []. */
struct deploy_progress {
	size_t current_step;
	struct json_object *readiness;
};

/* The /v2/deployments entry, keys in Marathon's order:
 * {"id","version","affectedApps","affectedPods","steps","currentActions",
 *  "currentStep","totalSteps"}.  PROGRESS NULL means not started.  A new
 * reference, NULL when out of memory. */
struct json_object *deploy_plan_to_json(const struct deploy_plan *plan,
                                        const struct deploy_progress *progress);

/* Only the steps, [{"actions":[{"action":...,"app":...}]}], as in the
 * dryRun answer of PUT /v2/groups.  A new reference, NULL when out of
 * memory. */
struct json_object *deploy_plan_steps_to_json(const struct deploy_plan *plan);

/* The stored form of PLAN: id, version, originalVersion, targetVersion
 * and steps with each action's instances and kill list, so that it can be
 * read back after a restart once the state layer has loaded the two root
 * versions.  A new reference, NULL when out of memory. */
struct json_object *deploy_plan_store_json(const struct deploy_plan *plan);

/* Read a stored plan back (deploy_plan_store_json's form; IN borrowed)
 * and attach its actions to ORIGINAL (Stop) and TARGET (the others), the
 * roots loaded by the versions it names.  Returns 0 and the plan in
 * *plan_r, DEPLOY_PLAN_INVALID when IN is malformed or names an app
 * TARGET lacks (a Stop of an app ORIGINAL lacks gets a NULL app),
 * DEPLOY_PLAN_NOMEM.  *plan_r is untouched on failure. */
int deploy_plan_from_json(struct json_object *in,
                          const struct deploy_root *original,
                          const struct deploy_root *target,
                          struct deploy_plan **plan_r);

/* The target root of the revert deployment DELETE /v2/deployments/{id}
 * starts (DeploymentPlanReverter): CURRENT with every app PLAN affected
 * put back as it was in ORIGINAL (the plan's original root), or removed
 * when ORIGINAL lacks it; other apps of CURRENT, later changes included,
 * stay.  Order: CURRENT's apps, then re-added apps in ORIGINAL's order.
 * Returns 0 and in *apps_r a malloc'ed array of *n_r pointers borrowed
 * from ORIGINAL and CURRENT (the caller frees the array only; it may be
 * NULL when *n_r is 0), or DEPLOY_PLAN_NOMEM.  Group dependencies are
 * CURRENT's. */
int deploy_plan_revert_apps(const struct deploy_plan *plan,
                            const struct deploy_root *original,
                            const struct deploy_root *current,
                            const struct app ***apps_r, size_t *n_r);

#endif /* STADION_DEPLOY_PLAN_H */
