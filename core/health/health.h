/*
 * health: Marathon's health checks (reference 4.1) run through probe
 * plugins, with two additions from marathon#3317 and #3318.
 *
 * Every task of an app with healthChecks gets, once it is TASK_RUNNING, one
 * schedule per check on a loop timer: the first check at a random point
 * within min(interval, 5 s), as Marathon starts them soon, then every
 * intervalSeconds on a grid whose phase is random over the whole interval,
 * so that tasks started together do not check together.  A check hands the task's
 * endpoint to the probe plugin that lists the check's protocol, and the
 * verdict comes back through the probe's done callback:
 *   healthy    consecutiveFailures = 0, lastSuccess (firstSuccess once);
 *   unhealthy  ignored before the first success while the task has run for
 *              less than gracePeriodSeconds; otherwise counted.  When a
 *              counted failure arrives and the *previous* count was already
 *              maxConsecutiveFailures (> 0), the task is killed
 *              ("unhealthy_instance_kill") and its instance relaunched;
 *   ignored    (an HTTP 1xx with ignoreHttp1xx) changes nothing.
 * The verdicts go to the tracker (tracker_set_health): healthy when every
 * check has a result and is alive, unhealthy when one is not alive.  The
 * deployment runner gates restarts and scales on that flag.
 *
 * Readiness checks (reference 4.2, the first of readinessChecks): from the
 * moment the task runs, GET path on the port named portName every
 * intervalSeconds until the status is one of httpStatusCodesForReady; until
 * then the instance does not count as healthy, so that restarts and scales
 * wait for it (Marathon runs them only during deployments; here every new
 * task has to be ready once).
 *
 * Beyond Marathon:
 *   replacement before kill  When the app's agents have room for one more
 *       instance (and the app is at its instance count and not being
 *       restarted), a replacement is launched first and the unhealthy
 *       instance is decommissioned when one more instance of the app is
 *       healthy, or at the latest after the replacement's grace period and
 *       (maxConsecutiveFailures + 1) intervals; capacity never dips.
 *   kill circuit breaker  Kills pause while stadiond's loop has stalled
 *       (longer than --health_stall_ms, then for one check interval), or
 *       while at least --health_breaker_percent of all checked tasks are
 *       failing (with at least --health_breaker_min tasks checked); a
 *       warning is logged and GET /v2/info shows it.  Results of checks
 *       that were under way across a stall are discarded: a stall of
 *       stadiond is never a failure of a task.
 *
 * Not thread-safe: the loop thread owns everything.
 */
#ifndef STADION_HEALTH_H
#define STADION_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "driver/driver.h"
#include "plugin/plugin_loader.h"
#include "sched/sched_tracker.h"

/* One element of an app's healthChecks with Marathon's defaults applied. */
struct health_check {
	char *protocol;            /* owned: "HTTP", "TCP", "COMMAND", ... */
	uint32_t grace_period_s;   /* gracePeriodSeconds, default 300 */
	uint32_t interval_s;       /* intervalSeconds, default 60 */
	uint32_t timeout_s;        /* timeoutSeconds, default 20 */
	uint32_t max_failures;     /* maxConsecutiveFailures, default 3 */
	int64_t port_index;        /* portIndex, -1 when unused */
	int64_t port;              /* port, -1 when unset (it wins) */
	char *path;                /* owned: path, default "/" */
	bool ignore_http1xx;       /* ignoreHttp1xx, default false */
	char *command;             /* owned: command.value, NULL when none */
};

/* Parse HC (one healthChecks element, borrowed) into *CHECK_R with the
 * defaults; the app has N_PORTS ports (portIndex defaults to 0 for checks
 * that need a port when there are some).  0, or -1 with a message for the
 * operator in ERR. */
int health_check_parse(struct json_object *hc, size_t n_ports,
                       struct health_check *check_r, char *err,
                       size_t err_len);
/* Free what CHECK owns.  NULL-safe. */
void health_check_clear(struct health_check *check);

struct health_config {
	struct event_base *base;         /* borrowed */
	struct tracker *tracker;         /* borrowed; the hooks are set */
	struct driver *driver;           /* borrowed: offers, for "room" */
	const struct plugin_set *plugins; /* borrowed: the probes */
	struct plugin_host *host;        /* borrowed: readiness checks use
	                                  * its HTTP client */
	const char *env_prefix;          /* --env_vars_prefix, NULL: none */
	int64_t stall_ms;                /* --health_stall_ms */
	int64_t breaker_percent;         /* --health_breaker_percent */
	int64_t breaker_min;             /* --health_breaker_min */
};

struct health;

/* Health checking over CFG->tracker, whose health hooks it installs.  NULL
 * when out of memory. */
struct health *health_new(const struct health_config *cfg);
/* Cancel every check and uninstall the hooks; before tracker_free().
 * NULL-safe. */
void health_free(struct health *h);

/* {"killsPaused": bool, "reason": string or null, "since": timestamp or
 * null, "checkedTasks", "failingTasks", "checksStarted", "lateMsP95"} for
 * GET /v2/info; lateMsP95 is over the latest 8192 checks.  A new
 * reference. */
struct json_object *health_info_json(const struct health *h);

#endif /* STADION_HEALTH_H */
