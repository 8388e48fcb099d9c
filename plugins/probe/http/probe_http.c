/*
 * probe "http": Marathon's HTTP and HTTPS health checks (and MESOS_HTTP,
 * MESOS_HTTPS on the local driver): GET the path, 200-399 is healthy.  The
 * exchange is the host's http_get, so the plugin holds no socket of its
 * own; TLS certificates are not verified, as in Marathon.
 */
#include <stdlib.h>
#include <string.h>

#include <stadion/probe.h>

/* One check under way. */
struct http_check {
	struct http_probe *pr;
	struct stadion_http_call *call;  /* the host's, until its done */
	stadion_probe_done_fn *done;
	void *done_arg;                  /* also what cancel() knows it by */
	bool ignore_1xx;
	struct http_check *prev, *next;
};

struct http_probe {
	const struct stadion_host *host; /* borrowed until destroy() */
	struct http_check *checks;       /* under way */
};

static const char *const http_protocols[] = {"HTTP", "HTTPS", "MESOS_HTTP",
                                             "MESOS_HTTPS", NULL};

static void check_unlink(struct http_check *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->pr->checks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void http_answer(void *arg, int status, const char *error)
{
	struct http_check *c = arg;
	enum stadion_probe_result result = STADION_PROBE_UNHEALTHY;
	char cause[160];

	check_unlink(c);
	if (status >= 200 && status <= 399)
		result = STADION_PROBE_HEALTHY;
	else if (status >= 100 && status <= 199 && c->ignore_1xx)
		result = STADION_PROBE_IGNORED;
	if (status > 0)
		snprintf(cause, sizeof(cause), "HTTP status %d", status);
	else
		snprintf(cause, sizeof(cause), "%s",
		         error != NULL ? error : "no answer");
	c->done(c->done_arg, result,
	        result == STADION_PROBE_UNHEALTHY ? cause : NULL);
	free(c);
}

static int http_create(const struct stadion_host *host,
                       const struct stadion_conf *conf, void **state_r,
                       struct stadion_err *err)
{
	struct http_probe *pr;

	(void)conf;
	if (!STADION_HOST_HAS(host, http_get) ||
	    !STADION_HOST_HAS(host, http_cancel))
		return stadion_err_set(err, STADION_ENOTSUP,
		                       "this stadiond offers no HTTP client to "
		                       "plugins; run the stadiond this plugin "
		                       "came with");
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	pr->host = host;
	*state_r = pr;
	return STADION_OK;
}

static void http_destroy(void *state)
{
	struct http_probe *pr = state;

	/* The host sweeps the calls themselves. */
	while (pr->checks != NULL) {
		struct http_check *c = pr->checks;

		check_unlink(c);
		free(c);
	}
	free(pr);
}

static int http_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	struct http_probe *pr = state;
	const struct stadion_host *host = pr->host;
	bool tls = strcmp(target->protocol, "HTTPS") == 0 ||
	           strcmp(target->protocol, "MESOS_HTTPS") == 0;
	struct stadion_http_get req = {
		.size = sizeof(req),
		.tls = tls,
		.address = target->host,
		.port = target->port,
		.path = target->path,
		.timeout_ms = target->timeout_ms,
	};
	struct http_check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	c->pr = pr;
	c->done = done;
	c->done_arg = done_arg;
	/* Marathon's HTTPS checks ignore the flag. */
	c->ignore_1xx = target->ignore_http1xx && !tls;
	if ((c->call = host->http_get(host->ctx, &req, http_answer, c)) ==
	    NULL) {
		free(c);
		return stadion_err_set(err, STADION_EINVAL,
		                       "cannot check task %s at %s:%u: the "
		                       "address is not numeric, or memory is "
		                       "short",
		                       target->task_id, target->host,
		                       target->port);
	}
	c->next = pr->checks;
	if (pr->checks != NULL)
		pr->checks->prev = c;
	pr->checks = c;
	return STADION_OK;
}

static void http_cancel(void *state, void *done_arg)
{
	struct http_probe *pr = state;

	for (struct http_check *c = pr->checks; c != NULL; c = c->next) {
		if (c->done_arg != done_arg)
			continue;
		check_unlink(c);
		pr->host->http_cancel(pr->host->ctx, c->call);
		free(c);
		return;
	}
}

static const struct stadion_probe_ops http_ops = {
	.create = http_create,
	.destroy = http_destroy,
	.protocols = http_protocols,
	.check = http_check,
	.cancel = http_cancel,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "http", "1.0.0",
                      "HTTP and HTTPS health checks (200-399 is healthy)",
                      http_ops);
