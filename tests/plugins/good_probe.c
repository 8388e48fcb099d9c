/* Fixture: a well-formed probe "good" without create/destroy (both are
 * optional for probes). */
#include "fixture.h"

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "good", "1.0.0",
                      "fixture: good probe", fixture_ops);
