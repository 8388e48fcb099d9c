/*
 * sched_task: the task builder (Marathon's TaskBuilder and
 * EnvironmentHelper, marathon-api.md 3.8).  From an app, a task id, the
 * agent an offer came from and the host ports taken from that offer, it
 * builds the driver_task_spec to launch: the command, the resources, the
 * DOCKER block and the task's environment exactly as Marathon sets it.
 *
 * Host ports.  sched_task_port_requests says which host ports an app
 * needs from an offer, in the order the builder consumes them:
 *   host networking  one per port definition; 0 (any port of the offer),
 *                    or with requirePorts the definition's port itself;
 *   bridge/container one per port mapping that has a hostPort; its
 *                    hostPort (0 = any).  Mappings without one (container
 *                    networks only) take none.
 * The matcher picks the ports and passes them, in that order, to
 * sched_task_build.
 *
 * A port mapping with containerPort 0 gets the host port as its container
 * port (TaskBuilder: services that advertise their container port then
 * advertise the reachable one).  One with neither a host nor a container
 * port gets a random container port >= 1025 unused by the task, as
 * EnvironmentHelper.portsEnv does.
 */
#ifndef STADION_SCHED_TASK_H
#define STADION_SCHED_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/driver.h"
#include "model/model_app.h"

/* The host ports APP needs, see above: *REQ_R is a malloc'ed array of *N_R
 * port numbers (0 = any port of the offer), owned by the caller; NULL when
 * *N_R is 0.  Returns 0, or -1 (ENOMEM). */
int sched_task_port_requests(const struct app *app, uint32_t **req_r,
                             size_t *n_r);

/* What the builder needs besides the app.  Everything borrowed. */
struct sched_task_params {
	const char *task_id;     /* sched_task_id_format's */
	const char *agent_id;    /* the offer's agent->id */
	const char *hostname;    /* the offer's agent->hostname: HOST */
	const uint32_t *host_ports; /* one per port request, chosen */
	size_t n_host_ports;
	const char *env_prefix;  /* --env_vars_prefix, NULL for none */
	bool enforce_role;       /* the group's enforceRole */
	/* Random container ports (see above); NULL uses random(3).  Must
	 * return a number in [1025, 65535]. */
	uint32_t (*random_port)(void *arg);
	void *random_arg;
};

/* A built task.  SPEC and everything it points to are owned by the struct
 * (or borrowed from the app, which must outlive it); free it with
 * sched_task_free. */
struct sched_task {
	struct driver_task_spec spec;
	struct driver_docker docker;        /* spec.docker points here */
	char **env;                         /* NULL-terminated KEY=VALUE */
	size_t n_env;
	const char **argv;                  /* NULL-terminated, borrowed */
	uint32_t *ports;                    /* the host ports, a copy */
	struct driver_docker_port *port_mappings;
	struct driver_kv *labels;           /* app labels + MESOS_TASK_ID */
	struct driver_kv *parameters;       /* the app's, borrowed strings */
	/* Each port index's effective port, as in PORT<i> (the task JSON's
	 * "ports" are the host ports, SPEC.ports). */
	uint32_t *index_ports;
	size_t n_index_ports;
	char *task_id;                      /* copies: the spec's ids */
	char *agent_id;
};

/* Build the task for APP (borrowed; it must outlive *TASK_R) with PARAMS.
 * Returns 0 and *TASK_R (the caller frees it with sched_task_free); -1
 * with errno EINVAL when PARAMS does not carry one host port per port
 * request, ENOMEM when out of memory.  The environment, in order (a later
 * key replaces an earlier one's value in place):
 *   MESOS_TASK_ID, MARATHON_APP_ID, MARATHON_APP_VERSION,
 *   MARATHON_APP_DOCKER_IMAGE (DOCKER containers only),
 *   MARATHON_APP_RESOURCE_CPUS|MEM|DISK (Java's Double.toString: "0.1",
 *   "128.0") and _GPUS (an integer), MARATHON_APP_ENFORCE_GROUP_ROLE
 *   (TRUE|FALSE), MARATHON_APP_LABELS and MARATHON_APP_LABEL_<NAME>,
 *   then with the prefix: PORT<i>, PORT_<declared>, PORT_<NAME>, PORT,
 *   PORTS, HOST; last the app's own env (string values only; secrets are
 *   not supported). */
int sched_task_build(const struct app *app,
                     const struct sched_task_params *params,
                     struct sched_task **task_r);

/* NULL-safe. */
void sched_task_free(struct sched_task *task);

/* Java's Double.toString of D into BUF ("0.1", "128.0", "1.0E-4",
 * "1.0E7"): the shortest decimal that reads back as D. */
void sched_task_format_double(double d, char buf[32]);

/* The environment variable name of the label KEY (EnvironmentHelper:
 * runs of [^A-Za-z0-9_] become '_', then upper case).  Malloc'ed, the
 * caller frees it; NULL when out of memory. */
char *sched_task_label_env_name(const char *key);

#endif /* STADION_SCHED_TASK_H */
