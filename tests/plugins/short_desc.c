/* Fixture: a descriptor recording fewer bytes than ABI 1.0 needs (it ends
 * before "flags").  The object really is that short, so a loader that read
 * "flags" anyway trips AddressSanitizer. */
#include <string.h>

#include "fixture.h"

#define SHORT_SIZE (STADION_PLUGIN_DESC_SIZE_1_0 - sizeof(uint32_t))

static _Alignas(struct stadion_plugin_desc) unsigned char desc[SHORT_SIZE];

static const struct stadion_plugin_desc *short_describe(void)
{
	const struct stadion_plugin_desc full =
		FIXTURE_DESC("short_desc", .desc_size = SHORT_SIZE);

	memcpy(desc, &full, sizeof(desc));
	return (const struct stadion_plugin_desc *)(void *)desc;
}

FIXTURE_ENTRY(short_describe())
