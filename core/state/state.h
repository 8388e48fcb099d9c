/*
 * state: the repository of stadiond's entities over a storage plugin
 * (include/stadion/storage.h).  The one place that turns apps, root group
 * versions, deployments, instances and the framework id into storage keys
 * and values and back.
 *
 * Keys (one entity per key, each value bounded):
 *
 *   apps/<safe id>/<version>   an app version: model_app_to_json()
 *   groups/root/<version>      a root version: {"version", "apps":
 *                              [{"id", "version"}...]} sorted by id
 *   groups/root/current        the current root version (its text)
 *   deployments/<id>           a deployment (state_deployment below)
 *   instances/<instance id>    an instance (state_instance below)
 *   framework-id               the framework id (its text)
 *
 * A safe id is the app id without its leading '/' and with '_' for every
 * other '/' ("/a/b.c" -> "a_b.c", model_id_safe()); id segments are
 * [a-z0-9.-], so '_' never appears in an id and the mapping is reversible.
 * Versions are Marathon's fixed-width UTC timestamps, so byte order (the
 * order of list()) is time order; "current" sorts after every timestamp.
 *
 * Memory follows storage: every mutation is one atomic storage batch, and
 * the in-memory snapshot changes only when its completion reported
 * success, right before the caller's completion runs (which may then
 * apply its own derived state).  A failed mutation leaves the snapshot as
 * it was and hands the error to the caller's completion.
 *
 * Root changes (state_commit) run one at a time: a commit started while
 * another is under way waits in a queue and is turned into storage
 * operations only when the previous one completed, against the snapshot
 * that completion left.  Instance and framework id writes go to storage at
 * once and are applied in the order they were started (the storage
 * plugin's order).
 *
 * Pruning: each commit also deletes, in the same batch, the app versions
 * beyond max_versions of each app (oldest first) and the root versions
 * beyond max_versions, never one that the current root or a live
 * deployment (its from and to roots) references; the versions of an app
 * that no such root references any more are deleted altogether.  An older
 * root version kept for history may then name an app version that is
 * gone.
 *
 * Threads: everything here runs on the loop thread, completions included
 * (they come from the storage plugin's completions, never from inside the
 * call that started the operation).
 */
#ifndef STADION_STATE_H
#define STADION_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <stadion/storage.h>

#include "model/model_app.h"

/* An instance's goal (marathon-api.md 3.7). */
enum state_goal {
	STATE_GOAL_RUNNING,
	STATE_GOAL_STOPPED,
	STATE_GOAL_DECOMMISSIONED,
};

/* "Running", "Stopped", "Decommissioned"; static storage. */
const char *state_goal_name(enum state_goal goal);

/* One instance and its current task.  Every pointer is owned by the
 * struct; strings other than the ids may be NULL when unknown. */
struct state_instance {
	char *instance_id;     /* "<safe app id>.instance-<uuid>", no '/' */
	char *app_id;
	char *app_version;     /* the app version it runs */
	char *agent_id;
	char *hostname;
	char *task_id;         /* "<instance id>._app.<incarnation>" */
	uint32_t incarnation;
	char *state;           /* the scheduler's condition, e.g. "Running" */
	enum state_goal goal;
	uint32_t *host_ports;
	size_t n_host_ports;
	char *staged_at, *started_at; /* timestamps */
	/* The local driver's launch record, for driver_adopt(). */
	int64_t pid;           /* 0 when none */
	uint64_t start_ticks;
	char *sandbox;
};

/* A deployment, as the deployment runner needs it to resume or roll back.
 * Every pointer is owned by the struct. */
struct state_deployment {
	char *id;                  /* uuid */
	char *version;             /* the change's timestamp */
	char **affected_apps;      /* app ids */
	size_t n_affected_apps;
	struct json_object *steps; /* array; its shape is the runner's */
	int32_t current_step;      /* 0-based index into steps */
	char *from_root, *to_root; /* the original and target root versions */
};

/* NULL-safe. */
void state_instance_free(struct state_instance *inst);
void state_deployment_free(struct state_deployment *dep);

/* What stadiond knows after state_load(), kept up to date by every
 * successful mutation.  Owned by the repository; read it between loop
 * callbacks, never keep a pointer across a mutation's completion (the
 * arrays are rebuilt and the entries of replaced entities freed). */
struct state_snapshot {
	char *root_version;              /* NULL before the first commit */
	struct app **apps;               /* the current root's, by id */
	size_t n_apps;
	struct state_deployment **deployments; /* by id */
	size_t n_deployments;
	struct state_instance **instances;     /* by instance id */
	size_t n_instances;
	char *framework_id;              /* NULL when none */
};

struct state;

struct state_config {
	/* Versions kept per app and of the root (--zk_max_versions); 0 means
	 * 50. */
	uint32_t max_versions;
};

/* Completion of every asynchronous call below: RC 0 or a negative
 * STADION_E* code with ERRMSG (borrowed for the call) saying why. */
typedef void state_done_fn(void *arg, int rc, const char *errmsg);

/* A repository over the open storage plugin OPS with STORAGE (its state
 * from create()); both borrowed.  The storage must outlive the repository,
 * and be destroyed before it: its destroy() calls the completions still
 * due, which use the repository.  NULL when out of memory. */
struct state *state_new(const struct stadion_storage_ops *ops, void *storage,
                        const struct state_config *cfg);
/* Before the store is destroyed: the completions its destroy() still
 * calls start no queued commit, which a store being destroyed could accept
 * and never complete.  The queue is left to state_free().  NULL-safe. */
void state_close(struct state *s);
/* Frees the snapshot and whatever waits in the commit queue (without
 * calling completions).  NULL-safe. */
void state_free(struct state *s);

