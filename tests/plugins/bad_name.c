/* Fixture: a probe named "Bad-Name" (upper case and '-' are not allowed). */
#include "fixture.h"

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "Bad-Name", "1",
                      "fixture: bad name", fixture_ops);
