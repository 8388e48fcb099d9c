/*
 * probe "command": Marathon's COMMAND health check on the local driver:
 * /bin/sh -c the command in the task's sandbox with the task's environment;
 * exit status 0 is healthy; at the timeout its process group is killed.
 * The process is the host's spawn (posix_spawn, reaped through a pidfd).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stadion/probe.h>

#include "../probe_common.h"

/* One check under way. */
struct command_check {
	struct probe_common_check base;  /* first: see probe_common.h */
	struct stadion_proc *proc;       /* the host's, until its done */
};

static const char *const command_protocols[] = {"COMMAND", NULL};

static void command_ended(void *arg, int code, const char *error)
{
	struct command_check *c = arg;
	char cause[160];

	if (code > 0)
		snprintf(cause, sizeof(cause), "exit status %d", code);
	else
		snprintf(cause, sizeof(cause), "%s",
		         error != NULL ? error : "ended");
	probe_common_check_finish(&c->base,
	                          code == 0 ? STADION_PROBE_HEALTHY
	                                    : STADION_PROBE_UNHEALTHY,
	                          code == 0 ? NULL : cause);
}

static int command_create(const struct stadion_host *host,
                          const struct stadion_conf *conf, void **state_r,
                          struct stadion_err *err)
{
	bool has_spawn = STADION_HOST_HAS(host, spawn) &&
	                 STADION_HOST_HAS(host, spawn_cancel);

	(void)conf;
	return probe_common_create(host, has_spawn ? NULL : "process spawn",
	                           state_r, err);
}

static void command_destroy(void *state)
{
	/* The host kills and reaps the processes themselves. */
	probe_common_destroy(state, NULL);
}

static int command_check(void *state,
                         const struct stadion_probe_target *target,
                         stadion_probe_done_fn *done, void *done_arg,
                         struct stadion_err *err)
{
	struct probe_common *pr = state;
	const struct stadion_host *host = pr->host;
	const char *argv[] = {"/bin/sh", "-c", target->command, NULL};
	struct stadion_spawn req = {
		.size = sizeof(req),
		.path = "/bin/sh",
		.argv = argv,
		.env = target->env,
		.cwd = target->sandbox,
		.timeout_ms = target->timeout_ms,
	};
	struct command_check *c;

	if (target->command == NULL)
		return stadion_err_set(err, STADION_EINVAL,
		                       "the COMMAND check of task %s has no "
		                       "command.value",
		                       target->task_id);
	if ((c = probe_common_check_new(pr, sizeof(*c), done, done_arg)) ==
	    NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	if ((c->proc = host->spawn(host->ctx, &req, command_ended, c)) ==
	    NULL) {
		free(c);
		return stadion_err_set(err, STADION_EIO,
		                       "cannot start the COMMAND check of task "
		                       "%s in %s",
		                       target->task_id,
		                       target->sandbox != NULL ? target->sandbox
		                                               : "/");
	}
	probe_common_check_link(&c->base);
	return STADION_OK;
}

static void command_proc_cancel(struct probe_common_check *base)
{
	const struct stadion_host *host = base->pr->host;

	host->spawn_cancel(host->ctx, ((struct command_check *)base)->proc);
}

static void command_cancel(void *state, void *done_arg)
{
	probe_common_cancel(state, done_arg, command_proc_cancel);
}

static const struct stadion_probe_ops command_ops = {
	.create = command_create,
	.destroy = command_destroy,
	.protocols = command_protocols,
	.check = command_check,
	.cancel = command_cancel,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "command", "1.0.0",
                      "COMMAND health checks in the task's sandbox",
                      command_ops);
