/* Fixture: a descriptor setting flag bit 0x8, unknown in ABI 1.0. */
#include "fixture.h"

static const struct stadion_plugin_desc desc =
	FIXTURE_DESC("unknown_flag", .flags = 0x8u);

FIXTURE_ENTRY(&desc)
