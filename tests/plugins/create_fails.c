/* Fixture: a probe whose create() fails with a message. */
#include <stadion/probe.h>

static const char *const fail_protocols[] = {"TCP", NULL};

static int fail_create(const struct stadion_host *host,
                       const struct stadion_conf *conf, void **state_r,
                       struct stadion_err *err)
{
	return stadion_err_set(err, STADION_EIO,
	                       "cannot reach the backend at %s:%d", "10.0.0.1",
	                       9);
}

static int fail_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops fail_ops = {
	.create = fail_create,
	.protocols = fail_protocols,
	.check = fail_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "failing", "1",
                      "fixture: create() fails", fail_ops);
