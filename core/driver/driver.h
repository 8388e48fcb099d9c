/*
 * driver: what the scheduler talks to in order to run tasks.  An internal
 * vtable, like libevent's backends, so that the local driver (this host)
 * and later a Mesos driver can sit behind the same calls.
 *
 * A driver owns agents (places that run tasks, each with resources and
 * attributes), makes offers from their free resources, launches and kills
 * tasks, and reports every change of a task's state through the one status
 * callback the scheduler registers.  Status reports are never delivered
 * from inside a driver call: they are queued and delivered from the event
 * loop, so the scheduler may call the driver from its status callback and
 * never sees its own state change under its feet.
 *
 * Task ids are the scheduler's (marathon-api.md 3.7); the driver keeps a
 * task from launch (or adopt) until the status report of a terminal state,
 * and forgets it after that report.
 */
#ifndef STADION_DRIVER_H
#define STADION_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Mesos' task states, those a driver reports (marathon-api.md 3.7). */
enum driver_task_state {
	DRIVER_TASK_STAGING,
	DRIVER_TASK_STARTING,
	DRIVER_TASK_RUNNING,
	DRIVER_TASK_KILLING,
	DRIVER_TASK_FINISHED,
	DRIVER_TASK_FAILED,
	DRIVER_TASK_KILLED,
	DRIVER_TASK_LOST,
	DRIVER_TASK_ERROR,
};

/* "TASK_RUNNING" etc.; static storage. */
const char *driver_task_state_name(enum driver_task_state state);
/* FINISHED, FAILED, KILLED, LOST, ERROR: the task is gone. */
bool driver_task_state_terminal(enum driver_task_state state);

/* Inclusive. */
struct driver_port_range {
	uint32_t begin, end;
};

/* The Mesos kinds of attribute value. */
enum driver_attr_type {
	DRIVER_ATTR_TEXT,
	DRIVER_ATTR_SCALAR,
	DRIVER_ATTR_RANGES,
	DRIVER_ATTR_SET,
};

/* An agent attribute, its value as text formatted as Marathon formats it
 * for constraints (Constraints.getValueString): scalars with
 * driver_attr_format_scalar(), ranges "[1-5,8-9]" sorted by begin, sets
 * "{a,b}" sorted. */
struct driver_attribute {
	char *name;
	char *value;
	enum driver_attr_type type;
};

/* V as Java's NumberFormat.getInstance() (en_US) formats it, which is what
 * Marathon compares constraints with: at most three decimals rounded
 * half-even, no trailing zeros, "," between thousands ("1,234.5").
 * Truncated to BUFLEN like snprintf; returns the length it needed. */
int driver_attr_format_scalar(double v, char *buf, size_t buflen);

/* An agent; owned by the driver, alive as long as the driver. */
struct driver_agent {
	char *id;                        /* "local-0", ... */
	char *hostname;
	double cpus, mem, disk;          /* totals; mem and disk in MiB */
	struct driver_port_range *ports; /* sorted, disjoint */
	size_t n_ports;
	struct driver_attribute *attributes;
	size_t n_attributes;
	bool simulated;                  /* no processes, states on timers */
};

/* What an agent has free right now.  Everything it points to is owned by
 * the array driver_offers() returns, except AGENT (borrowed from the
 * driver). */
struct driver_offer {
	const struct driver_agent *agent;
	double cpus, mem, disk;
	struct driver_port_range *ports; /* free ports, sorted */
	size_t n_ports;
};

/* A key and a value, both borrowed. */
struct driver_kv {
	const char *key;
	const char *value;
};

struct driver_docker_port {
	uint32_t container_port;
	uint32_t host_port;      /* already chosen; 0 when not published */
	const char *protocol;    /* "tcp", "udp", "tcp,udp"; NULL = tcp */
};

/* A DOCKER container (Marathon's container.docker). */
struct driver_docker {
	const char *image;
	const char *network;     /* "BRIDGE", "HOST", "USER", "NONE" or NULL */
	const struct driver_docker_port *port_mappings;
	size_t n_port_mappings;
	const struct driver_kv *parameters; /* passed as --key=value */
	size_t n_parameters;
	const struct driver_kv *labels;
	size_t n_labels;
	bool privileged;
	bool force_pull;
};

/* What to launch.  Everything is borrowed for the duration of the call;
 * the driver copies what it keeps. */
struct driver_task_spec {
	const char *task_id;
	const char *agent_id;       /* NULL: the first agent */
	const char *const *argv;    /* NULL-terminated; NULL: use SHELL */
	const char *shell;          /* run as /bin/sh -c SHELL */
	const char *const *env;     /* NULL-terminated KEY=VALUE, complete */
	double cpus, mem, disk;
	const uint32_t *ports;      /* host ports, chosen from the offer */
	size_t n_ports;
	int64_t kill_grace_ms;      /* <= 0: DRIVER_DEFAULT_GRACE_MS */
	const struct driver_docker *docker; /* NULL: a command task */
};

#define DRIVER_DEFAULT_GRACE_MS 3000

/* What the state layer persists to adopt a task after a restart.
 * SANDBOX is borrowed from the driver, valid until the task's terminal
 * report. */
