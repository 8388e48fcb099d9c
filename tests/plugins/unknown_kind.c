/* Fixture: a descriptor of kind 99, which stadiond does not know. */
#include <stadion/probe.h>

static const char *const kind_protocols[] = {"TCP", NULL};

static int kind_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops kind_ops = {
	.protocols = kind_protocols,
	.check = kind_check,
};

STADION_PLUGIN_DEFINE(99, "unknown_kind", "1", "fixture: unknown kind",
                      kind_ops);
