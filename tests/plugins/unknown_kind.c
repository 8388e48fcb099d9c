/* Fixture: a descriptor of kind 99, which stadiond does not know. */
#include "fixture.h"

STADION_PLUGIN_DEFINE(99, "unknown_kind", "1", "fixture: unknown kind",
                      fixture_ops);
