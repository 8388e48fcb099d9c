/* Fixture: a probe without the required check() callback. */
#include "fixture.h"

static const struct stadion_probe_ops null_ops = {
	.protocols = fixture_protocols,
	.check = NULL,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "null_callback", "1",
                      "fixture: check is NULL", null_ops);
