/* Fixture: a well-formed probe "good" without create/destroy (both are
 * optional for probes). */
#include <stadion/probe.h>

static const char *const good_protocols[] = {"TCP", NULL};

static int good_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static const struct stadion_probe_ops good_ops = {
	.protocols = good_protocols,
	.check = good_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "good", "1.0.0",
                      "fixture: good probe", good_ops);
