/* Fixture: built for plugin ABI minor + 1 (a newer stadiond). */
#include "fixture.h"

static const struct stadion_plugin_desc desc =
	FIXTURE_DESC("newer", .abi_minor = STADION_PLUGIN_ABI_MINOR + 1);

FIXTURE_ENTRY(&desc)