/* Read everything into the snapshot: the current root and its app
 * versions, the version lists, the deployments, instances and framework
 * id.  DONE is called once; on failure the snapshot stays empty.  Call it
 * once, before any mutation (which returns STADION_EBUSY until the load
 * succeeded).  Returns 0, or a negative code with ERR when it did not
 * start (DONE is then not called). */
int state_load(struct state *s, state_done_fn *done, void *arg,
               struct stadion_err *err);

/* The snapshot; borrowed (see struct state_snapshot). */
const struct state_snapshot *state_snapshot(const struct state *s);
/* Lookups in the snapshot by id; borrowed, NULL when absent. */
const struct app *state_app(const struct state *s, const char *id);
const struct state_deployment *state_deployment(const struct state *s,
                                                const char *id);
const struct state_instance *state_instance(const struct state *s,
                                            const char *instance_id);

/* One root change: a new root version and/or deployment changes.  The
 * arrays are borrowed for the call; the apps and deployments they point
 * to are taken (see state_commit). */
struct state_change {
	/* A new root version; NULL keeps the current root (then the app
	 * arrays must be empty). */
	const char *root_version;
	/* Apps of the new root that are new or changed (app->version set);
	 * they replace those with the same id. */
	struct app **put_apps;
	size_t n_put_apps;
	/* Ids of apps the new root no longer has. */
	const char *const *del_apps;
	size_t n_del_apps;
	/* Deployments to store (new, or progress of one) and to remove. */
	struct state_deployment **put_deployments;
	size_t n_put_deployments;
	const char *const *del_deployments;
	size_t n_del_deployments;
};

/* Commit CHANGE as one atomic batch (app versions, root version, current
 * root, deployments, and the pruning), after the commits started before it.
 * On a 0 return the repository owns CHANGE's apps and deployments: on
 * success they are in the snapshot when DONE runs, on failure they are
 * freed and the snapshot is unchanged.  On a negative return (ERR says
 * why: EINVAL for a malformed or empty change, EBUSY before the load) the
 * caller keeps them and DONE is not called.  The caller computes CHANGE
 * from the snapshot; when commits are queued, each applies on top of the
 * previous one's outcome (the deployment layer serializes its mutations,
 * marathon-api.md 3.1, so this is the order it means). */
int state_commit(struct state *s, const struct state_change *change,
                 state_done_fn *done, void *arg, struct stadion_err *err);

/* Instance writes (state_put_instances) are numbered 1, 2, ... in the
 * order they are made, and the store completes them in that order.  The
 * listener hears of each completion (RC 0: stored) right before the
 * write's own callback; one listener, NULL to remove it. */
typedef void state_write_fn(void *arg, uint64_t seq, int rc);
void state_set_write_listener(struct state *s, state_write_fn *fn,
                              void *arg);
/* The number of the last instance write made; 0 before the first. */
uint64_t state_last_write(const struct state *s);

/* Store the N (> 0) instances of INSTS as one batch (a new one, or a
 * changed state or goal of one).  On a 0 return the repository owns the
 * instances (INSTS itself is borrowed for the call): on success they
 * replace those with the same id in the snapshot when DONE runs, else
 * they are freed.  Writes are not queued like commits: each goes to
 * storage at once and is applied at its own completion, in order. */
int state_put_instances(struct state *s, struct state_instance **insts,
                        size_t n, state_done_fn *done, void *arg,
                        struct stadion_err *err);
/* The same for one instance. */
int state_put_instance(struct state *s, struct state_instance *inst,
                       state_done_fn *done, void *arg,
                       struct stadion_err *err);
/* Remove the instance INSTANCE_ID (borrowed; a missing one succeeds). */
int state_del_instance(struct state *s, const char *instance_id,
                       state_done_fn *done, void *arg,
                       struct stadion_err *err);
/* Store the framework id ID (borrowed, copied). */
int state_put_framework_id(struct state *s, const char *id,
                           state_done_fn *done, void *arg,
                           struct stadion_err *err);

/* The stored versions of app ID, oldest first (GET /v2/apps/{id}/versions),
 * as of the snapshot: borrowed like the snapshot.  Returns 0, or
 * STADION_ENOENT when the app has none. */
int state_app_versions(const struct state *s, const char *id,
                       const char *const **versions_r, size_t *n_r);
/* The version of app ID in root version ROOT_VERSION, from the root
 * documents the repository holds: the current root's and those of the
 * live deployments (their from and to roots), which is what a rollback
 * of a deployment resumed after a restart needs.  *VERSION_R is borrowed
 * like the snapshot.  0; STADION_ENOENT when that root has no app ID;
 * STADION_EINVAL when the repository holds no document of that root. */
int state_root_app_version(const struct state *s, const char *root_version,
                           const char *id, const char **version_r);
/* The stored root versions, oldest first; borrowed like the snapshot. */
void state_root_versions(const struct state *s,
                         const char *const **versions_r, size_t *n_r);

/* Completion of state_read_app: APP (owned by the callee, who frees it
 * with model_app_free) when RC is 0, else NULL. */
typedef void state_app_fn(void *arg, int rc, struct app *app,
                          const char *errmsg);
/* Read version VERSION of app ID from storage (GET
 * /v2/apps/{id}/versions/{v}, a rollback): STADION_ENOENT when it is not
 * stored.  ID and VERSION are borrowed for the call. */
int state_read_app(struct state *s, const char *id, const char *version,
                   state_app_fn *done, void *arg, struct stadion_err *err);

/* The storage key of app ID's VERSION into BUF: 0, or -1 when it does not
 * fit or ID is not absolute.  For tools and tests. */
int state_app_key(const char *id, const char *version, char *buf,
                  size_t len);

#endif /* STADION_STATE_H */
