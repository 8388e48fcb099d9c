/* Fixture: a second probe called "good" (another version), for the
 * duplicate check. */
#include <stadion/probe.h>

static const char *const dup_protocols[] = {"TCP", NULL};

static int dup_check(void *state, const struct stadion_probe_target *target,
                     stadion_probe_done_fn *done, void *done_arg,
                     struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static const struct stadion_probe_ops dup_ops = {
	.protocols = dup_protocols,
	.check = dup_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "good", "2.0.0",
                      "fixture: duplicate of good", dup_ops);
