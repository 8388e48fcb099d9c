/* Fixture: a second probe called "good" (another version), for the
 * duplicate check. */
#include "fixture.h"

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "good", "2.0.0",
                      "fixture: duplicate of good", fixture_ops);
