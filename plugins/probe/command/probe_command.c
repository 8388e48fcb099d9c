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

/* One check under way. */
struct command_check {
	struct command_probe *pr;
	struct stadion_proc *proc;       /* the host's, until its done */
	stadion_probe_done_fn *done;
	void *done_arg;                  /* also what cancel() knows it by */
	struct command_check *prev, *next;
};

struct command_probe {
	const struct stadion_host *host; /* borrowed until destroy() */
	struct command_check *checks;
};

static const char *const command_protocols[] = {"COMMAND", NULL};

static void check_unlink(struct command_check *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->pr->checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void command_ended(void *arg, int code, const char *error)
{
	struct command_check *c = arg;
	char cause[160];

	check_unlink(c);
	if (code > 0)
		snprintf(cause, sizeof(cause), "exit status %d", code);
	else
		snprintf(cause, sizeof(cause), "%s",
		         error != NULL ? error : "ended");
	c->done(c->done_arg,
	        code == 0 ? STADION_PROBE_HEALTHY : STADION_PROBE_UNHEALTHY,
	        code == 0 ? NULL : cause);
	free(c);
}

static int command_create(const struct stadion_host *host,
                          const struct stadion_conf *conf, void **state_r,
                          struct stadion_err *err)
{
	struct command_probe *pr;

	(void)conf;
	if (!STADION_HOST_HAS(host, spawn) ||
	    !STADION_HOST_HAS(host, spawn_cancel))
		return stadion_err_set(err, STADION_ENOTSUP,
		                       "this stadiond offers no process spawn "
		                       "to plugins; run the stadiond this "
		                       "plugin came with");
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	pr->host = host;
	*state_r = pr;
	return STADION_OK;
}

static void command_destroy(void *state)
{
	struct command_probe *pr = state;

	/* The host kills and reaps the processes themselves. */
	while (pr->checks != NULL) {
		struct command_check *c = pr->checks;

		check_unlink(c);
		free(c);
	}
	free(pr);
}

static int command_check(void *state,
                         const struct stadion_probe_target *target,
                         stadion_probe_done_fn *done, void *done_arg,
                         struct stadion_err *err)
{
	struct command_probe *pr = state;
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
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	c->pr = pr;
	c->done = done;
	c->done_arg = done_arg;
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
	c->next = pr->checks;
	if (pr->checks != NULL)
		pr->checks->prev = c;
	pr->checks = c;
	return STADION_OK;
}

static void command_cancel(void *state, void *done_arg)
{
	struct command_probe *pr = state;

	for (struct command_check *c = pr->checks; c != NULL; c = c->next) {
		if (c->done_arg != done_arg)
			continue;
		check_unlink(c);
		pr->host->spawn_cancel(pr->host->ctx, c->proc);
		free(c);
		return;
	}
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
