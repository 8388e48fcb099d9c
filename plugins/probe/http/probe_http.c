/*
 * probe "http": Marathon's HTTP and HTTPS health checks (and MESOS_HTTP,
 * MESOS_HTTPS on the local driver): GET the path, 200-399 is healthy.  The
 * exchange is the host's http_get, so the plugin holds no socket of its
 * own; TLS certificates are not verified, as in Marathon.
 */
#include <stdlib.h>
#include <string.h>

#include <stadion/probe.h>

#include "../probe_common.h"

/* One check under way. */
struct http_check {
	struct probe_common_check base;  /* first: see probe_common.h */
	struct stadion_http_call *call;  /* the host's, until its done */
	bool ignore_1xx;
};

static const char *const http_protocols[] = {"HTTP", "HTTPS", "MESOS_HTTP",
                                             "MESOS_HTTPS", NULL};

static void http_answer(void *arg, int status, const char *error)
{
	struct http_check *c = arg;
	enum stadion_probe_result result = STADION_PROBE_UNHEALTHY;
	char cause[160];

	if (status >= 200 && status <= 399)
		result = STADION_PROBE_HEALTHY;
	else if (status >= 100 && status <= 199 && c->ignore_1xx)
		result = STADION_PROBE_IGNORED;
	if (status > 0)
		snprintf(cause, sizeof(cause), "HTTP status %d", status);
	else
		snprintf(cause, sizeof(cause), "%s",
		         error != NULL ? error : "no answer");
	probe_common_check_finish(&c->base, result,
	                          result == STADION_PROBE_UNHEALTHY ? cause
	                                                            : NULL);
}

static int http_create(const struct stadion_host *host,
                       const struct stadion_conf *conf, void **state_r,
                       struct stadion_err *err)
{
	bool has_client = STADION_HOST_HAS(host, http_get) &&
	                  STADION_HOST_HAS(host, http_cancel);

	(void)conf;
	return probe_common_create(host, has_client ? NULL : "HTTP client",
	                           state_r, err);
}

static void http_destroy(void *state)
{
	/* The host sweeps the calls themselves. */
	probe_common_destroy(state, NULL);
}

static int http_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	struct probe_common *pr = state;
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
	struct http_check *c =
		probe_common_check_new(pr, sizeof(*c), done, done_arg);

	if (c == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
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
	probe_common_check_link(&c->base);
	return STADION_OK;
}

static void http_call_cancel(struct probe_common_check *base)
{
	const struct stadion_host *host = base->pr->host;

	host->http_cancel(host->ctx, ((struct http_check *)base)->call);
}

static void http_cancel(void *state, void *done_arg)
{
	probe_common_cancel(state, done_arg, http_call_cancel);
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
