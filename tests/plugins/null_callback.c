/* Fixture: a probe without the required check() callback. */
#include <stadion/probe.h>

static const char *const null_protocols[] = {"TCP", NULL};

static const struct stadion_probe_ops null_ops = {
	.protocols = null_protocols,
	.check = NULL,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "null_callback", "1",
                      "fixture: check is NULL", null_ops);
