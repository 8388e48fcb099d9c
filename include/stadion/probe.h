/*
 * stadion plugin ABI: health probes (kind STADION_PLUGIN_KIND_PROBE).
 *
 * A probe runs one health check of one task endpoint and reports the result
 * through a completion callback.  stadiond schedules checks (grace period,
 * interval, jitter, consecutive failures, kills); the probe only answers
 * "healthy or not, and why".  A probe's name is the lower-case protocol
 * family it serves ("http", "tcp", "command"); it lists the Marathon
 * protocols it accepts in `protocols`.
 *
 * A probe does its I/O through the host table's asynchronous services
 * (fd watches and timers, http_get, spawn): check() starts a check and
 * returns at once, the verdict comes later through done.
 *
 * Status: the members below are ABI 1.0; see plugin.h for the growth
 * rules.
 */
#ifndef STADION_PROBE_H
#define STADION_PROBE_H

#include <stadion/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What to check.  Borrowed for the duration of check(); copy what is needed
 * later. */
struct stadion_probe_target {
	uint32_t size;          /* sizeof(struct stadion_probe_target) */
	const char *protocol;   /* "HTTP", "HTTPS", "TCP", "COMMAND",
	                         * "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP" */
	const char *host;       /* numeric address to connect to */
	uint16_t port;          /* resolved port (portIndex or port) */
	const char *path;       /* HTTP path, NULL means "/" */
	bool ignore_http1xx;    /* treat 1xx as "no answer yet" */
	uint32_t timeout_ms;    /* timeoutSeconds * 1000 */
	const char *command;    /* COMMAND: the shell command (/bin/sh -c) */
	const char *const *env; /* COMMAND: the task's environment, a
	                         * NULL-terminated KEY=VALUE list */
	const char *sandbox;    /* COMMAND: the task's sandbox, its working
	                         * directory; NULL when it has none */
	const char *task_id;    /* for messages */
};

/* A check's verdict. */
enum stadion_probe_result {
	STADION_PROBE_UNHEALTHY = 0,
	STADION_PROBE_HEALTHY = 1,
	/* No verdict: the answer counts neither way (an HTTP 1xx with
	 * ignoreHttp1xx). */
	STADION_PROBE_IGNORED = 2,
};

/* Completion: the verdict, and for UNHEALTHY a short cause that the task
 * JSON shows as lastFailureCause (borrowed for the duration of the call;
 * NULL otherwise). */
typedef void stadion_probe_done_fn(void *done_arg,
                                   enum stadion_probe_result result,
                                   const char *cause);

struct stadion_probe_ops {
	stadion_create_fn *create;   /* optional, see plugin.h */
	stadion_destroy_fn *destroy; /* optional, see plugin.h */

	/* Required.  NULL-terminated list of the protocols this probe runs
	 * (static storage, owned by the plugin). */
	const char *const *protocols;

	/* check(state, target, done, done_arg, err)             required
	 *   Start one check.  Return 0 and later call done(done_arg, ...)
	 *   exactly once, on the loop thread, never from inside check().
	 *   The probe enforces target->timeout_ms itself and reports a timeout
	 *   as unhealthy with cause "timed out after N ms".  On a negative
	 *   return (fill ERR) done is never called.
	 *   Thread: loop.  Must not block. */
	int (*check)(void *state, const struct stadion_probe_target *target,
	             stadion_probe_done_fn *done, void *done_arg,
	             struct stadion_err *err);

	/* cancel(state, done_arg)                               optional
	 *   Abandon the check started with DONE_ARG (its task is gone).  After
	 *   cancel returns, done is not called for it.  Without cancel,
	 *   stadiond waits for done and ignores the result.
	 *   Thread: loop. */
	void (*cancel)(void *state, void *done_arg);
	/* Later minors append here only. */
};

#define STADION_PROBE_OPS_SIZE_1_0 \
	(offsetof(struct stadion_probe_ops, cancel) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif /* STADION_PROBE_H */