struct driver_launch_record {
	pid_t pid;               /* also the process group id; 0 if none */
	uint64_t start_ticks;    /* /proc/<pid>/stat field 22 */
	const char *sandbox;     /* NULL for simulated tasks */
};

/* What a launch left on its host, found by task id after a restart
 * (driver_find_launch). */
#define DRIVER_FOUND_MAX_PORTS 64
struct driver_found_launch {
	pid_t pid;
	uint64_t start_ticks;
	char agent_id[256];
	uint32_t ports[DRIVER_FOUND_MAX_PORTS];
	size_t n_ports;
};

/* One status report; everything borrowed for the duration of the
 * callback. */
struct driver_status {
	const char *task_id;
	const char *agent_id;
	enum driver_task_state state;
	const char *message;     /* why, for people; may be NULL */
	int exit_status;         /* -1 when unknown or killed by a signal */
	int term_signal;         /* 0 when none or unknown */
	double timestamp;        /* seconds since the epoch */
};

/* Called from the event loop.  It may launch, kill, adopt or reconcile,
 * but must not destroy the driver. */
typedef void driver_status_fn(const struct driver_status *status,
                              void *arg);

struct driver;

/* The vtable.  Every call returns 0 or -1 with errno set and, where there
 * is an ERR buffer, a message for people in it. */
struct driver_ops {
	const char *name;
	void (*destroy)(struct driver *d);
	int (*agents)(struct driver *d, const struct driver_agent **agents_r,
	              size_t *n_r);
	int (*offers)(struct driver *d, struct driver_offer **offers_r,
	              size_t *n_r);
	int (*launch)(struct driver *d, const struct driver_task_spec *spec,
	              char *err, size_t errlen);
	int (*kill)(struct driver *d, const char *task_id, int64_t grace_ms);
	int (*adopt)(struct driver *d, const struct driver_task_spec *spec,
	             const struct driver_launch_record *rec, char *err,
	             size_t errlen);
	int (*reconcile)(struct driver *d, const char *task_id);
	int (*launch_record)(struct driver *d, const char *task_id,
	                     struct driver_launch_record *rec_r);
	int (*find_launch)(struct driver *d, const char *task_id,
	                   struct driver_found_launch *found_r);
};

/* The part every driver starts with (the implementation embeds it first). */
struct driver {
	const struct driver_ops *ops;
	driver_status_fn *status_fn;     /* NULL: reports are dropped */
	void *status_arg;
};

/* Register the scheduler's status callback (replaces the previous one). */
void driver_set_status_cb(struct driver *d, driver_status_fn *fn, void *arg);

/* Frees the driver; running tasks are left running (they survive, to be
 * adopted by the next driver).  NULL-safe. */
void driver_destroy(struct driver *d);

/* The agents; the array is borrowed from the driver. */
int driver_agents(struct driver *d, const struct driver_agent **agents_r,
                  size_t *n_r);
/* One offer per agent with its free resources.  *OFFERS_R is owned by the
 * caller: free with driver_offers_free(). */
int driver_offers(struct driver *d, struct driver_offer **offers_r,
                  size_t *n_r);
void driver_offers_free(struct driver_offer *offers, size_t n);

/* Launch SPEC.  Fails at once (-1, ERR) when the spec cannot be accepted
 * (unknown agent, duplicate id, ports not free, resources exceeded);
 * otherwise every later outcome, failures included, comes as status
 * reports: STAGING, then RUNNING or FAILED, ... */
int driver_launch(struct driver *d, const struct driver_task_spec *spec,
                  char *err, size_t errlen);
/* Kill TASK_ID: KILLING at once, then KILLED.  GRACE_MS < 0 uses the
 * task's own grace period.  -1 with ENOENT for an unknown task. */
int driver_kill(struct driver *d, const char *task_id, int64_t grace_ms);
/* Re-attach a task launched by an earlier driver (e.g. before a restart of
 * stadiond), found in stored state: SPEC says its id, agent, resources and
 * ports (its command is ignored), REC what driver_launch_record() said
 * (its pid and start ticks; the driver derives the sandbox itself).  A
 * pid of 0 means the record was never stored: a driver that keeps its own
 * (the local one, driver_local.h) looks there, others report LOST.
 * Resources are accounted but not checked: the task runs already.  The
 * outcome comes as a status report: RUNNING "adopted", or LOST. */
int driver_adopt(struct driver *d, const struct driver_task_spec *spec,
                 const struct driver_launch_record *rec, char *err,
                 size_t errlen);
/* Report the current state of TASK_ID again, or of every task when NULL.
 * -1 with ENOENT for an unknown task (the scheduler treats it as lost). */
int driver_reconcile(struct driver *d, const char *task_id);
int driver_launch_record(struct driver *d, const char *task_id,
                         struct driver_launch_record *rec_r);
/* Whether TASK_ID was launched on this host by any stadiond, as far as
 * what the launch left behind tells (the local driver: the sandbox's
 * launch record), into *FOUND_R.  For a task the state knows only as
 * scheduled: it may have been started after that was stored and before
 * its launch was.  -1 with ENOENT when nothing says so, ENOTSUP when the
 * driver cannot tell. */
int driver_find_launch(struct driver *d, const char *task_id,
                       struct driver_found_launch *found_r);

#endif /* STADION_DRIVER_H */
