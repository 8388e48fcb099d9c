/*
 * model_app: Marathon app definitions.  model_app_parse reads what a client
 * sent (POST /v2/apps, an element of PUT /v2/apps, a stored version),
 * checks it the way Marathon does (AppValidation.scala, with the same
 * messages and error paths), migrates the deprecated forms (ports, uris,
 * ipAddress, docker.network, docker.portMappings), fills every default and
 * keeps the result as one canonical JSON object: the AppDefinition
 * Marathon returns.  The typed fields beside it are what the scheduler
 * reads; they are derived from that object and never disagree with it.
 *
 * Not done here: service port assignment (0 stays 0 until deployment),
 * group-level rules (dependency cycles, id clashes with groups), features
 * (secrets, gpu_resources, external_volumes are treated as disabled),
 * constraint operators (the constraint plugins check those), the contents
 * of health and readiness checks and volumes (kept as given), resident
 * apps (persistent volumes, residency), the MARATHON_SINGLE_INSTANCE_APP
 * label and --default_network_name (an unnamed container network is
 * refused).
 *
 * The error bodies and definitions contain '/': serialize them with
 * JSON_C_TO_STRING_NOSLASHESCAPE, as Marathon does not escape it.
 */
#ifndef STADION_MODEL_APP_H
#define STADION_MODEL_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "model/model_errors.h"

enum app_network_mode {
	APP_NET_HOST,      /* [{"mode":"host"}], the default */
	APP_NET_BRIDGE,    /* [{"mode":"container/bridge"}] */
	APP_NET_CONTAINER, /* one or more {"mode":"container","name":...} */
};

enum app_container_type {
	APP_CONTAINER_NONE,
	APP_CONTAINER_DOCKER,
	APP_CONTAINER_MESOS,
};

enum app_kill_selection {
	APP_KILL_YOUNGEST_FIRST,
	APP_KILL_OLDEST_FIRST,
};

/* Every const char * of struct app points into app->json and lives as
 * long as the app. */
struct app_kv {
	const char *key;
	const char *value;
};

struct app_constraint {
	const char *field;
	const char *op;
	const char *value; /* NULL for two-element constraints */
};

/* A port definition (host networking) or a container port mapping. */
struct app_port {
	int64_t container_port; /* mappings only; 0 = the host port */
	int64_t host_port;      /* mappings only; -1 = none, 0 = from offer */
	int64_t service_port;   /* definitions: "port"; 0 = to assign */
	const char *name;       /* NULL when unnamed */
	const char *protocol;   /* "tcp", "udp" or "udp,tcp" */
};

struct app {
	struct json_object *json; /* the canonical definition, owned */

	const char *id; /* absolute, normalized */
	const char *cmd;                /* NULL when absent */
	const char **args;              /* owned array, strings borrowed */
	size_t n_args;
	const char *user;               /* NULL when absent */
	double cpus, mem, disk;
	int64_t gpus, instances;
	struct app_kv *env;             /* owned array */
	size_t n_env;
	struct app_kv *labels;          /* owned array */
	size_t n_labels;
	struct app_constraint *constraints; /* owned array */
	size_t n_constraints;
	struct app_port *port_definitions;  /* owned array */
	size_t n_port_definitions;
	struct app_port *port_mappings;     /* owned array */
	size_t n_port_mappings;
	bool require_ports;
	enum app_network_mode network_mode;
	enum app_container_type container_type;
	const char *docker_image;       /* NULL without container.docker */
	bool docker_force_pull, docker_privileged;
	struct app_kv *docker_parameters; /* owned array */
	size_t n_docker_parameters;
	struct json_object *health_checks; /* array in json, borrowed */
	double upgrade_min_health, upgrade_max_over;
	int64_t backoff_seconds;
	double backoff_factor;
	int64_t max_launch_delay_seconds;
	enum app_kill_selection kill_selection;
	int64_t task_kill_grace_period_seconds; /* -1 when unset */
	bool unreachable_disabled;
	int64_t unreachable_inactive_after, unreachable_expunge_after;
	const char **dependencies;      /* owned array of absolute ids */
	size_t n_dependencies;
	const char *role;
	/* NULL until model_app_stamp (or read from a stored version). */
	const char *version, *last_scaling_at, *last_config_change_at;
	unsigned refs; /* references beyond the first (model_app_ref) */
};

/* Parse, validate and normalize the app definition IN (borrowed, not
 * changed).  A relative id is resolved against BASE_ID (an absolute id,
 * "/" for /v2/apps; NULL means "/").  Every error is added to ERRORS with
 * ERR_PREFIX before its path ("" or NULL, or "/apps(0)" for the elements
 * of an array body).  Returns 0 and the new app in *app_r (the caller
 * frees it with model_app_free); -1 with the reasons in ERRORS when the
 * definition is refused; -2 when out of memory.  *app_r is untouched on
 * failure. */
int model_app_parse(struct json_object *in, const char *base_id,
                    const char *err_prefix, struct app **app_r,
                    struct model_errors *errors);

/* Drop a reference: the app is freed with its last one.  NULL-safe. */
void model_app_free(struct app *app);
/* Take another reference to APP (a definition is immutable once parsed
 * and stamped, so sharing it is safe): the state snapshot, the tracker's
 * instances and running deployments each hold their own.  Returns APP. */
struct app *model_app_ref(const struct app *app);

/* The AppDefinition Marathon returns (without the runtime embeds such as
 * tasksRunning).  A new reference the caller puts; NULL when out of
 * memory. */
struct json_object *model_app_to_json(const struct app *app);

/* Partial update (PUT with partialUpdate=true, PATCH): the top-level fields
 * of PATCH replace those of CURRENT, the rest is kept, and the result is
 * parsed again as a whole.  The id stays CURRENT's (the URL's id wins).
 * Returns as model_app_parse. */
int model_app_merge(const struct app *current, struct json_object *patch,
                    const char *err_prefix, struct app **app_r,
                    struct model_errors *errors);

/* How two definitions of one app differ, for the deployment plan. */
enum model_app_change {
	MODEL_APP_SAME,   /* equal apart from version and versionInfo */
	MODEL_APP_SCALE,  /* only instances differ: ScaleApplication */
	MODEL_APP_CONFIG, /* anything else: RestartApplication */
};
enum model_app_change model_app_compare(const struct app *from,
                                        const struct app *to);

/* "2015-09-25T15:13:48.343Z" and its terminating NUL. */
#define MODEL_TIMESTAMP_LEN 25
/* Format MS (milliseconds since the epoch) as UTC ISO-8601 with exactly
 * three fraction digits into BUF. */
void model_timestamp_format(int64_t ms, char buf[MODEL_TIMESTAMP_LEN]);
/* The current time, formatted so. */
void model_timestamp_now(char buf[MODEL_TIMESTAMP_LEN]);

/* Set APP's version and versionInfo for a change made at NOW, as Marathon's
 * GroupVersioningUtil does: a new app (PREVIOUS NULL) or a config change
 * sets version, lastScalingAt and lastConfigChangeAt to NOW; a scale-only
 * change sets version and lastScalingAt; RESTART (POST .../restart) sets
 * version and lastConfigChangeAt; an unchanged app keeps PREVIOUS's.
 * Returns 0, or -1 when out of memory (APP is then unchanged). */
int model_app_stamp(struct app *app, const struct app *previous,
                    const char *now, bool restart);

#endif /* STADION_MODEL_APP_H */
