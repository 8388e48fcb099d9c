/* Fixture: a probe whose create() fails with a message. */
#include "fixture.h"

static int fail_create(const struct stadion_host *host,
                       const struct stadion_conf *conf, void **state_r,
                       struct stadion_err *err)
{
	return stadion_err_set(err, STADION_EIO,
	                       "cannot reach the backend at %s:%d", "10.0.0.1",
	                       9);
}

static const struct stadion_probe_ops fail_ops = {
	.create = fail_create,
	.protocols = fixture_protocols,
	.check = fixture_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "failing", "1",
                      "fixture: create() fails", fail_ops);
