/* Fixture: a probe named "Bad-Name" (upper case and '-' are not allowed). */
#include <stadion/probe.h>

static const char *const bad_protocols[] = {"TCP", NULL};

static int bad_check(void *state, const struct stadion_probe_target *target,
                     stadion_probe_done_fn *done, void *done_arg,
                     struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops bad_ops = {
	.protocols = bad_protocols,
	.check = bad_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "Bad-Name", "1",
                      "fixture: bad name", bad_ops);
